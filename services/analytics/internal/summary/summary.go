package summary

import (
	"cmp"
	"math"
	"slices"
	"strings"
	"unicode"
)

// The defaults of the engagement peaks and of MATTR.
const (
	MaxPeaks       = 5
	PeakSeparation = 5
	MATTRWindow    = 50
	TargetLUFS     = -14.0
)

// AudioFigures are the audio analysis' whole-signal figures.
type AudioFigures struct {
	SNRDB          float64
	DynamicRangeLU float64
	IntegratedLUFS float64
}

// Input holds what the aggregates are computed from; nil fields are
// missing.
type Input struct {
	// DurationSeconds of the video; required for the per-minute figures.
	DurationSeconds float64
	// Engagement is the score per second.
	Engagement []float64
	// Words are the transcript words, in order.
	Words []string
	// Topics are the topics found (repeats allowed).
	Topics []string
	// SceneCount is the number of scenes, nil when scene detection is
	// missing.
	SceneCount *int
	// MotionEnergy is the motion energy per second.
	MotionEnergy []float64
	// Audio are the audio figures.
	Audio *AudioFigures
}

// Peak is a local maximum of the engagement.
type Peak struct {
	Second int
	Score  float64
}

// Engagement summarises the engagement series.
type Engagement struct {
	Avg, Max float64
	Peaks    []Peak
}

// Density is the information density.
type Density struct {
	WordsPerMinute, TopicsPerMinute float64
}

// Complexity describes how busy the content is.
type Complexity struct {
	// SceneRate is scenes per minute.
	SceneRate float64
	// MotionEntropy in [0, 1].
	MotionEntropy float64
	// VocabularyRichness is the MATTR in [0, 1].
	VocabularyRichness float64
}

// AudioQuality is the audio quality score and its parts, each in [0, 1].
type AudioQuality struct {
	Score, SNR, DynamicRange, Loudness float64
}

// Summary is the detailed-analytics aggregates.
type Summary struct {
	Engagement Engagement
	Density    Density
	Complexity Complexity
	Audio      AudioQuality
	// Missing names the figures not computed for lack of input, as
	// "section.figure" (e.g. "audio.quality_score").
	Missing []string
}

// Compute returns the aggregates of in.
func Compute(in Input) Summary {
	var s Summary
	miss := func(name string) { s.Missing = append(s.Missing, name) }
	if len(in.Engagement) > 0 {
		s.Engagement = EngagementStats(in.Engagement)
	} else {
		miss("engagement.avg")
	}
	minutes := in.DurationSeconds / 60
	perMinute := func(n int, name string) float64 {
		if minutes <= 0 {
			miss(name)
			return 0
		}
		return float64(n) / minutes
	}
	if in.Words != nil {
		s.Density.WordsPerMinute = perMinute(len(in.Words), "content.words_per_minute")
		s.Complexity.VocabularyRichness = MATTR(in.Words, MATTRWindow)
	} else {
		miss("content.words_per_minute")
		miss("content.vocabulary_richness")
	}
	if in.Topics != nil {
		seen := map[string]bool{}
		for _, t := range in.Topics {
			if t = strings.ToLower(strings.TrimSpace(t)); t != "" {
				seen[t] = true
			}
		}
		s.Density.TopicsPerMinute = perMinute(len(seen), "content.topics_per_minute")
	} else {
		miss("content.topics_per_minute")
	}
	if in.SceneCount != nil {
		s.Complexity.SceneRate = perMinute(*in.SceneCount, "content.scene_rate")
	} else {
		miss("content.scene_rate")
	}
	if in.MotionEnergy != nil {
		s.Complexity.MotionEntropy = Entropy(in.MotionEnergy, 10)
	} else {
		miss("content.motion_entropy")
	}
	if in.Audio != nil {
		s.Audio = Quality(*in.Audio)
	} else {
		miss("audio.quality_score")
	}
	return s
}

// EngagementStats returns the average, maximum and peaks of a series.
func EngagementStats(xs []float64) Engagement {
	var e Engagement
	if len(xs) == 0 {
		return e
	}
	mean, sd := 0.0, 0.0
	for _, x := range xs {
		mean += x
	}
	mean /= float64(len(xs))
	for _, x := range xs {
		sd += (x - mean) * (x - mean)
	}
	sd = math.Sqrt(sd / float64(len(xs)))
	e.Avg, e.Max = mean, slices.Max(xs)
	var cands []Peak
	for i, x := range xs {
		if x > mean+sd && (i == 0 || x >= xs[i-1]) && (i == len(xs)-1 || x >= xs[i+1]) {
			cands = append(cands, Peak{Second: i, Score: x})
		}
	}
	slices.SortStableFunc(cands, func(a, b Peak) int { return cmp.Compare(b.Score, a.Score) })
	for _, c := range cands {
		if len(e.Peaks) == MaxPeaks {
			break
		}
		if !slices.ContainsFunc(e.Peaks, func(p Peak) bool { return abs(p.Second-c.Second) < PeakSeparation }) {
			e.Peaks = append(e.Peaks, c)
		}
	}
	return e
}

func abs(x int) int { return max(x, -x) }

// MATTR is the moving-average type/token ratio of words over windows of w
// tokens (the type/token ratio when there are fewer; 0 for no tokens).
func MATTR(words []string, w int) float64 {
	var toks []string
	for _, wd := range words {
		t := strings.ToLower(strings.TrimFunc(wd, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsNumber(r) }))
		if t != "" {
			toks = append(toks, t)
		}
	}
	if len(toks) == 0 {
		return 0
	}
	if w <= 0 || len(toks) < w {
		w = len(toks)
	}
	counts := map[string]int{}
	for _, t := range toks[:w] {
		counts[t]++
	}
	sum := float64(len(counts)) / float64(w)
	for i := w; i < len(toks); i++ {
		out := toks[i-w]
		if counts[out]--; counts[out] == 0 {
			delete(counts, out)
		}
		counts[toks[i]]++
		sum += float64(len(counts)) / float64(w)
	}
	return sum / float64(len(toks)-w+1)
}

// Entropy is the Shannon entropy of xs in bins equal-width bins between
// their minimum and maximum, over log2(bins): in [0, 1], 0 when constant.
func Entropy(xs []float64, bins int) float64 {
	if len(xs) == 0 || bins < 2 {
		return 0
	}
	lo, hi := slices.Min(xs), slices.Max(xs)
	if hi <= lo {
		return 0
	}
	counts := make([]int, bins)
	for _, x := range xs {
		counts[min(int((x-lo)/(hi-lo)*float64(bins)), bins-1)]++
	}
	h := 0.0
	for _, c := range counts {
		if c > 0 {
			p := float64(c) / float64(len(xs))
			h -= p * math.Log2(p)
		}
	}
	return h / math.Log2(float64(bins))
}

// Quality returns the audio quality score of the package documentation.
func Quality(a AudioFigures) AudioQuality {
	q := AudioQuality{
		SNR:      clamp01((a.SNRDB - 10) / 30),
		Loudness: clamp01(1 - math.Abs(a.IntegratedLUFS-TargetLUFS)/12),
	}
	switch dr := a.DynamicRangeLU; {
	case dr < 6:
		q.DynamicRange = clamp01(dr / 6)
	case dr <= 12:
		q.DynamicRange = 1
	default:
		q.DynamicRange = clamp01((24 - dr) / 12)
	}
	q.Score = 0.4*q.SNR + 0.2*q.DynamicRange + 0.4*q.Loudness
	return q
}

func clamp01(x float64) float64 {
	if math.IsNaN(x) {
		return 0
	}
	return math.Min(1, math.Max(0, x))
}
