package faces

import (
	"math"
	"sort"

	"github.com/clipmesh/clipmesh/platform/ort/blazeface"
)

// Detection is one face found in one sampled frame, in pixels of a
// Width×Height frame.
type Detection struct {
	Index int64
	Time  float64
	Face  blazeface.Face
	// Extra is what the other models said about this face.
	Extra
}

// Extra is what the models beyond the detector said about one detection;
// the zero value is "not checked".
type Extra struct {
	// Eyes is the eye cascade's verdict (EyesUnchecked without one).
	Eyes EyeCheck
	// Emotion holds the expression probabilities when HasEmotion.
	Emotion    [7]float32
	HasEmotion bool
	// Openness is the mean lid gap over eye width of both eyes and
	// EyeContact whether the person looks at the camera, when HasMesh.
	Openness   float64
	EyeContact bool
	HasMesh    bool
}

// EyesOpenThreshold is the openness (lid gap over eye width) above which
// eyes count as open: about 0.25-0.35 open, under 0.1 closed.
const EyesOpenThreshold = 0.15

// Track is a face followed across sampled frames within one scene.
type Track struct {
	ID                  int
	Scene               int
	Start, End          float64
	MeanSizeFraction    float64
	ScreenTime          float64
	Score               float64
	Detections          int
	EyesVisibleFraction float64
	// EyesConfirmedFraction is the share of the detections checked by the
	// eye cascade (EyesChecked of them) where it confirmed both eyes.
	EyesConfirmedFraction float64
	EyesChecked           int
	// Emotion is the mean expression probability over the detections
	// with one (EmotionSamples of them).
	Emotion        [7]float32
	EmotionSamples int
	// EyesOpenFraction and EyeContactFraction are shares of the
	// MeshSamples detections the face mesh analysed.
	EyesOpenFraction, EyeContactFraction float64
	MeshSamples                          int
	// Samples are the detections themselves, in time order.
	Samples               []Detection
	CenterX, CenterY      float64
	FirstIndex, LastIndex int64
}

// Options tunes the tracker; zero fields take the defaults.
type Options struct {
	// MinIoU is the overlap a detection needs to continue a track (0.3).
	MinIoU float64
	// MaxGap is the longest time in seconds a track may go unseen (1).
	MaxGap float64
}

// Tracker links detections into tracks; it is not safe for concurrent use.
type Tracker struct {
	o        Options
	w, h     float64
	interval float64
	next     int
	open     []*raw
	all      []*raw
}

type raw struct {
	id   int
	last Detection
	dets []Detection
}

// NewTracker returns a tracker for w×h frames sampled every interval
// seconds (the screen time of one detection).
func NewTracker(w, h int, interval float64, o Options) *Tracker {
	if o.MinIoU <= 0 {
		o.MinIoU = 0.3
	}
	if o.MaxGap <= 0 {
		o.MaxGap = 1
	}
	return &Tracker{o: o, w: float64(w), h: float64(h), interval: interval}
}

// Add takes the faces found in one sampled frame.
func (t *Tracker) Add(idx int64, tm float64, faces []blazeface.Face) {
	t.AddChecked(idx, tm, faces, nil)
}

// AddChecked is Add with what the other models said about each face
// (extra[i] for faces[i]; nil or short: not checked).
func (t *Tracker) AddChecked(idx int64, tm float64, faces []blazeface.Face, extra []Extra) {
	eyeOf := func(i int) Extra {
		if i < len(extra) {
			return extra[i]
		}
		return Extra{}
	}
	alive := t.open[:0]
	for _, r := range t.open {
		if tm-r.last.Time <= t.o.MaxGap+1e-9 {
			alive = append(alive, r)
		}
	}
	t.open = alive
	type pair struct {
		iou  float64
		r, f int
	}
	var pairs []pair
	for ri, r := range t.open {
		for fi, f := range faces {
			if v := IoU(r.last.Face.Box, f.Box); v >= t.o.MinIoU {
				pairs = append(pairs, pair{v, ri, fi})
			}
		}
	}
	sort.Slice(pairs, func(i, j int) bool { return pairs[i].iou > pairs[j].iou })
	usedR, usedF := map[int]bool{}, map[int]bool{}
	for _, p := range pairs {
		if usedR[p.r] || usedF[p.f] {
			continue
		}
		usedR[p.r], usedF[p.f] = true, true
		d := Detection{Index: idx, Time: tm, Face: faces[p.f], Extra: eyeOf(p.f)}
		r := t.open[p.r]
		r.last, r.dets = d, append(r.dets, d)
	}
	for fi, f := range faces {
		if usedF[fi] {
			continue
		}
		d := Detection{Index: idx, Time: tm, Face: f, Extra: eyeOf(fi)}
		r := &raw{id: t.next, last: d, dets: []Detection{d}}
		t.next++
		t.open = append(t.open, r)
		t.all = append(t.all, r)
	}
}

// Fraction is a box's area as a fraction of the frame's.
func (t *Tracker) Fraction(b blazeface.Rect) float64 {
	if t.w <= 0 || t.h <= 0 {
		return 0
	}
	w := math.Max(0, math.Min(b.Max.X, t.w)-math.Max(b.Min.X, 0))
	h := math.Max(0, math.Min(b.Max.Y, t.h)-math.Max(b.Min.Y, 0))
	return w * h / (t.w * t.h)
}

// Finish splits the tracks at the scene starts (frame indices, ascending,
// the first 0) and summarises them, ordered by first appearance.
func (t *Tracker) Finish(sceneStarts []int64) []Track {
	sceneOf := func(idx int64) int {
		return max(0, sort.Search(len(sceneStarts), func(i int) bool { return sceneStarts[i] > idx })-1)
	}
	var out []Track
	for _, r := range t.all {
		var cur []Detection
		flush := func() {
			if len(cur) > 0 {
				out = append(out, t.summary(cur, sceneOf(cur[0].Index)))
			}
			cur = nil
		}
		for _, d := range r.dets {
			if len(cur) > 0 && sceneOf(d.Index) != sceneOf(cur[0].Index) {
				flush()
			}
			cur = append(cur, d)
		}
		flush()
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].FirstIndex < out[j].FirstIndex })
	for i := range out {
		out[i].ID = i + 1
	}
	return out
}

func (t *Tracker) summary(ds []Detection, scene int) Track {
	tr := Track{Scene: scene, Start: ds[0].Time, End: ds[len(ds)-1].Time, Detections: len(ds),
		FirstIndex: ds[0].Index, LastIndex: ds[len(ds)-1].Index, ScreenTime: float64(len(ds)) * t.interval}
	eyes := 0
	for _, d := range ds {
		f := d.Face
		tr.MeanSizeFraction += t.Fraction(f.Box)
		tr.Score += float64(f.Score)
		tr.CenterX += (f.Box.Min.X + f.Box.Max.X) / 2 / t.w
		tr.CenterY += (f.Box.Min.Y + f.Box.Max.Y) / 2 / t.h
		if EyesVisible(f) {
			eyes++
		}
		switch d.Eyes {
		case EyesConfirmed:
			tr.EyesChecked++
			tr.EyesConfirmedFraction++
		case EyesNotFound:
			tr.EyesChecked++
		}
		if d.HasEmotion {
			tr.EmotionSamples++
			for k, p := range d.Emotion {
				tr.Emotion[k] += p
			}
		}
		if d.HasMesh {
			tr.MeshSamples++
			if d.Openness >= EyesOpenThreshold {
				tr.EyesOpenFraction++
			}
			if d.EyeContact {
				tr.EyeContactFraction++
			}
		}
	}
	n := float64(len(ds))
	tr.MeanSizeFraction /= n
	tr.Score /= n
	tr.CenterX /= n
	tr.CenterY /= n
	tr.EyesVisibleFraction = float64(eyes) / n
	if tr.EyesChecked > 0 {
		tr.EyesConfirmedFraction /= float64(tr.EyesChecked)
	}
	if tr.EmotionSamples > 0 {
		for k := range tr.Emotion {
			tr.Emotion[k] /= float32(tr.EmotionSamples)
		}
	}
	if tr.MeshSamples > 0 {
		tr.EyesOpenFraction /= float64(tr.MeshSamples)
		tr.EyeContactFraction /= float64(tr.MeshSamples)
	}
	tr.Samples = ds
	return tr
}

// EyesVisible reports whether both eye keypoints lie inside the box, right
// eye left of the left eye (a frontal or three-quarter face).
func EyesVisible(f blazeface.Face) bool {
	re, le := f.Keypoints[blazeface.RightEye], f.Keypoints[blazeface.LeftEye]
	return f.Box.Contains(re) && f.Box.Contains(le) && re.X < le.X
}

// IoU is the intersection over union of two boxes.
func IoU(a, b blazeface.Rect) float64 {
	ix := math.Max(0, math.Min(a.Max.X, b.Max.X)-math.Max(a.Min.X, b.Min.X))
	iy := math.Max(0, math.Min(a.Max.Y, b.Max.Y)-math.Max(a.Min.Y, b.Min.Y))
	in := ix * iy
	u := (a.Max.X-a.Min.X)*(a.Max.Y-a.Min.Y) + (b.Max.X-b.Min.X)*(b.Max.Y-b.Min.Y) - in
	if u <= 0 {
		return 0
	}
	return in / u
}
