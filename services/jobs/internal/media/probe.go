// Package media inspects media files with ffprobe: what streams a file has,
// and whether it is media at all.
package media

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"strconv"
	"strings"

	"github.com/clipmesh/clipmesh/platform/ffmpegx"
)

// ErrInvalid is wrapped by every "this is not usable media" error, so the
// caller maps it to InvalidArgument; the message says what is wrong.
var ErrInvalid = errors.New("invalid media")

// Info is what ffprobe found in a file.
type Info struct {
	DurationSeconds float64
	FormatName      string
	BitRate         int64
	Video           *VideoStream
	Audio           *AudioStream
	Engine          string
}

// VideoStream is the first video stream.
type VideoStream struct {
	Codec           string
	Width, Height   int
	FPS             float64
	FrameCount      int64
	BitRate         int64
	PixelFormat     string
	RotationDegrees int
}

// AudioStream is the first audio stream.
type AudioStream struct {
	Codec         string
	Channels      int
	SampleRate    int
	BitRate       int64
	ChannelLayout string
}

// Limits bound what Probe accepts.
type Limits struct {
	// MaxDurationSeconds refuses longer media (0 = no limit).
	MaxDurationSeconds float64
	// MaxPixels refuses larger frames (0 = no limit).
	MaxPixels int
}

// Prober runs ffprobe.
type Prober struct {
	Bin    string // ffprobe binary, default "ffprobe"
	Limits Limits
}

type ffStream struct {
	CodecType     string            `json:"codec_type"`
	CodecName     string            `json:"codec_name"`
	Width         int               `json:"width"`
	Height        int               `json:"height"`
	AvgFrameRate  string            `json:"avg_frame_rate"`
	RFrameRate    string            `json:"r_frame_rate"`
	NbFrames      string            `json:"nb_frames"`
	BitRate       string            `json:"bit_rate"`
	PixFmt        string            `json:"pix_fmt"`
	SampleRate    string            `json:"sample_rate"`
	Channels      int               `json:"channels"`
	ChannelLayout string            `json:"channel_layout"`
	Duration      string            `json:"duration"`
	Disposition   map[string]int    `json:"disposition"`
	Tags          map[string]string `json:"tags"`
	SideData      []struct {
		Rotation float64 `json:"rotation"`
	} `json:"side_data_list"`
}

type ffOutput struct {
	Streams []ffStream `json:"streams"`
	Format  struct {
		FormatName string `json:"format_name"`
		Duration   string `json:"duration"`
		BitRate    string `json:"bit_rate"`
	} `json:"format"`
}

// Probe inspects path. Files that are empty, not media, corrupt or
// truncated return an error wrapping ErrInvalid that says why.
func (p Prober) Probe(ctx context.Context, path string) (Info, error) {
	st, err := os.Stat(path)
	if err != nil {
		return Info{}, fmt.Errorf("media: stat: %w", err)
	}
	if st.Size() == 0 {
		return Info{}, fmt.Errorf("%w: the file is empty", ErrInvalid)
	}
	bin := p.Bin
	if bin == "" {
		bin = "ffprobe"
	}
	// -v error makes ffprobe print decoder and demuxer complaints, which
	// become the reason a corrupt file is refused.
	cmd := exec.CommandContext(ctx, bin, "-v", "error", "-print_format", "json",
		"-show_format", "-show_streams", "-i", path)
	var stdout bytes.Buffer
	stderr := &ffmpegx.TailBuffer{}
	cmd.Stdout, cmd.Stderr = &stdout, stderr
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return Info{}, ctx.Err()
		}
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return Info{}, fmt.Errorf("%w: not a readable media file: %s", ErrInvalid, ffmpegx.Reason(stderr.String(), path))
		}
		return Info{}, fmt.Errorf("media: run %s: %w", bin, err)
	}
	var out ffOutput
	if err := json.Unmarshal(stdout.Bytes(), &out); err != nil {
		return Info{}, fmt.Errorf("media: parse ffprobe output: %w", err)
	}
	info := Info{FormatName: out.Format.FormatName, Engine: "ffprobe"}
	info.DurationSeconds = parseFloat(out.Format.Duration)
	info.BitRate = parseInt(out.Format.BitRate)
	for _, s := range out.Streams {
		switch s.CodecType {
		case "video":
			// Cover art in audio files is a one-frame "video": not a video.
			if info.Video != nil || s.Disposition["attached_pic"] == 1 {
				continue
			}
			v := &VideoStream{Codec: s.CodecName, Width: s.Width, Height: s.Height,
				FPS: parseRate(s.AvgFrameRate), FrameCount: parseInt(s.NbFrames), BitRate: parseInt(s.BitRate), PixelFormat: s.PixFmt}
			if v.FPS == 0 {
				v.FPS = parseRate(s.RFrameRate)
			}
			for _, sd := range s.SideData {
				if sd.Rotation != 0 {
					v.RotationDegrees = int(sd.Rotation)
				}
			}
			if r, ok := s.Tags["rotate"]; ok && v.RotationDegrees == 0 {
				v.RotationDegrees, _ = strconv.Atoi(r)
			}
			info.Video = v
			if info.DurationSeconds == 0 {
				info.DurationSeconds = parseFloat(s.Duration)
			}
		case "audio":
			if info.Audio != nil {
				continue
			}
			info.Audio = &AudioStream{Codec: s.CodecName, Channels: s.Channels, SampleRate: int(parseInt(s.SampleRate)),
				BitRate: parseInt(s.BitRate), ChannelLayout: s.ChannelLayout}
			if info.DurationSeconds == 0 {
				info.DurationSeconds = parseFloat(s.Duration)
			}
		}
	}
	reason := ""
	if strings.TrimSpace(stderr.String()) != "" {
		reason = ffmpegx.Reason(stderr.String(), path)
	}
	if err := p.validate(info, reason); err != nil {
		return Info{}, err
	}
	if err := p.decodes(ctx, path, info); err != nil {
		return Info{}, err
	}
	if err := p.complete(ctx, bin, path, info); err != nil {
		return Info{}, err
	}
	return info, nil
}

// validate refuses what probed but cannot be analysed; reason is ffprobe's
// complaint, if it made one.
func (p Prober) validate(info Info, reason string) error {
	if info.Video == nil && info.Audio == nil {
		if reason != "" {
			return fmt.Errorf("%w: no audio or video stream (%s)", ErrInvalid, reason)
		}
		return fmt.Errorf("%w: no audio or video stream found (format %q)", ErrInvalid, info.FormatName)
	}
	if info.Video != nil && (info.Video.Width <= 0 || info.Video.Height <= 0) {
		return fmt.Errorf("%w: video stream has no frame size (corrupt or truncated?)", ErrInvalid)
	}
	if info.DurationSeconds <= 0 {
		return fmt.Errorf("%w: duration is zero or unknown (corrupt or truncated?)", ErrInvalid)
	}
	if l := p.Limits.MaxDurationSeconds; l > 0 && info.DurationSeconds > l {
		return fmt.Errorf("%w: duration %s s is over the limit of %s s", ErrInvalid, seconds(info.DurationSeconds), seconds(l))
	}
	if l := p.Limits.MaxPixels; l > 0 && info.Video != nil && info.Video.Width*info.Video.Height > l {
		return fmt.Errorf("%w: frame %dx%d is over the limit of %d pixels", ErrInvalid, info.Video.Width, info.Video.Height, l)
	}
	return nil
}

// decodes checks that the first second of each stream really decodes: a
// header can parse while the data behind it is garbage or missing.
func (p Prober) decodes(ctx context.Context, path string, info Info) error {
	args := []string{"-nostdin", "-hide_banner", "-v", "error", "-xerror", "-t", "1", "-i", path}
	if info.Video != nil {
		args = append(args, "-map", "0:v:0")
	}
	if info.Audio != nil {
		args = append(args, "-map", "0:a:0")
	}
	args = append(args, "-f", "null", "-")
	cmd := exec.CommandContext(ctx, "ffmpeg", args...)
	stderr := &ffmpegx.TailBuffer{}
	cmd.Stderr = stderr
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return fmt.Errorf("%w: the streams do not decode: %s", ErrInvalid, ffmpegx.Reason(stderr.String(), path))
		}
		return fmt.Errorf("media: run ffmpeg: %w", err)
	}
	return nil
}

// complete checks that packets exist near the end the container claims: a
// truncated file whose index sits at its start still probes and decodes
// at the head, but has nothing to read at the tail.
func (p Prober) complete(ctx context.Context, bin, path string, info Info) error {
	start := info.DurationSeconds - 2
	if start < 0 {
		start = 0
	}
	for _, sel := range []struct {
		want bool
		spec string
	}{{info.Video != nil, "v:0"}, {info.Audio != nil, "a:0"}} {
		if !sel.want {
			continue
		}
		cmd := exec.CommandContext(ctx, bin, "-v", "error", "-read_intervals", fmt.Sprintf("%.3f%%+3", start),
			"-select_streams", sel.spec, "-count_packets", "-show_entries", "stream=nb_read_packets", "-of", "csv=p=0", path)
		out, err := cmd.Output()
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("%w: cannot read the end of the file (truncated?)", ErrInvalid)
		}
		if n := parseInt(strings.TrimSpace(string(out))); n == 0 {
			return fmt.Errorf("%w: the file ends early: no %s data in its last seconds (truncated?)", ErrInvalid, map[string]string{"v:0": "video", "a:0": "audio"}[sel.spec])
		}
	}
	return nil
}

// seconds formats a time to the millisecond without trailing zeros, so a
// refusal never reads "12 s is over the limit of 12 s".
func seconds(s float64) string {
	return strconv.FormatFloat(math.Round(s*1000)/1000, 'f', -1, 64)
}

func parseFloat(s string) float64 {
	f, _ := strconv.ParseFloat(s, 64)
	return f
}

func parseInt(s string) int64 {
	n, _ := strconv.ParseInt(s, 10, 64)
	return n
}

func parseRate(s string) float64 {
	num, den, ok := strings.Cut(s, "/")
	if !ok {
		return parseFloat(s)
	}
	n, d := parseFloat(num), parseFloat(den)
	if d == 0 {
		return 0
	}
	return n / d
}
