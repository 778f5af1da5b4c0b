// Package render cuts one clip out of a source video with ffmpeg: reframed
// (moving crop or blurred-background pad), captions burned in from an ASS
// file, encoded H.264/AAC MP4 at a platform preset, plus a JPEG thumbnail;
// and writes edit decision lists (CMX3600 EDL, FCPXML) for the same clip.
package render

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/clipmesh/clipmesh/services/clips/internal/captions"
	"github.com/clipmesh/clipmesh/services/clips/internal/inputerr"
	"github.com/clipmesh/clipmesh/services/clips/internal/presets"
	"github.com/clipmesh/clipmesh/services/clips/internal/reframe"
)

// Job is one clip to render.
type Job struct {
	// Source is the path of the source video.
	Source string
	// Start and End are the clip's range in source seconds.
	Start, End float64
	// Preset names the platform preset (see presets.Names).
	Preset string
	// Aspect is "9:16", "1:1", "4:5" or "16:9"; empty means the preset's.
	Aspect string
	// Layout is the reframing plan, with times relative to Start; nil means
	// a fixed centre crop.
	Layout *reframe.Plan
	// ASSPath is an ASS subtitle file to burn in (sized for the output
	// frame, times relative to Start); empty for none.
	ASSPath string
	// FontsDir holds the fonts the ASS file names (default
	// captions.FontsDir).
	FontsDir string
	// Output is the MP4 path to write.
	Output string
	// Thumbnail is the JPEG path to write; empty for none.
	Thumbnail string
	// ThumbnailAt is the thumbnail's time from the clip start (the clip's
	// best frame); negative or zero means the middle of the clip.
	ThumbnailAt float64
	// Speed is the x264 preset (default "veryfast").
	Speed string
	// Progress, if set, is called with the fraction done (0..1) as ffmpeg
	// reports it, from one goroutine.
	Progress func(fraction float64)
}

// Result describes a rendered clip.
type Result struct {
	Output, Thumbnail string
	// Width and Height are the output frame size.
	Width, Height int
	// Duration is the requested clip length in seconds.
	Duration float64
	// Elapsed is the wall time ffmpeg took.
	Elapsed time.Duration
}

// FFmpegError is a failed ffmpeg run: Line is ffmpeg's own last error line
// and Tail its last few stderr lines (the root cause is often just above).
type FFmpegError struct {
	Line string
	Tail []string
	Err  error
}

// Error implements error.
func (e *FFmpegError) Error() string {
	if e.Line == "" {
		return "ffmpeg: " + e.Err.Error()
	}
	return "ffmpeg: " + e.Line
}

// Unwrap returns the process error.
func (e *FFmpegError) Unwrap() error { return e.Err }

// job is a validated Job.
type job struct {
	Job
	preset presets.Preset
	w, h   int
	src    Info
	length float64
	layout reframe.Plan
}

// validate checks j against the source; bad input is an *inputerr.Error.
func validate(ctx context.Context, j Job) (job, error) {
	v := job{Job: j}
	var err error
	if v.preset, err = presets.Lookup(j.Preset); err != nil {
		return v, err
	}
	aspect := v.preset.Aspect
	if j.Aspect != "" {
		if aspect, err = presets.ParseAspect(j.Aspect); err != nil {
			return v, err
		}
	}
	v.w, v.h = v.preset.Size(aspect)
	if j.Output == "" {
		return v, inputerr.New("output", "", "required")
	}
	if j.Source == "" {
		return v, inputerr.New("source", "", "required")
	}
	if j.Speed == "" {
		v.Speed = "veryfast"
	}
	if j.FontsDir == "" {
		v.FontsDir = captions.FontsDir
	}
	for field, p := range map[string]string{"ass_path": j.ASSPath, "fonts_dir": v.FontsDir, "output": j.Output} {
		if strings.ContainsAny(p, `'\`) {
			return v, inputerr.New(field, p, "path must not contain quotes or backslashes")
		}
	}
	if j.ASSPath != "" {
		if _, err := os.Stat(j.ASSPath); err != nil {
			return v, inputerr.New("ass_path", j.ASSPath, "not readable: "+err.Error())
		}
		if _, err := os.Stat(v.FontsDir); err != nil {
			return v, fmt.Errorf("render: caption fonts missing (install Debian package fonts-dejavu-core): %w", err)
		}
	}
	switch {
	case math.IsNaN(j.Start) || math.IsInf(j.Start, 0) || j.Start < 0:
		return v, inputerr.New("start", fmt.Sprint(j.Start), "must be >= 0")
	case math.IsNaN(j.End) || math.IsInf(j.End, 0) || j.End <= j.Start:
		return v, inputerr.New("end", fmt.Sprint(j.End), "must be after start (zero or negative length)")
	}
	v.length = j.End - j.Start
	if maxLen := v.preset.MaxLength.Seconds(); v.length > maxLen {
		return v, inputerr.New("end", fmt.Sprint(j.End), fmt.Sprintf("clip is %.1f s, longer than %s allows (%.0f s)", v.length, v.preset.Name, maxLen))
	}
	if v.src, err = Probe(ctx, j.Source); err != nil {
		return v, err
	}
	if !v.src.HasVideo {
		return v, inputerr.New("source", j.Source, "has no video stream")
	}
	frame := 1 / math.Max(v.src.FPS(), 1)
	if j.Start >= v.src.Duration {
		return v, inputerr.New("start", fmt.Sprint(j.Start), fmt.Sprintf("outside the video (%.3f s long)", v.src.Duration))
	}
	if j.End > v.src.Duration+frame/2 {
		return v, inputerr.New("end", fmt.Sprint(j.End), fmt.Sprintf("outside the video (%.3f s long)", v.src.Duration))
	}
	if j.Layout == nil {
		v.layout = reframe.Center(v.src.Width, v.src.Height, aspect, v.length)
	} else {
		v.layout = *j.Layout
		if v.layout.Mode == reframe.ModeCrop && (v.layout.W > v.src.Width || v.layout.H > v.src.Height || v.layout.W <= 0 || v.layout.H <= 0) {
			return v, inputerr.New("layout", fmt.Sprintf("%dx%d", v.layout.W, v.layout.H), "crop window larger than the source")
		}
	}
	if j.ThumbnailAt <= 0 || j.ThumbnailAt >= v.length {
		v.ThumbnailAt = v.length / 2
	}
	return v, nil
}

// Args returns the ffmpeg arguments that render j (validated against its
// source), for inspection and benchmarks.
func Args(ctx context.Context, j Job) ([]string, error) {
	v, err := validate(ctx, j)
	if err != nil {
		return nil, err
	}
	return v.args(j.Output), nil
}

func (v job) args(out string) []string {
	ts := func(f float64) string { return strconv.FormatFloat(f, 'f', 6, 64) }
	args := []string{"-nostdin", "-hide_banner", "-loglevel", "error", "-y",
		"-ss", ts(v.Start), "-i", v.Source}
	audio := "0:a:0"
	if !v.src.HasAudio {
		args = append(args, "-f", "lavfi", "-i", "anullsrc=r=48000:cl=stereo")
		audio = "1:a:0"
	}
	var fg strings.Builder
	fg.WriteString("[0:v]" + v.layout.Filter(v.w, v.h))
	if v.src.FPSDen == 0 || v.src.FPSNum != v.preset.FPS*v.src.FPSDen {
		// Only a source at another rate needs converting.
		fmt.Fprintf(&fg, ",fps=%d", v.preset.FPS)
	}
	if v.ASSPath != "" {
		fmt.Fprintf(&fg, ",subtitles=filename='%s':fontsdir='%s'", v.ASSPath, v.FontsDir)
	}
	fg.WriteString(",format=yuv420p[v]")
	vb := v.preset.VideoBitrate
	args = append(args,
		"-filter_complex", fg.String(),
		"-map", "[v]", "-map", audio,
		"-t", ts(v.length),
		"-c:v", "libx264", "-preset", v.Speed, "-profile:v", "high",
		"-b:v", strconv.Itoa(vb), "-maxrate", strconv.Itoa(vb*3/2), "-bufsize", strconv.Itoa(vb*2),
		"-g", strconv.Itoa(2*v.preset.FPS),
		"-c:a", "aac", "-b:a", strconv.Itoa(v.preset.AudioBitrate), "-ar", "48000",
		"-movflags", "+faststart", "-f", "mp4",
		"-progress", "pipe:1", "-nostats",
		out)
	return args
}

// Render validates j, runs ffmpeg and writes j.Output (and j.Thumbnail).
// The output appears only when complete. Cancelling ctx kills ffmpeg and
// returns ctx's error. A failing run returns an *FFmpegError.
func Render(ctx context.Context, j Job) (Result, error) {
	v, err := validate(ctx, j)
	if err != nil {
		return Result{}, err
	}
	part := j.Output + ".part"
	defer os.Remove(part)
	begin := time.Now()
	if err := runFFmpeg(ctx, v.args(part), v.length, j.Progress); err != nil {
		return Result{}, err
	}
	if err := os.Rename(part, j.Output); err != nil {
		return Result{}, err
	}
	res := Result{Output: j.Output, Width: v.w, Height: v.h, Duration: v.length}
	if j.Thumbnail != "" {
		if err := Thumbnail(ctx, j.Output, v.ThumbnailAt, j.Thumbnail); err != nil {
			return Result{}, err
		}
		res.Thumbnail = j.Thumbnail
	}
	res.Elapsed = time.Since(begin)
	return res, nil
}

// Thumbnail writes the frame of video at t seconds as a JPEG to out.
func Thumbnail(ctx context.Context, video string, t float64, out string) error {
	return runFFmpeg(ctx, []string{"-nostdin", "-hide_banner", "-loglevel", "error", "-y",
		"-ss", strconv.FormatFloat(t, 'f', 6, 64), "-i", video,
		"-frames:v", "1", "-q:v", "3", "-f", "image2", "-c:v", "mjpeg", out}, 0, nil)
}

// runFFmpeg runs ffmpeg with args; with a progress callback it parses
// `-progress pipe:1` (out_time_us) against length seconds.
func runFFmpeg(ctx context.Context, args []string, length float64, progress func(float64)) error {
	cmd := exec.CommandContext(ctx, "ffmpeg", args...)
	cmd.WaitDelay = 5 * time.Second
	// A renderer that dies (even by SIGKILL) takes its ffmpeg with it, so
	// a redelivered render never races an orphan for the machine.
	cmd.SysProcAttr = dieWithParent()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("ffmpeg: %w", err)
	}
	var wg sync.WaitGroup
	wg.Go(func() { readProgress(stdout, length, progress) })
	wg.Wait()
	err = cmd.Wait()
	if err == nil {
		return nil
	}
	if ctx.Err() != nil {
		return fmt.Errorf("ffmpeg: %w", ctx.Err())
	}
	return &FFmpegError{Line: lastLine(stderr.String()), Tail: lastLines(stderr.String(), 5), Err: err}
}

// readProgress parses ffmpeg's -progress key=value lines until EOF.
func readProgress(r io.Reader, length float64, progress func(float64)) {
	sc := bufio.NewScanner(r)
	last := -1.0
	for sc.Scan() {
		if progress == nil || length <= 0 {
			continue
		}
		k, val, _ := strings.Cut(sc.Text(), "=")
		var f float64
		switch k {
		case "out_time_us":
			us, err := strconv.ParseInt(val, 10, 64)
			if err != nil {
				continue
			}
			f = min(max(float64(us)/1e6/length, 0), 1)
		case "progress":
			if val != "end" {
				continue
			}
			f = 1
		default:
			continue
		}
		if f > last {
			last = f
			progress(f)
		}
	}
	_, _ = io.Copy(io.Discard, r)
}

// IsInvalid reports whether err is bad input (an *inputerr.Error).
func IsInvalid(err error) bool { return errors.Is(err, inputerr.ErrInvalid) }
