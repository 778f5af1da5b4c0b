package analyze

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/clipmesh/clipmesh/services/audio/internal/decode"
	"github.com/clipmesh/clipmesh/services/audio/internal/events"
	"github.com/clipmesh/clipmesh/services/audio/internal/loudness"
	"github.com/clipmesh/clipmesh/services/audio/internal/rhythm"
	"github.com/clipmesh/clipmesh/services/audio/internal/spectral"
	"github.com/clipmesh/clipmesh/services/audio/internal/voice"
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
	// Voice, if set, receives the audio at VoiceRate for voice activity;
	// Run closes it. Without it the result has no voice activity, and
	// speech counts as noise in the events.
	Voice voice.Detector
}

// Result is the analysis of one input.
type Result struct {
	// HasAudio is false when the input has no audio stream: the other
	// fields are then zero and Run returns no error.
	HasAudio        bool
	DurationSeconds float64
	// Channels is the input's channel count and LoudnessChannels the
	// layout loudness was measured in (LoudnessChannels(Channels)).
	Channels, LoudnessChannels int
	Spectral                   spectral.Result
	Rhythm                     rhythm.Result
	Loudness                   loudness.Result
	// Voice is the voice activity (zero without Options.Voice).
	Voice voice.Result
	// Blocks are the RMS levels of 100 ms blocks in dBFS (floored at
	// loudness.SilenceDB).
	Blocks []float64
	// Seconds is one entry per second (per spectral series point).
	Seconds []Second
	// Events are the segmentation and cues (package events).
	Events []events.Event
	// VocalActivityRatio is the speech segments' share of the duration.
	VocalActivityRatio float64
	// DominantMedianHz is the median of the non-silent seconds' dominant
	// frequencies (0 if none).
	DominantMedianHz float64
}

// VoiceRate is the rate of the voice-activity stream.
const VoiceRate = voice.SampleRate

// Second gathers the per-second measurements of every analysis.
type Second struct {
	Time          float64
	RMSDB         float64
	ShortTermLUFS float64
	Centroid      float64
	Flatness      float64
	OnsetStrength float64
	Onsets        int
	SpeechProb    float64
	DominantHz    float64
	F0            float64
}

// LoudnessChannels is the layout loudness is measured in for a stream of
// n channels: mono and stereo as they are, anything wider remixed by
// ffmpeg to 5.1 (the layouts BS.1770 gives weights for).
func LoudnessChannels(n int) int {
	switch {
	case n <= 1:
		return 1
	case n == 2:
		return 2
	}
	return 6
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
	closeVoice := func() {
		if opts.Voice != nil {
			_, _ = opts.Voice.Close()
			opts.Voice = nil
		}
	}
	defer closeVoice()
	info, err := decode.Probe(ctx, path, opts.Decode)
	if errors.Is(err, decode.ErrNoAudio) {
		return &Result{}, nil
	}
	if err != nil {
		return nil, err
	}
	lch := LoudnessChannels(info.Channels)
	lm, err := loudness.NewChannels(LoudnessRate, lch)
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
	lv := &levels{}
	voiceSink := func(b []float32) error {
		lv.write(b)
		if opts.Voice != nil {
			if err := opts.Voice.Write(b); err != nil {
				return fmt.Errorf("voice activity: %w", err)
			}
		}
		return ctx.Err()
	}
	dopts := opts.Decode
	dopts.Probed = &info
	_, err = decode.Stream(ctx, path, dopts,
		decode.Output{SampleRate: SpectralRate, Sink: spectralSink},
		decode.Output{SampleRate: LoudnessRate, Channels: lch, Sink: loudnessSink},
		decode.Output{SampleRate: VoiceRate, Sink: voiceSink})
	if errors.Is(err, decode.ErrNoAudio) {
		return &Result{}, nil
	}
	if err != nil {
		return nil, err
	}
	r := &Result{
		HasAudio: true,
		Channels: info.Channels, LoudnessChannels: lch,
		Spectral: sp.Close(),
		Rhythm:   rh.Close(),
		Loudness: lm.Close(),
		Blocks:   lv.close(),
	}
	r.DurationSeconds = r.Loudness.DurationSeconds
	if opts.Voice != nil {
		v := opts.Voice
		opts.Voice = nil
		if r.Voice, err = v.Close(); err != nil {
			return nil, fmt.Errorf("voice activity: %w", err)
		}
	}
	r.finish(rh.Envelope())
	return r, nil
}
