package analyze

import (
	"math"
	"slices"

	"github.com/clipmesh/clipmesh/services/audio/internal/events"
	"github.com/clipmesh/clipmesh/services/audio/internal/loudness"
	"github.com/clipmesh/clipmesh/services/audio/internal/voice"
)

// levels measures the RMS level of each 100 ms block of the voice stream.
type levels struct {
	sum float64
	n   int
	out []float64
}

const blockSamples = VoiceRate / 10

func (l *levels) write(b []float32) {
	for _, v := range b {
		l.sum += float64(v) * float64(v)
		if l.n++; l.n == blockSamples {
			l.flush(l.n)
		}
	}
}

func (l *levels) flush(n int) {
	l.out = append(l.out, dbfs(l.sum/float64(n)))
	l.sum, l.n = 0, 0
}

func (l *levels) close() []float64 {
	if l.n > 0 {
		l.flush(l.n)
	}
	return l.out
}

// dbfs is a power in dB re full scale, floored at loudness.SilenceDB.
func dbfs(power float64) float64 {
	if power <= 0 {
		return loudness.SilenceDB
	}
	return math.Max(loudness.SilenceDB, 10*math.Log10(power))
}

// finish builds the per-second series, the events and the derived summary
// figures from the analyses; env is the onset strength envelope.
func (r *Result) finish(env []float64) {
	short := make(map[int]float64, len(r.Loudness.ShortTerm))
	for _, p := range r.Loudness.ShortTerm {
		short[int(math.Round(p.Time*10))] = p.LUFS
	}
	n := len(r.Spectral.Series)
	r.Seconds = make([]Second, n)
	envSum, envN := make([]float64, n), make([]int, n)
	if rate := r.Rhythm.EnvelopeRate; rate > 0 {
		for k, v := range env {
			if i := int(float64(k) / rate); i < n {
				envSum[i] += v
				envN[i]++
			}
		}
	}
	onsets := make([]int, n)
	for _, t := range r.Rhythm.Onsets {
		if i := int(t); i >= 0 && i < n {
			onsets[i]++
		}
	}
	probSum, probN := make([]float64, n), make([]int, n)
	for j, p := range r.Voice.Probs {
		if i := int(float64(j) * voice.FrameSeconds); i < n {
			probSum[i] += float64(p)
			probN[i]++
		}
	}
	var dominant []float64
	for i, p := range r.Spectral.Series {
		s := Second{
			Time: float64(i), RMSDB: 20 * math.Log10(math.Max(p.RMS, 1e-6)),
			ShortTermLUFS: loudness.SilenceDB, Centroid: p.Centroid, Flatness: p.Flatness,
			Onsets: onsets[i], DominantHz: p.DominantHz, F0: p.F0,
		}
		s.RMSDB = math.Max(s.RMSDB, loudness.SilenceDB)
		if v, ok := short[(i+1)*10]; ok {
			s.ShortTermLUFS = v
		}
		if envN[i] > 0 {
			s.OnsetStrength = envSum[i] / float64(envN[i])
		}
		if probN[i] > 0 {
			s.SpeechProb = probSum[i] / float64(probN[i])
		}
		if s.RMSDB >= events.SilenceDB && p.DominantHz > 0 {
			dominant = append(dominant, p.DominantHz)
		}
		r.Seconds[i] = s
	}
	if len(dominant) > 0 {
		slices.Sort(dominant)
		m := len(dominant)
		r.DominantMedianHz = dominant[m/2]
		if m%2 == 0 {
			r.DominantMedianHz = (dominant[m/2-1] + dominant[m/2]) / 2
		}
	}
	if r.DurationSeconds > 0 {
		r.VocalActivityRatio = math.Min(1, r.Voice.SpeechSeconds()/r.DurationSeconds)
	}
	in := events.Input{Duration: r.DurationSeconds, Blocks: r.Blocks,
		TempoConfidence: r.Rhythm.TempoConfidence, Regularity: r.Rhythm.Regularity}
	for _, s := range r.Seconds {
		in.Seconds = append(in.Seconds, events.Second{RMSDB: s.RMSDB, Flatness: s.Flatness, SpeechProb: s.SpeechProb, Onsets: s.Onsets})
	}
	r.Events = events.Detect(in)
}
