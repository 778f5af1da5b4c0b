package render

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"strconv"
	"strings"

	"github.com/clipmesh/clipmesh/services/clips/internal/inputerr"
)

// Info is what ffprobe says about a media file.
type Info struct {
	// Duration in seconds (the container's).
	Duration float64
	// Width and Height of the first video stream (0 if none).
	Width, Height int
	// FPSNum/FPSDen is the first video stream's frame rate (0/0 if none).
	FPSNum, FPSDen int
	// HasVideo and HasAudio say which streams exist.
	HasVideo, HasAudio bool
}

// FPS returns the frame rate as a float (0 without video).
func (i Info) FPS() float64 {
	if i.FPSDen == 0 {
		return 0
	}
	return float64(i.FPSNum) / float64(i.FPSDen)
}

// Probe runs ffprobe on path. A file ffprobe cannot read yields an
// *inputerr.Error for field "source" carrying ffprobe's own error line.
func Probe(ctx context.Context, path string) (Info, error) {
	cmd := exec.CommandContext(ctx, "ffprobe", "-v", "error", "-show_entries",
		"format=duration:stream=codec_type,width,height,avg_frame_rate,r_frame_rate", "-of", "json", path)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return Info{}, fmt.Errorf("ffprobe: %w", ctx.Err())
		}
		if _, ok := err.(*exec.ExitError); !ok {
			return Info{}, fmt.Errorf("ffprobe: %w", err)
		}
		return Info{}, inputerr.New("source", path, "not readable media: "+lastLine(stderr.String()))
	}
	var out struct {
		Format struct {
			Duration string `json:"duration"`
		} `json:"format"`
		Streams []struct {
			CodecType    string `json:"codec_type"`
			Width        int    `json:"width"`
			Height       int    `json:"height"`
			AvgFrameRate string `json:"avg_frame_rate"`
			RFrameRate   string `json:"r_frame_rate"`
		} `json:"streams"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &out); err != nil {
		return Info{}, fmt.Errorf("ffprobe output: %w", err)
	}
	var info Info
	info.Duration, _ = strconv.ParseFloat(out.Format.Duration, 64)
	for _, s := range out.Streams {
		switch s.CodecType {
		case "video":
			if info.HasVideo {
				continue
			}
			info.HasVideo = true
			info.Width, info.Height = s.Width, s.Height
			info.FPSNum, info.FPSDen = parseRate(s.AvgFrameRate)
			if info.FPSDen == 0 {
				info.FPSNum, info.FPSDen = parseRate(s.RFrameRate)
			}
		case "audio":
			info.HasAudio = true
		}
	}
	return info, nil
}

// parseRate parses "30000/1001"; 0/0 when unknown.
func parseRate(s string) (num, den int) {
	a, b, ok := strings.Cut(s, "/")
	n, err1 := strconv.Atoi(a)
	d, err2 := strconv.Atoi(b)
	if !ok || err1 != nil || err2 != nil || n <= 0 || d <= 0 {
		return 0, 0
	}
	return n, d
}

// lastLine returns the last non-empty line of s.
func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if l := strings.TrimSpace(lines[i]); l != "" {
			return l
		}
	}
	return ""
}

// lastLines returns the last n non-empty lines of s.
func lastLines(s string, n int) []string {
	var out []string
	for l := range strings.SplitSeq(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out[max(len(out)-n, 0):]
}
