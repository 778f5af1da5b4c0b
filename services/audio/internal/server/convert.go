package server

import (
	"context"
	"fmt"
	"math"

	audiov1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/audio/v1"
	commonv1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/common/v1"
	"github.com/clipmesh/clipmesh/platform/ffmpegx"
	"github.com/clipmesh/clipmesh/platform/mediasrc"
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

// decodeNote says what was decoded, and from which file.
func decodeNote(r *analyze.Result, media *mediasrc.Media) string {
	src := "the video's audio"
	if media.Artifact {
		src = "the extracted audio track " + media.Key
	}
	return fmt.Sprintf("decode of %s to 48 kHz %s (loudness), 22.05 kHz mono (spectral, rhythm) and 16 kHz mono (voice)",
		src, layoutName(r.LoudnessChannels))
}

func layoutName(ch int) string {
	switch ch {
	case 0, 1:
		return "mono"
	case 2:
		return "stereo"
	}
	return "5.1"
}

// loudnessNote flags loudness measured on a mono track of a source that
// has more channels: BS.1770 sums the channels, a downmix reads lower
// (3 LU for equal channels).
func loudnessNote(r *analyze.Result, media *mediasrc.Media) string {
	src := media.Video.GetProbe().GetAudio().GetChannels()
	if media.Artifact && r.LoudnessChannels < int(src) {
		return fmt.Sprintf("measured on the %s audio track of a %d-channel source: loudness reads lower than on its channels (3 LU for equal channels)",
			layoutName(r.LoudnessChannels), src)
	}
	return fmt.Sprintf("measured per channel (%s)", layoutName(r.LoudnessChannels))
}

// ffmpeg returns the version of the ffmpeg this server runs.
func (s *Server) ffmpeg(ctx context.Context) string {
	return ffmpegx.Version(ctx, s.Decode.FFmpeg)
}

// result converts a domain result; media says where it came from.
func (s *Server) result(ctx context.Context, r *analyze.Result, media *mediasrc.Media) *audiov1.AudioResult {
	vp := r.Voice.Producer
	overall := &commonv1.Producer{Engine: Engine, Model: vp.Model, Version: s.Version, Fallback: vp.Fallback, Note: vp.Note}
	res := &audiov1.AudioResult{
		Producer:        overall,
		HasAudio:        r.HasAudio,
		DurationSeconds: r.DurationSeconds,
		Producers: []*commonv1.Producer{
			{Engine: "ffmpeg", Version: s.ffmpeg(ctx), Note: decodeNote(r, media)},
			{Engine: "clipmesh-dsp", Model: "stft-2048/512 (gonum fourier), yin pitch, spectral-flux onsets, autocorrelation tempo, dynamic-programming beats", Version: s.Version},
			{Engine: "clipmesh-ebur128", Model: "ITU-R BS.1770-4 / EBU R128 (4x true peak)", Version: s.Version, Note: loudnessNote(r, media)},
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
