// Package chapters splits a long transcript into topically coherent
// chapters by lexical cohesion, after TextTiling (Hearst 1997):
//
//  1. Each segment is a bag of stemmed content words (the caller's terms).
//  2. At every gap between two segments, the block of segments before the
//     gap (about BlockWords words) is compared with the block after it by
//     cosine similarity of their term counts.
//  3. The similarity curve is smoothed (moving average of 3), and each gap
//     gets a depth score: how far it lies below the highest point to its
//     left plus below the highest to its right, climbing while the curve
//     rises.
//  4. Gaps deeper than mean − σ/2 of all depths (Hearst's conservative
//     cutoff) and than MinDepth are boundary candidates; they are taken deepest first, skipping any
//     that would make a chapter shorter than the minimum (MinSeconds when
//     the segments are timed, else MinSegments).
package chapters

import (
	"math"
	"sort"
)

// Unit is one segment: its terms and, when timed, its time span.
type Unit struct {
	Terms      []string
	Start, End float64
	Timed      bool
}

// Options tune the segmentation; zero fields take the defaults.
type Options struct {
	// BlockWords is the number of words in each compared block (default 120).
	BlockWords int
	// MinSeconds is the shortest chapter of timed segments (default 60).
	MinSeconds float64
	// MinSegments is the fewest segments of a chapter (default 4).
	MinSegments int
	// MinDepth is the least depth of a boundary (default 0.1): a dip in
	// cohesion smaller than that is noise within one topic, whatever the
	// distribution of depths.
	MinDepth float64
}

// Chapter is a run of units.
type Chapter struct {
	First, Count int
	// Depth is the depth score of the boundary that opens it (0 for the first).
	Depth float64
}

// Split returns the chapters of units, in order, covering all of them. An
// empty input gives none; a text too short to split gives one.
func Split(units []Unit, o Options) []Chapter {
	if len(units) == 0 {
		return nil
	}
	if o.BlockWords <= 0 {
		o.BlockWords = 120
	}
	if o.MinSeconds <= 0 {
		o.MinSeconds = 60
	}
	if o.MinSegments <= 0 {
		o.MinSegments = 4
	}
	if o.MinDepth <= 0 {
		o.MinDepth = 0.1
	}
	n := len(units)
	if n < 2*o.MinSegments {
		return []Chapter{{First: 0, Count: n}}
	}
	words := 0
	for _, u := range units {
		words += len(u.Terms)
	}
	k := 1
	if words > 0 {
		k = max(1, int(math.Round(float64(o.BlockWords)*float64(n)/float64(words))))
	}
	// sim[g] compares units[g-k+1..g] with units[g+1..g+k], gap g after unit g.
	sim := make([]float64, n-1)
	for g := range sim {
		sim[g] = cosine(count(units[max(0, g-k+1):g+1]), count(units[g+1:min(n, g+1+k)]))
	}
	smooth := make([]float64, len(sim))
	for i := range sim {
		s, c := 0.0, 0.0
		for j := max(0, i-1); j <= min(len(sim)-1, i+1); j++ {
			s += sim[j]
			c++
		}
		smooth[i] = s / c
	}
	depth := make([]float64, len(smooth))
	for i := range smooth {
		l := smooth[i]
		for j := i - 1; j >= 0 && smooth[j] >= l; j-- {
			l = smooth[j]
		}
		r := smooth[i]
		for j := i + 1; j < len(smooth) && smooth[j] >= r; j++ {
			r = smooth[j]
		}
		depth[i] = (l - smooth[i]) + (r - smooth[i])
	}
	mean, sd := stats(depth)
	cut := mean - sd/2
	gaps := make([]int, 0, len(depth))
	for i, d := range depth {
		if d > cut && d >= o.MinDepth {
			gaps = append(gaps, i)
		}
	}
	sort.SliceStable(gaps, func(a, b int) bool { return depth[gaps[a]] > depth[gaps[b]] })
	var bounds []int // unit index starting a chapter
	fits := func(start int) bool {
		all := append([]int{0}, bounds...)
		all = append(all, start, n)
		sort.Ints(all)
		for i := 0; i+1 < len(all); i++ {
			if !long(units[all[i]:all[i+1]], o) {
				return false
			}
		}
		return true
	}
	for _, g := range gaps {
		if fits(g + 1) {
			bounds = append(bounds, g+1)
		}
	}
	sort.Ints(bounds)
	out := make([]Chapter, 0, len(bounds)+1)
	start := 0
	for _, b := range bounds {
		out = append(out, Chapter{First: start, Count: b - start, Depth: depthAt(depth, start)})
		start = b
	}
	return append(out, Chapter{First: start, Count: n - start, Depth: depthAt(depth, start)})
}

func depthAt(depth []float64, start int) float64 {
	if start == 0 {
		return 0
	}
	return depth[start-1]
}

// long says whether us is long enough to be a chapter.
func long(us []Unit, o Options) bool {
	if len(us) < o.MinSegments {
		return false
	}
	if us[0].Timed && us[len(us)-1].Timed {
		return us[len(us)-1].End-us[0].Start >= o.MinSeconds
	}
	return true
}

func count(us []Unit) map[string]float64 {
	m := map[string]float64{}
	for _, u := range us {
		for _, t := range u.Terms {
			m[t]++
		}
	}
	return m
}

func cosine(a, b map[string]float64) float64 {
	var dot, na, nb float64
	for t, x := range a {
		na += x * x
		dot += x * b[t]
	}
	for _, y := range b {
		nb += y * y
	}
	if na == 0 || nb == 0 {
		return 0
	}
	return dot / math.Sqrt(na*nb)
}

func stats(xs []float64) (mean, sd float64) {
	if len(xs) == 0 {
		return 0, 0
	}
	for _, x := range xs {
		mean += x
	}
	mean /= float64(len(xs))
	for _, x := range xs {
		sd += (x - mean) * (x - mean)
	}
	return mean, math.Sqrt(sd / float64(len(xs)))
}
