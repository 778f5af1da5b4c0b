package analyze

import (
	"context"
	"errors"
	"sync/atomic"

	"github.com/clipmesh/clipmesh/services/audio/internal/decode"
	"github.com/clipmesh/clipmesh/services/audio/internal/loudness"
	"github.com/clipmesh/clipmesh/services/audio/internal/rhythm"
	"github.com/clipmesh/clipmesh/services/audio/internal/spectral"
)

// Rates of the two decoded streams.
const (
	LoudnessRate = 48000
	SpectralRate = 22050
)

// Options configures Run; the zero value is the default analysis.
type Options struct {
	Decode   decode.Options
	Spectral spectral.Config // SampleRate is forced to SpectralRate
	Rhythm   rhythm.Config   // SampleRate is forced to SpectralRate
	// Progress, if set, is called with the seconds decoded so far (of the
	// spectral stream) and the input's duration (0 if unknown), at most
	// once per decoded block. It runs on a decoding goroutine.
	Progress func(done, total float64)
}

// Result is the analysis of one input.
type Result struct {
	// HasAudio is false when the input has no audio stream: the other
	// fields are then zero and Run returns no error.
	HasAudio        bool
	DurationSeconds float64
	Spectral        spectral.Result
	Rhythm          rhythm.Result
	Loudness        loudness.Result
}

// Run analyses path. Errors wrap decode.ErrInvalid for undecodable input;
// cancellation returns ctx.Err() with ffmpeg killed.
func Run(ctx context.Context, path string, opts Options) (*Result, error) {
	opts.Spectral.SampleRate, opts.Rhythm.SampleRate = SpectralRate, SpectralRate
	sp, err := spectral.New(opts.Spectral)
	if err != nil {
		return nil, err
	}
	rh, err := rhythm.New(opts.Rhythm)
	if err != nil {
		return nil, err
	}
	lm, err := loudness.New(LoudnessRate)
	if err != nil {
		return nil, err
	}
	info, err := decode.Probe(ctx, path, opts.Decode)
	if errors.Is(err, decode.ErrNoAudio) {
		return &Result{}, nil
	}
	if err != nil {
		return nil, err
	}
	var done atomic.Int64
	spectralSink := func(b []float32) error {
		sp.Write(b)
		rh.Write(b)
		n := done.Add(int64(len(b)))
		if opts.Progress != nil {
			opts.Progress(float64(n)/SpectralRate, info.DurationSeconds)
		}
		return ctx.Err()
	}
	loudnessSink := func(b []float32) error {
		lm.Write(b)
		return ctx.Err()
	}
	dopts := opts.Decode
	dopts.Probed = &info
	_, err = decode.Stream(ctx, path, dopts,
		decode.Output{SampleRate: SpectralRate, Sink: spectralSink},
		decode.Output{SampleRate: LoudnessRate, Sink: loudnessSink})
	if errors.Is(err, decode.ErrNoAudio) {
		return &Result{}, nil
	}
	if err != nil {
		return nil, err
	}
	r := &Result{
		HasAudio: true,
		Spectral: sp.Close(),
		Rhythm:   rh.Close(),
		Loudness: lm.Close(),
	}
	r.DurationSeconds = r.Loudness.DurationSeconds
	return r, nil
}
