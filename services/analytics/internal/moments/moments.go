package moments

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"
)

// Sentence is a sentence's time span in seconds.
type Sentence struct {
	Start, End float64
}

// Hook is a hook phrase (question, number, strong claim) with its span and
// strength in [0, 1].
type Hook struct {
	Start, End float64
	Strength   float64
}

// Input holds what the moments are cut from.
type Input struct {
	// Engagement is the score per second, [i, i+1).
	Engagement []float64
	// Duration is the video's length in seconds; 0 means len(Engagement).
	Duration float64
	// Sentences in time order; nil when there is no transcript.
	Sentences []Sentence
	// Cuts are the scene cut times; nil when there is no scene detection.
	Cuts []float64
	// Hooks are the hook phrases; nil when there is no text analysis.
	Hooks []Hook
}

// Weights weighs the score's features.
type Weights struct {
	Hook, Completeness, Peak, Mean, Pacing float64
}

// Options tune the candidates and the ranking; zero fields take the
// defaults of DefaultOptions.
type Options struct {
	// MinLength and MaxLength bound a moment's length in seconds.
	MinLength, MaxLength float64
	// HookSeconds is the opening that the hook feature looks at.
	HookSeconds float64
	// Tolerance is how close a boundary must be to a sentence edge to
	// count as aligned, in seconds.
	Tolerance float64
	// Lead is how far into the pause before a sentence a start may lie
	// (or into the pause after a sentence an end) and still count as
	// aligned, in seconds: a cut in that pause does not cut the thought.
	Lead float64
	// TopN is the number of moments returned.
	TopN int
	// Weights weigh the features; the zero value means the defaults.
	Weights Weights
}

// DefaultOptions returns 15–60 s moments, a 3 s hook, a 0.25 s tolerance,
// a 1 s lead, the top 5 and the default weights of the package
// documentation.
func DefaultOptions() Options {
	return Options{
		MinLength: 15, MaxLength: 60, HookSeconds: 3, Tolerance: 0.25, Lead: 1, TopN: 5,
		Weights: Weights{Hook: 0.30, Completeness: 0.20, Peak: 0.15, Mean: 0.25, Pacing: 0.10},
	}
}

func (o Options) withDefaults() Options {
	d := DefaultOptions()
	if o.MinLength <= 0 {
		o.MinLength = d.MinLength
	}
	if o.MaxLength <= 0 {
		o.MaxLength = d.MaxLength
	}
	if o.HookSeconds <= 0 {
		o.HookSeconds = d.HookSeconds
	}
	if o.Tolerance <= 0 {
		o.Tolerance = d.Tolerance
	}
	if o.Lead <= 0 {
		o.Lead = d.Lead
	}
	if o.TopN <= 0 {
		o.TopN = d.TopN
	}
	if o.Weights == (Weights{}) {
		o.Weights = d.Weights
	}
	return o
}

// ErrInvalidOptions is returned for inconsistent options.
var ErrInvalidOptions = errors.New("moments: invalid options")

// Moment is a ranked candidate clip.
type Moment struct {
	// Start and End in seconds.
	Start, End float64
	// Score in [0, 1].
	Score float64
	// The features behind the score, each in [0, 1].
	Hook, Completeness, Peak, Mean, Pacing float64
	// StartsAtSentence and EndsAtSentence say whether the boundaries are
	// aligned to a sentence start and end.
	StartsAtSentence, EndsAtSentence bool
}

// Length is End − Start.
func (m Moment) Length() float64 { return m.End - m.Start }

// Find returns the top, non-overlapping moments of in, best first. It
// returns no moments (and no error) when no candidate fits the length
// range.
func Find(in Input, o Options) ([]Moment, error) {
	o = o.withDefaults()
	w := o.Weights
	if o.MinLength > o.MaxLength {
		return nil, fmt.Errorf("%w: min length %v above max length %v", ErrInvalidOptions, o.MinLength, o.MaxLength)
	}
	for _, v := range []float64{w.Hook, w.Completeness, w.Peak, w.Mean, w.Pacing} {
		if v < 0 || math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, fmt.Errorf("%w: weight %v", ErrInvalidOptions, v)
		}
	}
	dur := in.Duration
	if dur <= 0 {
		dur = float64(len(in.Engagement))
	}
	eng := rescale(in.Engagement)
	ix := newIndex(in)
	starts, ends := boundaries(in, dur)
	var cands []Moment
	for _, s := range starts {
		lo, _ := slices.BinarySearch(ends, s+o.MinLength-1e-9)
		for _, e := range ends[lo:] {
			if e-s > o.MaxLength+1e-9 {
				break
			}
			cands = append(cands, ix.score(eng, s, e, o))
		}
	}
	slices.SortFunc(cands, func(a, b Moment) int {
		return cmp.Or(cmp.Compare(b.Score, a.Score), cmp.Compare(a.Start, b.Start), cmp.Compare(a.End, b.End))
	})
	var out []Moment
	for _, c := range cands {
		if len(out) == o.TopN {
			break
		}
		if !slices.ContainsFunc(out, func(m Moment) bool { return c.Start < m.End && m.Start < c.End }) {
			out = append(out, c)
		}
	}
	return out, nil
}

// boundaries returns the sorted, distinct candidate starts and ends.
func boundaries(in Input, dur float64) (starts, ends []float64) {
	starts, ends = []float64{0}, []float64{dur}
	for _, s := range in.Sentences {
		starts = append(starts, s.Start)
		ends = append(ends, s.End)
	}
	starts = append(starts, in.Cuts...)
	ends = append(ends, in.Cuts...)
	if len(in.Sentences) == 0 && len(in.Cuts) == 0 {
		for t := 5.0; t < dur; t += 5 {
			starts = append(starts, t)
			ends = append(ends, t)
		}
	}
	clean := func(xs []float64) []float64 {
		xs = slices.DeleteFunc(xs, func(x float64) bool { return x < 0 || x > dur || math.IsNaN(x) })
		slices.Sort(xs)
		return slices.Compact(xs)
	}
	return clean(starts), clean(ends)
}

// index holds the input's sentences, cuts and hooks sorted for binary
// search, so scoring a candidate does not scan the whole video.
type index struct {
	sentences    []Sentence // by start
	starts, ends []float64  // sorted sentence starts and ends
	maxSentence  float64    // the longest sentence
	cuts         []float64  // sorted
	hooks        []Hook
	hasHooks     bool
}

func newIndex(in Input) *index {
	ix := &index{
		sentences: slices.Clone(in.Sentences),
		cuts:      slices.Clone(in.Cuts),
		hooks:     in.Hooks,
		hasHooks:  in.Hooks != nil,
	}
	slices.SortFunc(ix.sentences, func(a, b Sentence) int { return cmp.Or(cmp.Compare(a.Start, b.Start), cmp.Compare(a.End, b.End)) })
	for _, s := range ix.sentences {
		ix.starts = append(ix.starts, s.Start)
		ix.ends = append(ix.ends, s.End)
		ix.maxSentence = math.Max(ix.maxSentence, s.End-s.Start)
	}
	slices.Sort(ix.ends)
	slices.Sort(ix.cuts)
	return ix
}

// within reports whether a sorted xs has a value in [lo, hi].
func within(xs []float64, lo, hi float64) bool {
	i, _ := slices.BinarySearch(xs, lo)
	return i < len(xs) && xs[i] <= hi
}

// inside reports whether x cuts through a sentence: one starts more than
// tol before it and ends more than tol after it.
func (ix *index) inside(x, tol float64) bool {
	i, _ := slices.BinarySearchFunc(ix.sentences, x-ix.maxSentence-tol, func(s Sentence, t float64) int { return cmp.Compare(s.Start, t) })
	for _, s := range ix.sentences[i:] {
		if s.Start >= x-tol {
			break
		}
		if s.End > x+tol {
			return true
		}
	}
	return false
}

func (ix *index) score(eng []float64, s, e float64, o Options) Moment {
	m := Moment{Start: s, End: e}
	m.StartsAtSentence = !ix.inside(s, o.Tolerance) && within(ix.starts, s-o.Tolerance, s+o.Lead)
	m.EndsAtSentence = !ix.inside(e, o.Tolerance) && within(ix.ends, e-o.Lead, e+o.Tolerance)
	if m.StartsAtSentence {
		m.Completeness += 0.5
	}
	if m.EndsAtSentence {
		m.Completeness += 0.5
	}
	inside := window(eng, s, e)
	for _, v := range inside {
		m.Peak = math.Max(m.Peak, v)
		m.Mean += v
	}
	if len(inside) > 0 {
		m.Mean /= float64(len(inside))
	}
	hookEnd := math.Min(e, s+o.HookSeconds)
	m.Hook = mean(window(eng, s, hookEnd))
	if ix.hasHooks {
		best := 0.0
		for _, h := range ix.hooks {
			if h.Start < hookEnd && h.End > s {
				best = math.Max(best, h.Strength)
			}
		}
		m.Hook = (m.Hook + best) / 2
	}
	m.Pacing = 1 - ix.deadStretch(s, e)/(e-s)
	w := o.Weights
	total := w.Hook + w.Completeness + w.Peak + w.Mean + w.Pacing
	if total > 0 {
		m.Score = (w.Hook*m.Hook + w.Completeness*m.Completeness + w.Peak*m.Peak + w.Mean*m.Mean + w.Pacing*m.Pacing) / total
	}
	return m
}

// deadStretch is the longest part of [s, e) with no sentence and no cut;
// without sentences, the longest gap between cuts.
func (ix *index) deadStretch(s, e float64) float64 {
	type iv struct{ a, b float64 }
	var live []iv
	i, _ := slices.BinarySearchFunc(ix.sentences, s-ix.maxSentence, func(x Sentence, t float64) int { return cmp.Compare(x.Start, t) })
	for _, sen := range ix.sentences[i:] {
		if sen.Start >= e {
			break
		}
		if sen.End > s {
			live = append(live, iv{math.Max(sen.Start, s), math.Min(sen.End, e)})
		}
	}
	j, _ := slices.BinarySearch(ix.cuts, s)
	for _, c := range ix.cuts[j:] {
		if c >= e {
			break
		}
		if c > s {
			live = append(live, iv{c, c})
		}
	}
	slices.SortFunc(live, func(x, y iv) int { return cmp.Or(cmp.Compare(x.a, y.a), cmp.Compare(x.b, y.b)) })
	longest, at := 0.0, s
	for _, l := range live {
		longest = math.Max(longest, l.a-at)
		at = math.Max(at, l.b)
	}
	return math.Max(longest, e-at)
}

// window returns the per-second values of the seconds overlapping [s, e).
func window(xs []float64, s, e float64) []float64 {
	lo := max(int(math.Floor(s)), 0)
	hi := min(int(math.Ceil(e)), len(xs))
	if lo >= hi {
		return nil
	}
	return xs[lo:hi]
}

func mean(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := 0.0
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs))
}

// rescale maps xs to [0, 1] by min-max; a constant series maps to 0.
func rescale(xs []float64) []float64 {
	out := make([]float64, len(xs))
	if len(xs) == 0 {
		return out
	}
	lo, hi := slices.Min(xs), slices.Max(xs)
	if hi > lo {
		for i, x := range xs {
			out[i] = (x - lo) / (hi - lo)
		}
	}
	return out
}
