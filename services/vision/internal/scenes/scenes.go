package scenes

import (
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/clipmesh/clipmesh/services/vision/internal/cv"
	"github.com/clipmesh/clipmesh/services/vision/internal/frames"
)

// Kind is the kind of a transition.
type Kind int

const (
	// Cut is a hard cut: Start == End is the first frame of the new shot.
	Cut Kind = iota + 1
	// FadeOut is a fade to black over [Start, End].
	FadeOut
	// FadeIn is a fade from black over [Start, End].
	FadeIn
	// Dissolve is a cross-fade between two shots over [Start, End].
	Dissolve
)

func (k Kind) String() string {
	switch k {
	case Cut:
		return "cut"
	case FadeOut:
		return "fade_out"
	case FadeIn:
		return "fade_in"
	case Dissolve:
		return "dissolve"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Gradual reports whether k is a gradual transition (not a hard cut).
func (k Kind) Gradual() bool { return k != Cut }

// Transition is one shot boundary.
type Transition struct {
	Kind Kind
	// Start and End are frame indices (inclusive); for a cut both are the
	// first frame of the new shot.
	Start, End int64
	// StartTime and EndTime are Start/FPS and End/FPS.
	StartTime, EndTime float64
	// BoundaryTime is Boundary()/FPS: when the new scene starts.
	BoundaryTime float64
	// Score is the evidence: the cut's score over its threshold, the
	// dissolve's start-to-end histogram distance, or the fade's luma drop.
	Score float64
}

// Scene is the span between two boundaries.
type Scene struct {
	// Start and End are frame indices, End exclusive.
	Start, End int64
	// StartTime and EndTime are in seconds.
	StartTime, EndTime float64
	// Keyframe is the frame whose histogram is closest to the scene's mean.
	Keyframe int64
	// MeanLuma is the mean brightness in [0, 1].
	MeanLuma float64
	// Activity is the mean frame-to-frame score inside the scene.
	Activity float64
}

// Result is the analysis of one stream.
type Result struct {
	FPS         float64
	Frames      int64
	Transitions []Transition
	Scenes      []Scene
}

// Cuts returns the hard cuts only.
func (r Result) Cuts() []Transition {
	var out []Transition
	for _, t := range r.Transitions {
		if t.Kind == Cut {
			out = append(out, t)
		}
	}
	return out
}

// Options tunes the detector; zero fields take the defaults.
type Options struct {
	// Window is the number of past scores the adaptive threshold looks at
	// (default one second of frames, at least 10).
	Window int
	// K is how many MADs above the median a cut must score (default 6).
	K float64
	// MinScore is the absolute floor for a cut's score (default 0.3).
	MinScore float64
	// EdgeWeight is the weight of the edge change ratio in the score
	// (default 0.35; the histogram distance gets the rest).
	EdgeWeight float64
	// BlackLuma is the mean luma (0–255) below which a frame is black
	// (default 24).
	BlackLuma float64
	// MinGradual is the shortest fade or dissolve in frames (default 3).
	MinGradual int
	// Settle is how many frames after its end a transition is reported
	// by Poll (default two seconds of frames).
	Settle int
}

func (o Options) withDefaults(fps float64) Options {
	if o.Window <= 0 {
		o.Window = max(10, int(math.Round(fps)))
	}
	if o.K <= 0 {
		o.K = 6
	}
	if o.MinScore <= 0 {
		o.MinScore = 0.3
	}
	if o.EdgeWeight <= 0 {
		o.EdgeWeight = 0.35
	}
	if o.BlackLuma <= 0 {
		o.BlackLuma = 24
	}
	if o.MinGradual <= 0 {
		o.MinGradual = 3
	}
	if o.Settle <= 0 {
		o.Settle = max(10, int(math.Round(2*fps)))
	}
	return o
}

// Histogram layout: hue of chromatic pixels, one achromatic bin, then
// saturation and value.
const (
	hueBins  = 16
	satBins  = 8
	valBins  = 8
	histSize = hueBins + 1 + satBins + valBins
)

type hist [histSize]float32

// Detector accumulates per-frame features. It is not safe for concurrent use.
type Detector struct {
	fps  float64
	o    Options
	w, h int

	hists     []hist
	luma      []float64 // mean luma 0–255
	lumaStd   []float64
	histDist  []float64 // [t]: distance between t-1 and t (0 for t = 0)
	edgeRatio []float64

	gray      []byte
	prevEdges []byte // edges of the previous frame
	prevDil   []byte // dilated edges of the previous frame
	prevCount int

	// Live boundaries (Poll): the next frame count worth a decision, and
	// the boundary frame of the last transition handed out.
	nextPoll int
	lastLive int64
}

// New returns a detector for frames at fps.
func New(fps float64, o Options) *Detector {
	return &Detector{fps: fps, o: o.withDefaults(fps), lastLive: -1}
}

// ErrFrameSize is returned when frames change size mid-stream.
var ErrFrameSize = errors.New("scenes: frame size changed")

// Add takes the next frame (RGB24; a small downscale such as 160 px wide is
// plenty). It has the signature of a frames.Sink.
func (d *Detector) Add(f *frames.Frame) error {
	if f.Format != frames.RGB24 {
		return errors.New("scenes: frames must be RGB24")
	}
	if d.w == 0 {
		d.w, d.h = f.Width, f.Height
	} else if f.Width != d.w || f.Height != d.h {
		return ErrFrameSize
	}
	hsv, err := cv.RGBToHSV(f.Pix, f.Width, f.Height)
	if err != nil {
		return err
	}
	var hs hist
	n := f.Width * f.Height
	for i := range n {
		h, s, v := hsv[3*i], hsv[3*i+1], hsv[3*i+2]
		if s >= 40 && v >= 40 {
			hs[int(h)*hueBins/180]++
		} else {
			hs[hueBins]++
		}
		hs[hueBins+1+int(s)*satBins/256]++
		hs[hueBins+1+satBins+int(v)*valBins/256]++
	}
	for i := range hs {
		hs[i] /= float32(n)
	}
	d.gray = f.Gray(d.gray)
	var sum, sum2 float64
	for _, g := range d.gray {
		sum += float64(g)
		sum2 += float64(g) * float64(g)
	}
	mean := sum / float64(n)
	d.luma = append(d.luma, mean)
	d.lumaStd = append(d.lumaStd, math.Sqrt(max(0, sum2/float64(n)-mean*mean)))

	edges, err := cv.Canny(d.gray, f.Width, f.Height, 60, 140)
	if err != nil {
		return err
	}
	dil := dilate(edges, f.Width, f.Height, 2)
	count := countSet(edges)
	if t := len(d.hists); t == 0 {
		d.histDist = append(d.histDist, 0)
		d.edgeRatio = append(d.edgeRatio, 0)
	} else {
		d.histDist = append(d.histDist, histDistance(&d.hists[t-1], &hs))
		d.edgeRatio = append(d.edgeRatio, ecr(d.prevEdges, d.prevDil, d.prevCount, edges, dil, count))
	}
	d.hists = append(d.hists, hs)
	d.prevEdges, d.prevDil, d.prevCount = edges, dil, count
	return nil
}

// histDistance is 1 − intersection, averaged over the three histograms
// (each sums to 1), in [0, 1].
func histDistance(a, b *hist) float64 {
	var inter float64
	for i := range a {
		inter += float64(min(a[i], b[i]))
	}
	return 1 - inter/3
}

// ecr is the edge change ratio between two frames: the larger of the
// fraction of entering edges (new edges far from any old one) and of
// exiting edges.
func ecr(e0, d0 []byte, n0 int, e1, d1 []byte, n1 int) float64 {
	const few = 8 // fewer edge pixels than this: nothing to compare
	if n0 < few && n1 < few {
		return 0
	}
	if n0 < few || n1 < few {
		return 1
	}
	var in, out int
	for i := range e1 {
		if e1[i] != 0 && d0[i] == 0 {
			in++
		}
		if e0[i] != 0 && d1[i] == 0 {
			out++
		}
	}
	return max(float64(in)/float64(n1), float64(out)/float64(n0))
}

func countSet(b []byte) int {
	n := 0
	for _, v := range b {
		if v != 0 {
			n++
		}
	}
	return n
}

// dilate sets every pixel within Chebyshev distance r of a set pixel.
func dilate(src []byte, w, h, r int) []byte {
	tmp := make([]byte, len(src))
	for y := range h {
		row := src[y*w : (y+1)*w]
		for x, v := range row {
			if v == 0 {
				continue
			}
			for xx := max(0, x-r); xx <= min(w-1, x+r); xx++ {
				tmp[y*w+xx] = 255
			}
		}
	}
	dst := make([]byte, len(src))
	for y := range h {
		for x := range w {
			if tmp[y*w+x] == 0 {
				continue
			}
			for yy := max(0, y-r); yy <= min(h-1, y+r); yy++ {
				dst[yy*w+x] = 255
			}
		}
	}
	return dst
}

// score is the combined frame-to-frame score of frame t.
func (d *Detector) score(t int) float64 {
	return (1-d.o.EdgeWeight)*d.histDist[t] + d.o.EdgeWeight*d.edgeRatio[t]
}

// Boundary is the frame a transition's new scene starts at: a cut's
// frame, the middle of a gradual transition.
func (t Transition) Boundary() int64 {
	if t.Kind.Gradual() {
		return (t.Start + t.End + 1) / 2
	}
	return t.Start
}

// Poll returns the transitions that have become settled since the last
// call, in order, so they can be announced while decoding goes on. It runs
// the same decision as Finish on the frames added so far and keeps those
// ending at least Options.Settle frames before the newest frame: every
// rule looks at most that far ahead (a cut at the next frame, a fade or a
// dissolve at the end of its run), so a settled transition is also in
// Finish's result unless a gradual transition longer than Settle frames
// overlaps it. Decisions run once per second of video, and less often as
// the stream grows (every 2% of it), so polling after every frame costs
// O(frames) in all.
func (d *Detector) Poll() []Transition {
	n := len(d.hists)
	if n < d.nextPoll {
		return nil
	}
	d.nextPoll = n + max(int(math.Ceil(d.fps)), n/50)
	var out []Transition
	for _, t := range d.decide().Transitions {
		if b := t.Boundary(); b > d.lastLive && t.End+int64(d.o.Settle) < int64(n) {
			out = append(out, t)
			d.lastLive = b
		}
	}
	return out
}

// Finish decides on the frames added so far and returns the transitions
// and scenes.
func (d *Detector) Finish() Result { return d.decide() }

func (d *Detector) decide() Result {
	n := len(d.hists)
	res := Result{FPS: d.fps, Frames: int64(n)}
	if n == 0 {
		return res
	}
	scores := make([]float64, n)
	for t := 1; t < n; t++ {
		scores[t] = d.score(t)
	}
	fades := d.fades()
	inGradual := make([]bool, n)
	for _, f := range fades {
		for t := max(0, f.Start-1); t <= min(int64(n-1), f.End+1); t++ {
			inGradual[t] = true
		}
	}
	black := func(t int) bool { return d.luma[t] < d.o.BlackLuma }

	isCut := make([]bool, n)
	thrHigh := make([]float64, n)
	thrLow := make([]float64, n)
	window := make([]float64, 0, d.o.Window)
	var cuts []Transition
	for t := 1; t < n; t++ {
		window = window[:0]
		for u := max(1, t-d.o.Window); u < t; u++ {
			if !isCut[u] && !inGradual[u] {
				window = append(window, scores[u])
			}
		}
		med, mad := 0.0, 0.0
		if len(window) > 0 {
			med, mad = medianMAD(window)
		}
		// Floor on the MAD so a perfectly static shot does not make any
		// flicker a cut.
		mad = max(mad, 0.02)
		thrHigh[t] = max(med+d.o.K*mad, d.o.MinScore)
		thrLow[t] = max(med+3*mad, d.o.MinScore/3)
		s := scores[t]
		if s <= thrHigh[t] || inGradual[t] || (black(t) && black(t-1)) {
			continue
		}
		if s < scores[t-1] || (t+1 < n && s < scores[t+1]) {
			continue // not the peak: the cut is next door
		}
		if d.histDist[t] < 0.1 {
			continue // edges alone (noise, motion) never make a cut
		}
		isCut[t] = true
		cuts = append(cuts, Transition{Kind: Cut, Start: int64(t), End: int64(t), Score: s / thrHigh[t]})
	}
	dissolves := d.dissolves(scores, thrLow, isCut, inGradual)

	all := append(append(append([]Transition{}, cuts...), fades...), dissolves...)
	slices.SortFunc(all, func(a, b Transition) int { return int(a.Start - b.Start) })
	for i := range all {
		all[i].StartTime = float64(all[i].Start) / d.fps
		all[i].EndTime = float64(all[i].End) / d.fps
		all[i].BoundaryTime = float64(all[i].Boundary()) / d.fps
	}
	res.Transitions = all
	res.Scenes = d.scenes(all, scores)
	return res
}

// fades finds fades to and from black on the mean-luma trajectory.
func (d *Detector) fades() []Transition {
	n := len(d.luma)
	isBlack := func(t int) bool { return d.luma[t] < d.o.BlackLuma && d.lumaStd[t] < 16 }
	const (
		eps  = 0.25 // minimum per-frame luma change of a fade
		tail = 0.05 // the same, inside the black run
	)
	var out []Transition
	for t := 0; t < n; {
		if !isBlack(t) {
			t++
			continue
		}
		b0 := t
		for t < n && isBlack(t) {
			t++
		}
		b1 := t - 1
		// Fade out: monotonic fall into b0.
		s := b0
		for s > 0 && d.luma[s-1] > d.luma[s]+eps {
			s--
		}
		// The fall goes on a little inside the black run.
		be := b0
		for be < b1 && d.luma[be] > d.luma[be+1]+tail {
			be++
		}
		if b0-s >= d.o.MinGradual {
			out = append(out, Transition{Kind: FadeOut, Start: int64(s), End: int64(be), Score: d.luma[s] - d.luma[be]})
		}
		// Fade in: monotonic rise out of b1.
		e := b1
		for e+1 < n && d.luma[e+1] > d.luma[e]+eps {
			e++
		}
		bs := b1
		for bs > b0 && d.luma[bs-1]+tail < d.luma[bs] {
			bs--
		}
		if e-b1 >= d.o.MinGradual {
			out = append(out, Transition{Kind: FadeIn, Start: int64(bs), End: int64(e), Score: d.luma[e] - d.luma[bs]})
		}
	}
	return out
}

// dissolves applies twin comparison: a run of scores above the low
// threshold whose end frames differ like a cut.
func (d *Detector) dissolves(scores, thrLow []float64, isCut, inGradual []bool) []Transition {
	n := len(scores)
	var out []Transition
	for t := 1; t < n; t++ {
		if scores[t] <= thrLow[t] || isCut[t] || inGradual[t] {
			continue
		}
		s := t - 1
		e := t
		for e+1 < n && scores[e+1] > thrLow[t] && !isCut[e+1] && !inGradual[e+1] {
			e++
		}
		if e-s >= d.o.MinGradual {
			if dist := histDistance(&d.hists[s], &d.hists[e]); dist > max(d.o.MinScore, 0.35) {
				out = append(out, Transition{Kind: Dissolve, Start: int64(s), End: int64(e), Score: dist})
			}
		}
		t = e
	}
	return out
}

// scenes splits [0, n) at each transition (a cut at its frame, a gradual
// transition at its middle) and summarises each part.
func (d *Detector) scenes(ts []Transition, scores []float64) []Scene {
	n := int64(len(d.hists))
	bounds := []int64{0}
	for _, t := range ts {
		b := t.Boundary()
		if b > bounds[len(bounds)-1] && b < n {
			bounds = append(bounds, b)
		}
	}
	bounds = append(bounds, n)
	var out []Scene
	for i := 0; i+1 < len(bounds); i++ {
		s, e := bounds[i], bounds[i+1]
		var mean hist
		var luma, act float64
		for t := s; t < e; t++ {
			for j := range mean {
				mean[j] += d.hists[t][j] / float32(e-s)
			}
			luma += d.luma[t]
			if t > s {
				act += scores[t]
			}
		}
		key, best := s, math.Inf(1)
		for t := s; t < e; t++ {
			if dist := histDistance(&d.hists[t], &mean); dist < best {
				key, best = t, dist
			}
		}
		sc := Scene{Start: s, End: e, StartTime: float64(s) / d.fps, EndTime: float64(e) / d.fps,
			Keyframe: key, MeanLuma: luma / float64(e-s) / 255}
		if e-s > 1 {
			sc.Activity = act / float64(e-s-1)
		}
		out = append(out, sc)
	}
	return out
}

// medianMAD returns the median and the median absolute deviation of xs
// (which it reorders).
func medianMAD(xs []float64) (float64, float64) {
	med := median(xs)
	dev := make([]float64, len(xs))
	for i, x := range xs {
		dev[i] = math.Abs(x - med)
	}
	return med, median(dev)
}

func median(xs []float64) float64 {
	slices.Sort(xs)
	m := len(xs) / 2
	if len(xs)%2 == 1 {
		return xs[m]
	}
	return (xs[m-1] + xs[m]) / 2
}
