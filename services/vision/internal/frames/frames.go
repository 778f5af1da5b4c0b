package frames

import (
	"context"
	"errors"
	"fmt"
	"image"
	"io"
	"math"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/clipmesh/clipmesh/platform/ffmpegx"
)

// ErrNoVideo means the input is readable media without a video stream.
var ErrNoVideo = errors.New("no video stream")

// ErrInvalid is wrapped by every "this is not decodable media" error; the
// message carries ffprobe's or ffmpeg's own reason. It is ffmpegx's, so
// every service of the mesh tells bad media apart the same way.
var ErrInvalid = ffmpegx.ErrInvalid

// Format is the pixel format of decoded frames.
type Format int

const (
	// RGB24 is packed 8-bit R, G, B (3 bytes per pixel).
	RGB24 Format = iota
	// Gray is 8-bit luma (1 byte per pixel).
	Gray
)

// Channels is the number of bytes per pixel.
func (f Format) Channels() int {
	if f == Gray {
		return 1
	}
	return 3
}

func (f Format) pixFmt() string {
	if f == Gray {
		return "gray"
	}
	return "rgb24"
}

// Frame is one decoded frame. Consumers must treat it as read-only and must
// not keep Pix after their call returns (the buffer is reused): copy what
// they need.
type Frame struct {
	// Index is the 0-based frame number at the decode rate.
	Index int64
	// Time is Index/FPS seconds from the start of the stream.
	Time float64
	// Width and Height are the decoded size.
	Width, Height int
	// Format is the pixel format of Pix.
	Format Format
	// Pix holds Height rows of Width*Format.Channels() bytes.
	Pix []byte
}

// Gray returns the frame's luma (Rec. 601 weights) in dst, reallocating it
// when too small; for a Gray frame it copies Pix.
func (f *Frame) Gray(dst []byte) []byte {
	n := f.Width * f.Height
	if cap(dst) < n {
		dst = make([]byte, n)
	}
	dst = dst[:n]
	if f.Format == Gray {
		copy(dst, f.Pix)
		return dst
	}
	for i := range n {
		r, g, b := uint32(f.Pix[3*i]), uint32(f.Pix[3*i+1]), uint32(f.Pix[3*i+2])
		dst[i] = byte((299*r + 587*g + 114*b + 500) / 1000)
	}
	return dst
}

// Info is what ffprobe says about the first video stream.
type Info struct {
	Width, Height int
	// FPS is the average frame rate, 0 when unknown.
	FPS float64
	// DurationSeconds is 0 when unknown; use it for progress only.
	DurationSeconds float64
	// Frames is the container's frame count, 0 when unknown.
	Frames int64
}

// Options configures a decode.
type Options struct {
	// Width and Height are the output size; zero keeps the native size, and
	// one zero keeps the aspect ratio (rounded to even).
	Width, Height int
	// FPS is the output rate; zero is the stream's average rate.
	FPS float64
	// Format is the pixel format (default RGB24).
	Format Format
	// FFmpeg and FFprobe are the binaries, default "ffmpeg" and "ffprobe".
	FFmpeg, FFprobe string
	// Probed, when set, is the caller's own Probe result (no second probe).
	Probed *Info
}

func (o Options) bin(name, def string) string {
	if name == "" {
		return def
	}
	return name
}

// Sink receives each frame in order. An error stops decoding and is returned
// by Decode.
type Sink func(*Frame) error

// Result is what a decode did.
type Result struct {
	Info Info
	// FPS, Width and Height are the output rate and size.
	FPS           float64
	Width, Height int
	// Frames is the number of frames delivered.
	Frames int64
}

// Probe asks ffprobe for the first video stream of path.
func Probe(ctx context.Context, path string, opts Options) (Info, error) {
	var out struct {
		Streams []struct {
			Width        int    `json:"width"`
			Height       int    `json:"height"`
			AvgFrameRate string `json:"avg_frame_rate"`
			RFrameRate   string `json:"r_frame_rate"`
			NbFrames     string `json:"nb_frames"`
			Duration     string `json:"duration"`
		} `json:"streams"`
		Format struct {
			Duration string `json:"duration"`
		} `json:"format"`
	}
	if err := ffmpegx.ProbeJSON(ctx, opts.FFprobe, path, &out, "-select_streams", "v:0",
		"-show_entries", "stream=width,height,avg_frame_rate,r_frame_rate,nb_frames,duration:format=duration"); err != nil {
		if errors.Is(err, ErrInvalid) || ctx.Err() != nil {
			return Info{}, err // the reason is the message: no prefix
		}
		return Info{}, fmt.Errorf("frames: %w", err)
	}
	if len(out.Streams) == 0 {
		return Info{}, ErrNoVideo
	}
	s := out.Streams[0]
	info := Info{Width: s.Width, Height: s.Height}
	info.FPS = ratio(s.AvgFrameRate)
	if info.FPS == 0 {
		info.FPS = ratio(s.RFrameRate)
	}
	info.Frames, _ = strconv.ParseInt(s.NbFrames, 10, 64)
	for _, d := range []string{s.Duration, out.Format.Duration} {
		if v, err := strconv.ParseFloat(d, 64); err == nil && v > 0 && !math.IsInf(v, 0) {
			info.DurationSeconds = v
			break
		}
	}
	return info, nil
}

func ratio(s string) float64 {
	num, den, ok := strings.Cut(s, "/")
	n, err := strconv.ParseFloat(num, 64)
	if err != nil {
		return 0
	}
	if !ok {
		return n
	}
	d, err := strconv.ParseFloat(den, 64)
	if err != nil || d == 0 {
		return 0
	}
	return n / d
}

// Decode probes path, then decodes its first video stream once and gives
// every frame to each sink in turn (same goroutine, in order). Cancelling
// ctx kills ffmpeg at once and Decode returns ctx.Err(). A stream that
// breaks part-way (truncated file) returns the frames that decoded and an
// error wrapping ErrInvalid; Result.Frames says where it stopped.
func Decode(ctx context.Context, path string, opts Options, sinks ...Sink) (Result, error) {
	if len(sinks) == 0 {
		return Result{}, errors.New("frames: no sinks")
	}
	if opts.Width < 0 || opts.Height < 0 || opts.FPS < 0 || math.IsNaN(opts.FPS) {
		return Result{}, fmt.Errorf("frames: negative size or rate in %+v", opts)
	}
	var info Info
	if opts.Probed != nil {
		info = *opts.Probed
	} else {
		var err error
		if info, err = Probe(ctx, path, opts); err != nil {
			return Result{}, err
		}
	}
	if info.Width <= 0 || info.Height <= 0 {
		return Result{}, fmt.Errorf("%w: video stream without a size", ErrInvalid)
	}
	res := Result{Info: info, FPS: opts.FPS}
	if res.FPS == 0 {
		res.FPS = info.FPS
	}
	if res.FPS <= 0 {
		return Result{}, fmt.Errorf("%w: unknown frame rate", ErrInvalid)
	}
	res.Width, res.Height = outSize(info.Width, info.Height, opts.Width, opts.Height)

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	vf := fmt.Sprintf("scale=%d:%d:flags=area,fps=%s", res.Width, res.Height,
		strconv.FormatFloat(res.FPS, 'f', -1, 64))
	cmd := exec.CommandContext(ctx, opts.bin(opts.FFmpeg, "ffmpeg"), "-nostdin", "-v", "error",
		"-i", path, "-map", "0:v:0", "-an", "-sn", "-vf", vf,
		"-f", "rawvideo", "-pix_fmt", opts.Format.pixFmt(), "pipe:1")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return res, fmt.Errorf("frames: %w", err)
	}
	stderr := &ffmpegx.TailBuffer{}
	cmd.Stderr = stderr
	cmd.WaitDelay = 2 * time.Second
	if err := cmd.Start(); err != nil {
		return res, fmt.Errorf("frames: starting ffmpeg: %w", err)
	}

	size := res.Width * res.Height * opts.Format.Channels()
	f := &Frame{Width: res.Width, Height: res.Height, Format: opts.Format, Pix: make([]byte, size)}
	var sinkErr error
	for sinkErr == nil {
		if _, err := io.ReadFull(stdout, f.Pix); err != nil {
			break // EOF or a partial last frame: ffmpeg's status decides.
		}
		f.Index = res.Frames
		f.Time = float64(res.Frames) / res.FPS
		for _, s := range sinks {
			if sinkErr = s(f); sinkErr != nil {
				break
			}
		}
		if sinkErr == nil {
			res.Frames++
		}
	}
	if sinkErr != nil {
		cancel()
		_, _ = io.Copy(io.Discard, stdout)
	}
	waitErr := cmd.Wait()
	parentErr := context.Cause(ctx)
	switch {
	case sinkErr != nil:
		return res, sinkErr
	case parentErr != nil:
		return res, parentErr
	case waitErr != nil:
		var ee *exec.ExitError
		if errors.As(waitErr, &ee) {
			return res, fmt.Errorf("%w: stopped after frame %d (%.2f s): %s", ErrInvalid, res.Frames, float64(res.Frames)/res.FPS, ffmpegx.Reason(stderr.String(), path))
		}
		return res, fmt.Errorf("frames: ffmpeg: %w", waitErr)
	}
	if res.Frames == 0 {
		return res, fmt.Errorf("%w: no frame decoded: %s", ErrInvalid, ffmpegx.Reason(stderr.String(), path))
	}
	// ffmpeg exits 0 on a file that ends early (a truncated MKV or
	// faststart MP4: "File ended prematurely", "partial file"): compare
	// what decoded with what the container declares.
	if want := info.DurationSeconds * res.FPS; want > 0 {
		short := want - float64(res.Frames)
		msg := strings.TrimSpace(stderr.String())
		if (msg != "" && short > max(res.FPS/2, want/50)) || short > max(res.FPS, want/10) {
			reason := "the stream ends early"
			if msg != "" {
				reason = ffmpegx.Reason(msg, path)
			}
			return res, fmt.Errorf("%w: stopped after frame %d (%.2f s of the %.2f s declared): %s",
				ErrInvalid, res.Frames, float64(res.Frames)/res.FPS, info.DurationSeconds, reason)
		}
	}
	return res, nil
}

// outSize resolves the requested size against the native one: zero keeps
// native, one zero keeps the aspect ratio; sizes are rounded to even so
// every pixel format ffmpeg may pass through accepts them.
func outSize(nw, nh, w, h int) (int, int) {
	switch {
	case w == 0 && h == 0:
		return nw, nh
	case w == 0:
		w = int(math.Round(float64(h)*float64(nw)/float64(nh)/2)) * 2
	case h == 0:
		h = int(math.Round(float64(w)*float64(nh)/float64(nw)/2)) * 2
	}
	return max(w, 2), max(h, 2)
}

// Still decodes the single frame at t seconds of path's first video stream
// as RGB24, scaled down (never up) to at most maxWidth pixels wide (0: the
// native width). It seeks instead of decoding from the start, for the few
// frames that need more pixels than the shared low-resolution decode (text
// on keyframes).
func Still(ctx context.Context, path string, t float64, maxWidth int, opts Options) (*Frame, error) {
	info := opts.Probed
	if info == nil {
		i, err := Probe(ctx, path, opts)
		if err != nil {
			return nil, err
		}
		info = &i
	}
	w, h := info.Width, info.Height
	if maxWidth > 0 && w > maxWidth {
		w, h = outSize(info.Width, info.Height, maxWidth, 0)
	}
	if w <= 0 || h <= 0 {
		return nil, fmt.Errorf("%w: video stream without a size", ErrInvalid)
	}
	cmd := exec.CommandContext(ctx, opts.bin(opts.FFmpeg, "ffmpeg"), "-nostdin", "-v", "error",
		"-ss", strconv.FormatFloat(max(0, t), 'f', 3, 64), "-i", path, "-map", "0:v:0", "-an", "-sn",
		"-frames:v", "1", "-vf", fmt.Sprintf("scale=%d:%d:flags=area", w, h),
		"-f", "rawvideo", "-pix_fmt", "rgb24", "pipe:1")
	stderr := &ffmpegx.TailBuffer{}
	cmd.Stderr = stderr
	out, err := cmd.Output()
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("%w: frame at %.3f s: %s", ErrInvalid, t, ffmpegx.Reason(stderr.String(), path))
	}
	if len(out) != w*h*3 {
		return nil, fmt.Errorf("%w: no frame at %.3f s", ErrInvalid, t)
	}
	return &Frame{Time: t, Width: w, Height: h, Format: RGB24, Pix: out}, nil
}

// RGBA returns the frame as an image (RGB24 frames only).
func (f *Frame) RGBA() *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, f.Width, f.Height))
	for i, j := 0, 0; i+2 < len(f.Pix) && j+3 < len(img.Pix); i, j = i+3, j+4 {
		img.Pix[j], img.Pix[j+1], img.Pix[j+2], img.Pix[j+3] = f.Pix[i], f.Pix[i+1], f.Pix[i+2], 255
	}
	return img
}
