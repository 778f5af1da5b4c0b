// Package media decodes the audio of any media file ffmpeg can read into
// the 16 kHz mono PCM the recognizers take, with progress, a length limit
// and cancellation.
package media

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os/exec"
	"strconv"
	"time"

	"github.com/clipmesh/clipmesh/platform/ffmpegx"
)

// SampleRate is the output rate: 16 kHz mono.
const SampleRate = 16000

// Errors wrapped by Decode.
var (
	// ErrNoAudio means readable media without an audio stream.
	ErrNoAudio = errors.New("no audio stream")
	// ErrInvalid means not decodable media; the message carries ffprobe's
	// or ffmpeg's reason.
	ErrInvalid = ffmpegx.ErrInvalid
	// ErrTooLong means the audio is longer than Options.MaxSeconds.
	ErrTooLong = errors.New("audio too long")
)

// Options configure Decode.
type Options struct {
	// FFmpeg and FFprobe are the binaries (default from PATH).
	FFmpeg, FFprobe string
	// MaxSeconds refuses longer audio (0: no limit).
	MaxSeconds float64
	// Progress, if set, gets seconds decoded and the duration (0 when
	// unknown), at most every 250 ms and once at the end.
	Progress func(done, total float64)
}

// Audio is decoded 16 kHz mono signed 16-bit PCM.
type Audio struct {
	Samples []int16
	// Duration is the stream's probed duration in seconds (0 if unknown).
	Duration float64
}

// Decode probes path for an audio stream, then decodes its first one to 16
// kHz mono s16. Media without audio gives ErrNoAudio; unreadable media
// ErrInvalid. Cancelling ctx kills ffmpeg.
func Decode(ctx context.Context, path string, o Options) (Audio, error) {
	var probe struct {
		Streams []struct {
			Duration string `json:"duration"`
		} `json:"streams"`
		Format struct {
			Duration string `json:"duration"`
		} `json:"format"`
	}
	if err := ffmpegx.ProbeJSON(ctx, o.FFprobe, path, &probe,
		"-select_streams", "a:0", "-show_entries", "stream=duration:format=duration"); err != nil {
		return Audio{}, err
	}
	if len(probe.Streams) == 0 {
		return Audio{}, ErrNoAudio
	}
	var a Audio
	for _, d := range []string{probe.Streams[0].Duration, probe.Format.Duration} {
		if v, err := strconv.ParseFloat(d, 64); err == nil && v > 0 && !math.IsInf(v, 0) {
			a.Duration = v
			break
		}
	}
	if o.MaxSeconds > 0 && a.Duration > o.MaxSeconds {
		return Audio{}, fmt.Errorf("%w: %.0f s, the limit is %.0f s", ErrTooLong, a.Duration, o.MaxSeconds)
	}
	bin := o.FFmpeg
	if bin == "" {
		bin = "ffmpeg"
	}
	args := []string{"-nostdin", "-v", "error", "-i", path, "-map", "0:a:0", "-vn", "-ac", "1", "-ar", strconv.Itoa(SampleRate)}
	if o.MaxSeconds > 0 {
		// A container that lies about its duration still stops here;
		// one sample more than the limit tells Decode it was cut.
		args = append(args, "-t", strconv.FormatFloat(o.MaxSeconds+1.0/SampleRate, 'f', -1, 64))
	}
	args = append(args, "-f", "s16le", "pipe:1")
	cmd := exec.CommandContext(ctx, bin, args...)
	stderr := &ffmpegx.TailBuffer{}
	cmd.Stderr = stderr
	cmd.WaitDelay = 2 * time.Second
	out, err := cmd.StdoutPipe()
	if err != nil {
		return Audio{}, fmt.Errorf("media: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return Audio{}, fmt.Errorf("media: starting ffmpeg: %w", err)
	}
	if a.Duration > 0 {
		a.Samples = make([]int16, 0, int(a.Duration*SampleRate)+SampleRate)
	}
	r := bufio.NewReaderSize(out, 1<<16)
	buf := make([]byte, 1<<16)
	var last time.Time
	var odd []byte
	for {
		n, rerr := r.Read(buf)
		b := append(odd, buf[:n]...)
		m := len(b) / 2 * 2
		for i := 0; i < m; i += 2 {
			a.Samples = append(a.Samples, int16(binary.LittleEndian.Uint16(b[i:])))
		}
		odd = append(odd[:0], b[m:]...)
		if o.Progress != nil && time.Since(last) >= 250*time.Millisecond {
			last = time.Now()
			o.Progress(float64(len(a.Samples))/SampleRate, a.Duration)
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
			return Audio{}, fmt.Errorf("media: reading ffmpeg output: %w", rerr)
		}
	}
	if err := cmd.Wait(); err != nil {
		if ctx.Err() != nil {
			return Audio{}, ctx.Err()
		}
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return Audio{}, fmt.Errorf("%w: %s", ErrInvalid, ffmpegx.Reason(stderr.String(), path))
		}
		return Audio{}, fmt.Errorf("media: ffmpeg: %w", err)
	}
	if o.MaxSeconds > 0 && float64(len(a.Samples)) > o.MaxSeconds*SampleRate {
		return Audio{}, fmt.Errorf("%w: more than the limit of %.0f s", ErrTooLong, o.MaxSeconds)
	}
	if o.Progress != nil {
		o.Progress(float64(len(a.Samples))/SampleRate, a.Duration)
	}
	return a, nil
}

// Floats converts s16 samples to float32 in [-1, 1].
func Floats(s []int16) []float32 {
	out := make([]float32, len(s))
	for i, v := range s {
		out[i] = float32(v) / 32768
	}
	return out
}
