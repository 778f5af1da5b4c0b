package server

import (
	"context"
	"math"

	audiov1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/audio/v1"
	commonv1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/common/v1"
	"github.com/clipmesh/clipmesh/platform/ffmpegx"
	"github.com/clipmesh/clipmesh/services/audio/internal/analyze"
	"github.com/clipmesh/clipmesh/services/audio/internal/events"
	"github.com/clipmesh/clipmesh/services/audio/internal/voice"
)

// MaxMelRows bounds the mel spectrogram sent in a result: longer inputs are
// averaged down to this many rows (~300 kB with 64 bands).
const MaxMelRows = 1200

// Engine is the overall producer's engine name.
const Engine = "clipmesh-audio"

var kinds = map[events.Kind]audiov1.AudioEventKind{
	events.Speech:           audiov1.AudioEventKind_AUDIO_EVENT_KIND_SPEECH,
	events.Music:            audiov1.AudioEventKind_AUDIO_EVENT_KIND_MUSIC,
	events.Silence:          audiov1.AudioEventKind_AUDIO_EVENT_KIND_SILENCE,
	events.Noise:            audiov1.AudioEventKind_AUDIO_EVENT_KIND_NOISE,
	events.LoudBurst:        audiov1.AudioEventKind_AUDIO_EVENT_KIND_LOUD_BURST,
	events.LoudnessJump:     audiov1.AudioEventKind_AUDIO_EVENT_KIND_LOUDNESS_JUMP,
	events.ApplauseLaughter: audiov1.AudioEventKind_AUDIO_EVENT_KIND_APPLAUSE_LAUGHTER,
}

func producer(p voice.Producer) *commonv1.Producer {
	return &commonv1.Producer{Engine: p.Engine, Model: p.Model, Version: p.Version, Fallback: p.Fallback, Note: p.Note}
}

// ffmpeg returns the version of the ffmpeg this server runs.
func (s *Server) ffmpeg(ctx context.Context) string {
	return ffmpegx.Version(ctx, s.Decode.FFmpeg)
}

// result converts a domain result.
func (s *Server) result(ctx context.Context, r *analyze.Result) *audiov1.AudioResult {
	vp := r.Voice.Producer
	overall := &commonv1.Producer{Engine: Engine, Model: vp.Model, Version: s.Version, Fallback: vp.Fallback, Note: vp.Note}
	res := &audiov1.AudioResult{
		Producer:        overall,
		HasAudio:        r.HasAudio,
		DurationSeconds: r.DurationSeconds,
		Producers: []*commonv1.Producer{
			{Engine: "ffmpeg", Version: s.ffmpeg(ctx), Note: "decode to 48 kHz (loudness), 22.05 kHz (spectral, rhythm) and 16 kHz (voice) mono"},
			{Engine: "clipmesh-dsp", Model: "stft-2048/512 (gonum fourier), yin pitch, spectral-flux onsets, autocorrelation tempo, dynamic-programming beats", Version: s.Version},
			{Engine: "clipmesh-ebur128", Model: "ITU-R BS.1770-4 / EBU R128 (4x true peak)", Version: s.Version},
			producer(vp),
		},
		VoiceProducer: producer(vp),
	}
	if !r.HasAudio {
		return res
	}
	for _, g := range r.Voice.Segments {
		res.SpeechSegments = append(res.SpeechSegments, &commonv1.TimeRange{StartSeconds: g[0], EndSeconds: g[1]})
	}
	for _, sec := range r.Seconds {
		res.Series = append(res.Series, &audiov1.AudioSecond{
			TimeSeconds: sec.Time, RmsDbfs: sec.RMSDB, ShortTermLufs: sec.ShortTermLUFS,
			SpectralCentroidHz: sec.Centroid, OnsetStrength: sec.OnsetStrength, SpeechProbability: sec.SpeechProb,
			SpectralFlatness: sec.Flatness, DominantFrequencyHz: sec.DominantHz, PitchHz: sec.F0,
		})
	}
	l, rh := r.Loudness, r.Rhythm
	res.Summary = &audiov1.AudioSummary{
		IntegratedLufs: l.IntegratedLUFS, LoudnessRangeLu: l.RangeLU, TruePeakDbtp: l.TruePeakDBTP,
		DynamicRangeLu: l.DynamicRangeLU, SnrDb: l.SNRDB, NoiseFloorDbfs: l.NoiseFloorDBFS, SamplePeakDbfs: l.SamplePeakDBFS,
		TempoBpm: rh.TempoBPM, TempoConfidence: rh.TempoConfidence, BeatTimesSeconds: rh.Beats,
		OnsetCount: int32(len(rh.Onsets)), OnsetTimesSeconds: rh.Onsets, RhythmRegularity: rh.Regularity,
		VocalActivityRatio: r.VocalActivityRatio, DominantFrequencyMedianHz: r.DominantMedianHz,
		PitchMedianHz: r.Spectral.Summary.F0Median,
	}
	res.Mel = mel(r)
	for _, e := range r.Events {
		res.Events = append(res.Events, &audiov1.AudioEvent{Kind: kinds[e.Kind], StartSeconds: e.Start,
			DurationSeconds: e.Duration, Strength: e.Strength, Value: e.Value})
	}
	return res
}

// mel averages the mel rows (in power) down to at most MaxMelRows.
func mel(r *analyze.Result) *audiov1.MelSpectrogram {
	m := r.Spectral.Mel
	step := max(1, (len(m.Rows)+MaxMelRows-1)/MaxMelRows)
	out := &audiov1.MelSpectrogram{RowSeconds: m.RowSeconds * float64(step), BandHz: m.BandHz}
	for i := 0; i < len(m.Rows); i += step {
		end := min(len(m.Rows), i+step)
		bands := len(m.Rows[i])
		row := make([]float32, bands)
		for b := range bands {
			var p float64
			for _, src := range m.Rows[i:end] {
				p += math.Pow(10, float64(src[b])/10)
			}
			row[b] = float32(math.Max(-100, 10*math.Log10(p/float64(end-i))))
		}
		out.Rows = append(out.Rows, &audiov1.MelRow{Db: row})
	}
	return out
}
