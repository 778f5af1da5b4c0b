package engagement

import (
	"errors"
	"math"
	"slices"
)

// ErrNoFactors is returned when no factor with a positive weight is
// available (no modality, or only zero-weighted ones).
var ErrNoFactors = errors.New("engagement: no weighted factor available")

// ErrEmpty is returned when the timeline has no seconds.
var ErrEmpty = errors.New("engagement: empty timeline")

// Contribution is one factor's share of one second's score.
type Contribution struct {
	Factor Factor
	// Value is the factor's normalised, smoothed value in [0, 1].
	Value float64
	// Weight is the factor's renormalised weight.
	Weight float64
	// Contribution is Weight × Value; a second's contributions sum to its
	// score.
	Contribution float64
}

// Second is the score of one second, [Time, Time+1).
type Second struct {
	Time int
	// Score in [0, 1].
	Score float64
	// Contributions lists the used factors, in the order of
	// Timeline.Factors.
	Contributions []Contribution
}

// Timeline is the engagement score per second.
type Timeline struct {
	Seconds []Second
	// Factors are the factors used, in canonical order.
	Factors []Factor
	// Missing are the factors whose modality or series was missing.
	Missing []Factor
	// Weights are the renormalised weights of Factors (sum 1).
	Weights []float64
}

// Scores returns the per-second scores.
func (t Timeline) Scores() []float64 {
	out := make([]float64, len(t.Seconds))
	for i, s := range t.Seconds {
		out[i] = s.Score
	}
	return out
}

// Series returns the normalised, smoothed series of factor f, nil when f
// was not used.
func (t Timeline) Series(f Factor) []float64 {
	k := slices.Index(t.Factors, f)
	if k < 0 {
		return nil
	}
	out := make([]float64, len(t.Seconds))
	for i, s := range t.Seconds {
		out[i] = s.Contributions[k].Value
	}
	return out
}

// Score builds the engagement timeline of in with weights w. It validates
// w first and returns its *WeightError.
func Score(in Input, w Weights) (Timeline, error) {
	if err := w.Validate(); err != nil {
		return Timeline{}, err
	}
	raw := Raw(in)
	n := in.Seconds
	if n <= 0 {
		for _, s := range raw {
			n = max(n, len(s))
		}
	}
	if n == 0 {
		return Timeline{}, ErrEmpty
	}
	var t Timeline
	var norm [][]float64
	total := 0.0
	for _, f := range AllFactors {
		s, ok := raw[f]
		if !ok {
			t.Missing = append(t.Missing, f)
			continue
		}
		if w.Get(f) == 0 {
			continue
		}
		t.Factors = append(t.Factors, f)
		t.Weights = append(t.Weights, w.Get(f))
		total += w.Get(f)
		norm = append(norm, Smooth(Normalize(fit(s, n))))
	}
	if len(t.Factors) == 0 {
		return Timeline{}, ErrNoFactors
	}
	for k := range t.Weights {
		t.Weights[k] /= total
	}
	t.Seconds = make([]Second, n)
	for i := range n {
		sec := Second{Time: i, Contributions: make([]Contribution, len(t.Factors))}
		for k, f := range t.Factors {
			c := t.Weights[k] * norm[k][i]
			sec.Contributions[k] = Contribution{Factor: f, Value: norm[k][i], Weight: t.Weights[k], Contribution: c}
			sec.Score += c
		}
		sec.Score = clamp01(sec.Score)
		t.Seconds[i] = sec
	}
	return t, nil
}

// fit pads s with zeros or truncates it to n values.
func fit(s []float64, n int) []float64 {
	out := make([]float64, n)
	copy(out, s)
	return out
}

// Raw builds the raw (unnormalised) series of every available factor; a
// missing factor has no key. The series have the length of their source.
func Raw(in Input) map[Factor][]float64 {
	raw := map[Factor][]float64{}
	n := in.Seconds
	if a := in.Audio; a != nil {
		if a.SpeechProbability != nil {
			raw[SpeechPresence] = slices.Clone(a.SpeechProbability)
		}
		if a.RMSDBFS != nil {
			lv := make([]float64, len(a.RMSDBFS))
			ch := make([]float64, len(a.RMSDBFS))
			for i, v := range a.RMSDBFS {
				lv[i] = math.Max(v, -80)
				if i > 0 {
					ch[i] = math.Abs(lv[i] - lv[i-1])
				}
			}
			raw[Loudness], raw[LoudnessChange] = lv, ch
		}
		if a.PitchHz != nil || a.OnsetStrength != nil {
			raw[Excitement] = excitement(a.PitchHz, a.OnsetStrength)
		}
		if a.Events != nil {
			m := max(n, seriesLen(a.RMSDBFS, a.SpeechProbability))
			for _, e := range a.Events {
				m = max(m, int(math.Ceil(e.Start+e.Duration)))
			}
			ev := make([]float64, m)
			for _, e := range a.Events {
				if e.Kind == OtherEvent {
					continue
				}
				addSpan(ev, e.Start, e.Start+e.Duration, e.Strength, false)
			}
			raw[AudioEvents] = ev
		}
	}
	if in.Words != nil {
		m := n
		for _, wd := range in.Words {
			m = max(m, int(math.Ceil(wd.End)))
		}
		rate := make([]float64, m)
		cover := make([]float64, m)
		for _, wd := range in.Words {
			if i := int((wd.Start + wd.End) / 2); i >= 0 && i < m {
				rate[i]++
			}
			addCover(cover, wd.Start, wd.End)
		}
		raw[SpeechRate] = rate
		if _, ok := raw[SpeechPresence]; !ok {
			raw[SpeechPresence] = cover
		}
	}
	if v := in.Vision; v != nil {
		for f, s := range map[Factor][]float64{
			Faces: v.FaceCount, FaceSize: v.FaceArea, EyeContact: v.EyeContact,
			FaceEmotion: v.EmotionIntensity, Motion: v.MotionEnergy, VisualQuality: v.Quality,
		} {
			if s != nil {
				raw[f] = slices.Clone(s)
			}
		}
		if v.Cuts != nil {
			m := max(n, seriesLen(v.FaceCount, v.MotionEnergy, v.Quality))
			for _, c := range v.Cuts {
				m = max(m, int(c)+1)
			}
			cr := make([]float64, m)
			for _, c := range v.Cuts {
				// The window of second i is [i-2, i+3): a cut at c counts
				// for the seconds int(c)-2 … int(c)+2.
				for i := int(c) - 2; i <= int(c)+2; i++ {
					if i >= 0 && i < m {
						cr[i]++
					}
				}
			}
			raw[CutRhythm] = cr
		}
	}
	if t := in.Text; t != nil {
		if t.Sentiment != nil {
			raw[Sentiment] = spanSeries(t.Sentiment, n)
		}
		if t.Hooks != nil {
			raw[Hooks] = spanSeries(t.Hooks, n)
		}
	}
	return raw
}

func seriesLen(ss ...[]float64) int {
	n := 0
	for _, s := range ss {
		n = max(n, len(s))
	}
	return n
}

// spanSeries is, per second, the strongest span overlapping it.
func spanSeries(spans []Span, n int) []float64 {
	m := n
	for _, s := range spans {
		m = max(m, int(math.Ceil(s.End)))
	}
	out := make([]float64, m)
	for _, s := range spans {
		addSpan(out, s.Start, s.End, s.Strength, true)
	}
	return out
}

// addSpan adds v to (or, with useMax, maxes v into) every second that
// [start, end) overlaps; an empty span marks the second holding start.
func addSpan(out []float64, start, end, v float64, useMax bool) {
	lo := int(math.Floor(start))
	hi := int(math.Ceil(end)) - 1
	hi = max(hi, lo)
	for i := max(lo, 0); i <= hi && i < len(out); i++ {
		if useMax {
			out[i] = math.Max(out[i], v)
		} else {
			out[i] += v
		}
	}
}

// addCover adds to each second the share of it that [start, end) covers.
func addCover(out []float64, start, end float64) {
	for i := max(int(math.Floor(start)), 0); i < len(out) && float64(i) < end; i++ {
		lo, hi := math.Max(start, float64(i)), math.Min(end, float64(i+1))
		if hi > lo {
			out[i] = math.Min(1, out[i]+hi-lo)
		}
	}
}

// excitement is the mean of the voiced pitch relative to the video's
// median voiced pitch (0 when unvoiced) and the onset strength relative to
// its video median (both ratios; a missing series contributes 0 to the
// mean of the other).
func excitement(pitch, onset []float64) []float64 {
	n := max(len(pitch), len(onset))
	out := make([]float64, n)
	parts := 0.0
	if pitch != nil {
		parts++
		var voiced []float64
		for _, p := range pitch {
			if p > 0 {
				voiced = append(voiced, p)
			}
		}
		if med := median(voiced); med > 0 {
			for i, p := range pitch {
				out[i] += p / med
			}
		}
	}
	if onset != nil {
		parts++
		med := median(onset)
		for i, o := range onset {
			if med > 0 {
				out[i] += o / med
			} else {
				out[i] += o
			}
		}
	}
	for i := range out {
		out[i] /= parts
	}
	return out
}

// Normalize maps a raw series to [0, 1] with the robust logistic of the
// package documentation: the median maps to 0.5, the scale is IQR/1.349,
// falling back to 1.4826·MAD, then the standard deviation; a constant
// series maps to 0.5 everywhere. NaN values map to 0.5 too.
func Normalize(xs []float64) []float64 {
	out := make([]float64, len(xs))
	var clean []float64
	for _, x := range xs {
		if !math.IsNaN(x) && !math.IsInf(x, 0) {
			clean = append(clean, x)
		}
	}
	med := median(clean)
	scale := (quantile(clean, 0.75) - quantile(clean, 0.25)) / 1.349
	if scale <= 0 {
		dev := make([]float64, len(clean))
		for i, x := range clean {
			dev[i] = math.Abs(x - med)
		}
		scale = 1.4826 * median(dev)
	}
	if scale <= 0 {
		scale = stddev(clean)
	}
	for i, x := range xs {
		switch {
		case math.IsNaN(x) || scale <= 0:
			out[i] = 0.5
		case math.IsInf(x, 1):
			out[i] = 1
		case math.IsInf(x, -1):
			out[i] = 0
		default:
			out[i] = 1 / (1 + math.Exp(-(x-med)/scale))
		}
	}
	return out
}

// Smooth is the 3-second centred moving average; the first and last
// seconds average their two available seconds.
func Smooth(xs []float64) []float64 {
	out := make([]float64, len(xs))
	for i := range xs {
		sum, k := 0.0, 0
		for j := i - 1; j <= i+1; j++ {
			if j >= 0 && j < len(xs) {
				sum += xs[j]
				k++
			}
		}
		out[i] = sum / float64(k)
	}
	return out
}

func median(xs []float64) float64 { return quantile(xs, 0.5) }

// quantile is the linearly interpolated q-quantile (0 for no values).
func quantile(xs []float64, q float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	pos := q * float64(len(s)-1)
	lo := int(math.Floor(pos))
	hi := min(lo+1, len(s)-1)
	return s[lo] + (s[hi]-s[lo])*(pos-float64(lo))
}

func stddev(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	m := 0.0
	for _, x := range xs {
		m += x
	}
	m /= float64(len(xs))
	v := 0.0
	for _, x := range xs {
		v += (x - m) * (x - m)
	}
	return math.Sqrt(v / float64(len(xs)))
}

func clamp01(x float64) float64 { return math.Min(1, math.Max(0, x)) }
