package decode

import (
	"context"
	"encoding/binary"
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

	"github.com/clipmesh/clipmesh/platform/ffmpegx"
)

// ErrNoAudio means the input is readable media without an audio stream.
var ErrNoAudio = errors.New("no audio stream")

// ErrInvalid is wrapped by every "this is not decodable media" error; the
// message carries ffprobe's or ffmpeg's own reason. It is ffmpegx's, so
// every service of the mesh tells bad media apart the same way.
var ErrInvalid = ffmpegx.ErrInvalid

// DefaultBlockSize is the number of samples per block when Output.BlockSize
// is zero: 4096 samples is ~85 ms at 48 kHz, small enough for prompt
// cancellation and progress, large enough that per-call overhead vanishes.
const DefaultBlockSize = 4096

// Options configures the tools.
type Options struct {
	// FFmpeg and FFprobe are the binaries, default "ffmpeg" and "ffprobe".
	FFmpeg, FFprobe string
	// Probed, when set, is the caller's own Probe result for this input:
	// Stream skips its probe (one process less per analysis).
	Probed *Info
}

func (o Options) ffmpeg() string {
	if o.FFmpeg == "" {
		return "ffmpeg"
	}
	return o.FFmpeg
}

func (o Options) ffprobe() string {
	if o.FFprobe == "" {
		return "ffprobe"
	}
	return o.FFprobe
}

// Info is what the probe found about the first audio stream.
type Info struct {
	// SampleRate and Channels are the stream's native format.
	SampleRate int
	Channels   int
	// DurationSeconds is the container's (or stream's) duration, 0 when
	// unknown; use it for progress only, never to size buffers.
	DurationSeconds float64
}

// Output is one decoded stream: float32 at SampleRate, mono unless
// Channels says otherwise.
type Output struct {
	// SampleRate is the rate ffmpeg resamples to (required, > 0).
	SampleRate int
	// Channels is the number of interleaved channels ffmpeg remixes to;
	// 0 and 1 are a mono downmix. A block always holds whole frames.
	Channels int
	// BlockSize is the number of sample frames per Sink call (the last
	// call may carry fewer); default DefaultBlockSize.
	BlockSize int
	// Sink receives each block in order from a goroutine of its own. The
	// slice is reused after Sink returns. An error from Sink stops decoding
	// and is returned by Stream.
	Sink func(block []float32) error
}

// Probe asks ffprobe for the first audio stream of path. It returns
// ErrNoAudio for media without audio and ErrInvalid for anything ffprobe
// cannot read.
func Probe(ctx context.Context, path string, opts Options) (Info, error) {
	var out struct {
		Streams []struct {
			SampleRate string `json:"sample_rate"`
			Channels   int    `json:"channels"`
			Duration   string `json:"duration"`
		} `json:"streams"`
		Format struct {
			Duration string `json:"duration"`
		} `json:"format"`
	}
	if err := ffmpegx.ProbeJSON(ctx, opts.ffprobe(), path, &out, "-select_streams", "a:0",
		"-show_entries", "stream=sample_rate,channels,duration:format=duration"); err != nil {
		if errors.Is(err, ErrInvalid) || ctx.Err() != nil {
			return Info{}, err // the reason is the message: no prefix
		}
		return Info{}, fmt.Errorf("decode: %w", err)
	}
	if len(out.Streams) == 0 {
		return Info{}, ErrNoAudio
	}
	s := out.Streams[0]
	info := Info{Channels: s.Channels}
	info.SampleRate, _ = strconv.Atoi(s.SampleRate)
	for _, d := range []string{s.Duration, out.Format.Duration} {
		if v, err := strconv.ParseFloat(d, 64); err == nil && v > 0 && !math.IsInf(v, 0) {
			info.DurationSeconds = v
			break
		}
	}
	return info, nil
}

// Stream decodes the first audio stream of path once and delivers it to
// every output concurrently. It probes first, so "no audio" and "not media"
// are told apart before any decoding starts. Cancelling ctx kills ffmpeg and
// Stream returns ctx.Err().
func Stream(ctx context.Context, path string, opts Options, outs ...Output) (Info, error) {
	if len(outs) == 0 {
		return Info{}, errors.New("decode: no outputs")
	}
	for i, o := range outs {
		if o.SampleRate <= 0 || o.Sink == nil {
			return Info{}, fmt.Errorf("decode: output %d needs a positive SampleRate and a Sink", i)
		}
	}
	var info Info
	if opts.Probed != nil {
		info = *opts.Probed
	} else {
		var err error
		if info, err = Probe(ctx, path, opts); err != nil {
			return Info{}, err
		}
	}
	return info, run(ctx, path, opts, outs)
}

func run(parent context.Context, path string, opts Options, outs []Output) error {
	// A sink error cancels ctx so ffmpeg dies instead of blocking on a pipe
	// nobody reads any more.
	ctx, cancel := context.WithCancel(parent)
	defer cancel()

	args := []string{"-nostdin", "-v", "error", "-i", path}
	readers := make([]*os.File, len(outs))
	writers := make([]*os.File, len(outs))
	closeAll := func(fs []*os.File) {
		for _, f := range fs {
			if f != nil {
				f.Close()
			}
		}
	}
	for i, o := range outs {
		r, w, err := os.Pipe()
		if err != nil {
			closeAll(readers)
			closeAll(writers)
			return fmt.Errorf("decode: %w", err)
		}
		readers[i], writers[i] = r, w
		// ExtraFiles[i] is fd 3+i in the child.
		args = append(args, "-map", "0:a:0", "-vn", "-ac", strconv.Itoa(max(1, o.Channels)), "-ar", strconv.Itoa(o.SampleRate),
			"-f", "f32le", "pipe:"+strconv.Itoa(3+i))
	}
	cmd := exec.CommandContext(ctx, opts.ffmpeg(), args...)
	cmd.ExtraFiles = writers
	stderr := &ffmpegx.TailBuffer{}
	cmd.Stderr = stderr
	// Bound the wait for ffmpeg's stderr after a kill.
	cmd.WaitDelay = 2 * time.Second
	if err := cmd.Start(); err != nil {
		closeAll(readers)
		closeAll(writers)
		return fmt.Errorf("decode: starting ffmpeg: %w", err)
	}
	// The child holds its own copies; ours must go so readers see EOF when
	// ffmpeg exits.
	closeAll(writers)

	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		sinkErr error
	)
	for i, o := range outs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer readers[i].Close()
			if err := pump(readers[i], o); err != nil {
				mu.Lock()
				if sinkErr == nil {
					sinkErr = err
				}
				mu.Unlock()
				cancel()
				// Drain so a still-running ffmpeg never blocks on this pipe
				// before the kill lands.
				_, _ = io.Copy(io.Discard, readers[i])
			}
		}()
	}
	wg.Wait()
	waitErr := cmd.Wait()

	switch {
	case parent.Err() != nil:
		return parent.Err()
	case sinkErr != nil:
		return sinkErr
	case waitErr != nil:
		msg := ffmpegx.Reason(stderr.String(), path)
		if strings.Contains(msg, "matches no streams") || strings.Contains(msg, "does not contain any stream") {
			return ErrNoAudio
		}
		var ee *exec.ExitError
		if errors.As(waitErr, &ee) {
			return fmt.Errorf("%w: %s", ErrInvalid, msg)
		}
		return fmt.Errorf("decode: ffmpeg: %w", waitErr)
	}
	return nil
}

// pump reads little-endian float32 samples from r and hands them to o.Sink
// in blocks. A read error is the pipe closing (ffmpeg exited); run reports
// ffmpeg's own status, so pump only returns the sink's errors.
func pump(r io.Reader, o Output) error {
	n := o.BlockSize
	if n <= 0 {
		n = DefaultBlockSize
	}
	ch := max(1, o.Channels)
	n *= ch
	raw := make([]byte, 4*n)
	block := make([]float32, n)
	for {
		got, err := io.ReadFull(r, raw)
		m := got / (4 * ch) * ch // a torn trailing frame is dropped
		if m > 0 {
			for i := range m {
				v := math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
				if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) { // keep NaN/Inf out of every analysis
					v = 0
				}
				block[i] = v
			}
			if serr := o.Sink(block[:m]); serr != nil {
				return serr
			}
		}
		if err != nil {
			return nil
		}
	}
}
