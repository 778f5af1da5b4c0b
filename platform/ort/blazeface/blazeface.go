package blazeface

import (
	"errors"
	"fmt"
	"image"
	"image/draw"
	"math"
	"slices"
	"sync"

	"github.com/clipmesh/clipmesh/platform/ort"
)

// Keypoint indices in Face.Keypoints. Right and left are the person's own:
// the right eye appears on the left of an unmirrored photo.
const (
	RightEye = iota
	LeftEye
	Nose
	Mouth
	RightEar
	LeftEar
)

// Defaults of MediaPipe's face detection graph.
const (
	DefaultMinScore       = 0.75 // sigmoid score a detection must reach
	DefaultMinSuppression = 0.3  // IoU above which detections merge
)

// Point is a position in pixels of the image given to Detect.
type Point struct{ X, Y float64 }

// Rect is a box in pixels of the image given to Detect.
type Rect struct{ Min, Max Point }

// Contains says whether p is inside r.
func (r Rect) Contains(p Point) bool {
	return p.X >= r.Min.X && p.X <= r.Max.X && p.Y >= r.Min.Y && p.Y <= r.Max.Y
}

// Face is one detected face.
type Face struct {
	// Box bounds the face (forehead to chin, roughly ear to ear).
	Box Rect
	// Keypoints are indexed by RightEye, LeftEye, Nose, Mouth, RightEar,
	// LeftEar.
	Keypoints [6]Point
	// Score is the detector's confidence in [0, 1].
	Score float32
}

const (
	numAnchors = 896 // 16x16 cells x 2 + 8x8 cells x 6, for both models
	numSmall   = 512 // anchors of the 16x16 grid: the first output pair
	numCoords  = 16  // box (cx, cy, w, h) + 6 keypoints (x, y)
)

// Detector runs one BlazeFace model. Its methods are safe for concurrent use
// (calls run one at a time); set MinScore and MinSuppression before use.
type Detector struct {
	// MinScore is the score threshold (DefaultMinScore).
	MinScore float32
	// MinSuppression is the IoU threshold of the weighted NMS
	// (DefaultMinSuppression).
	MinSuppression float64

	mu      sync.Mutex
	s       *ort.Session
	size    int       // input side: 128 (front) or 256 (back)
	input   []float32 // the session's [1, size, size, 3] input tensor
	anchors []anchor
	rgba    *image.RGBA // conversion buffer, reused
	scores  []float32   // 896 joined logits, reused
	boxes   []float32   // 896 x 16 joined raw boxes, reused
}

// New loads a BlazeFace model (models.Path(dir, "blazeface-front") or
// "blazeface-back"); its input size is read from the model. ort.Init must
// have been called.
func New(path string, opts ort.Options) (*Detector, error) {
	ins, err := ort.ModelInputs(path)
	if err != nil {
		return nil, err
	}
	shape := ins["input:0"]
	if len(shape) != 4 || shape[1] != shape[2] || shape[3] != 3 || (shape[1] != 128 && shape[1] != 256) {
		return nil, fmt.Errorf("blazeface: %s: input:0 has shape %v, want [1 128 128 3] or [1 256 256 3]", path, shape)
	}
	size := int(shape[1])
	s, err := ort.NewSession(path, []string{"input:0"},
		[]string{"Identity:0", "Identity_1:0", "Identity_2:0", "Identity_3:0"}, opts)
	if err != nil {
		return nil, err
	}
	in, err := s.Float32Input("input:0", 1, int64(size), int64(size), 3)
	if err != nil {
		_ = s.Close()
		return nil, err
	}
	return &Detector{
		MinScore:       DefaultMinScore,
		MinSuppression: DefaultMinSuppression,
		s:              s,
		size:           size,
		input:          in,
		anchors:        anchors(size),
		scores:         make([]float32, numAnchors),
		boxes:          make([]float32, numAnchors*numCoords),
	}, nil
}

// Provider is the execution provider running the model ("cpu" or "cuda").
func (d *Detector) Provider() string { return d.s.Provider() }

// InputSize is the side of the model's square input (128 or 256).
func (d *Detector) InputSize() int { return d.size }

// Detect finds the faces in img, best first. The image is letterboxed
// (scaled to fit, centred, black borders) into the model's square input, as
// MediaPipe does, so faces keep their aspect.
func (d *Detector) Detect(img image.Image) ([]Face, error) {
	b := img.Bounds()
	if b.Empty() {
		return nil, errors.New("blazeface: empty image")
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	lb := d.letterbox(img)
	if err := d.s.Run(); err != nil {
		return nil, err
	}
	// Join the two output pairs (16x16 grid, then 8x8 grid) in anchor order.
	for i, name := range []string{"Identity:0", "Identity_1:0", "Identity_2:0", "Identity_3:0"} {
		out, _, err := d.s.Float32Output(name)
		if err != nil {
			return nil, err
		}
		dst := [...][]float32{d.scores[:numSmall], d.scores[numSmall:], d.boxes[:numSmall*numCoords], d.boxes[numSmall*numCoords:]}[i]
		if len(out) != len(dst) {
			return nil, fmt.Errorf("blazeface: output %s has %d values, want %d", name, len(out), len(dst))
		}
		copy(dst, out)
	}
	faces := weightedNMS(decode(d.scores, d.boxes, d.anchors, d.size, d.MinScore), d.MinSuppression)
	// From [0,1] of the letterboxed square to pixels of img.
	toImage := func(p Point) Point {
		return Point{
			X: (p.X*float64(d.size)-lb.offX)/lb.scale + float64(b.Min.X),
			Y: (p.Y*float64(d.size)-lb.offY)/lb.scale + float64(b.Min.Y),
		}
	}
	for i := range faces {
		f := &faces[i]
		f.Box = Rect{toImage(f.Box.Min), toImage(f.Box.Max)}
		for k := range f.Keypoints {
			f.Keypoints[k] = toImage(f.Keypoints[k])
		}
	}
	return faces, nil
}

// Close releases the model.
func (d *Detector) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.s.Close()
}

type letterbox struct{ scale, offX, offY float64 }

// letterbox fills the input tensor with img scaled to fit the square,
// centred, NHWC RGB in [-1, 1] with black (-1) borders. Downscaling averages
// each output pixel's footprint (a box filter), so a large frame does not
// alias into the 128-pixel input.
func (d *Detector) letterbox(img image.Image) letterbox {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	rgba, ok := img.(*image.RGBA)
	if !ok {
		if d.rgba == nil || d.rgba.Rect.Dx() != w || d.rgba.Rect.Dy() != h {
			d.rgba = image.NewRGBA(image.Rect(0, 0, w, h))
		}
		draw.Draw(d.rgba, d.rgba.Rect, img, b.Min, draw.Src)
		rgba = d.rgba
	}
	n := float64(d.size)
	scale := n / float64(max(w, h))
	lb := letterbox{scale: scale, offX: (n - float64(w)*scale) / 2, offY: (n - float64(h)*scale) / 2}
	// span is the range of source pixels under output pixel i (along an axis
	// of length l), or ok false in the border.
	span := func(i int, off float64, l int) (lo, hi int, ok bool) {
		a := (float64(i) - off) / scale
		z := (float64(i) + 1 - off) / scale
		if z <= 0 || a >= float64(l) {
			return 0, 0, false
		}
		lo, hi = max(0, int(math.Floor(a))), min(l, int(math.Ceil(z)))
		if hi-lo > 1 && z-a < 1 { // upscaling: nearest pixel
			c := min(l-1, int((a+z)/2))
			lo, hi = c, c+1
		}
		return lo, hi, hi > lo
	}
	for y := range d.size {
		y0, y1, oky := span(y, lb.offY, h)
		for x := range d.size {
			px := d.input[(y*d.size+x)*3 : (y*d.size+x)*3+3]
			x0, x1, okx := span(x, lb.offX, w)
			if !oky || !okx {
				px[0], px[1], px[2] = -1, -1, -1
				continue
			}
			var r, g, bl, cnt uint32
			for sy := y0; sy < y1; sy++ {
				row := rgba.Pix[sy*rgba.Stride:] // sx, sy are relative to rgba.Rect.Min
				for sx := x0; sx < x1; sx++ {
					p := row[sx*4 : sx*4+3]
					r, g, bl, cnt = r+uint32(p[0]), g+uint32(p[1]), bl+uint32(p[2]), cnt+1
				}
			}
			k := 2 / (255 * float32(cnt))
			px[0], px[1], px[2] = float32(r)*k-1, float32(g)*k-1, float32(bl)*k-1
		}
	}
	return lb
}

// anchor is an SSD anchor centre in [0,1] of the input square (MediaPipe's
// face detection anchors have fixed size 1, so only centres matter).
type anchor struct{ x, y float64 }

// anchors generates MediaPipe's SsdAnchorsCalculator anchors for BlazeFace:
// four layers with strides size/16 and size/8 (three times), one aspect
// ratio plus one interpolated scale each, anchor offset 0.5, fixed size.
// Layers of equal stride share a grid, so there are 2 anchors per cell of
// the 16x16 grid and 6 per cell of the 8x8 grid: 896, in row-major cell
// order, which is the order of the model's outputs.
func anchors(size int) []anchor {
	strides := []int{size / 16, size / 8, size / 8, size / 8}
	var out []anchor
	for i := 0; i < len(strides); {
		j := i
		for j < len(strides) && strides[j] == strides[i] {
			j++
		}
		perCell := 2 * (j - i)
		grid := int(math.Ceil(float64(size) / float64(strides[i])))
		for y := range grid {
			for x := range grid {
				for range perCell {
					out = append(out, anchor{(float64(x) + 0.5) / float64(grid), (float64(y) + 0.5) / float64(grid)})
				}
			}
		}
		i = j
	}
	return out
}

// decode turns raw logits and boxes into faces in [0,1] coordinates of the
// input square, keeping scores of at least minScore.
func decode(scores, boxes []float32, anchors []anchor, size int, minScore float32) []Face {
	var faces []Face
	n := float64(size)
	for i, a := range anchors {
		// Logits are clipped as MediaPipe does (score_clipping_thresh 100).
		s := float32(1 / (1 + math.Exp(-math.Max(-100, math.Min(100, float64(scores[i]))))))
		if s < minScore {
			continue
		}
		r := boxes[i*numCoords : (i+1)*numCoords]
		cx, cy := float64(r[0])/n+a.x, float64(r[1])/n+a.y
		w, h := float64(r[2])/n, float64(r[3])/n
		f := Face{Score: s, Box: Rect{Point{cx - w/2, cy - h/2}, Point{cx + w/2, cy + h/2}}}
		for k := range f.Keypoints {
			f.Keypoints[k] = Point{float64(r[4+2*k])/n + a.x, float64(r[5+2*k])/n + a.y}
		}
		faces = append(faces, f)
	}
	return faces
}

func iou(a, b Rect) float64 {
	iw := math.Min(a.Max.X, b.Max.X) - math.Max(a.Min.X, b.Min.X)
	ih := math.Min(a.Max.Y, b.Max.Y) - math.Max(a.Min.Y, b.Min.Y)
	if iw <= 0 || ih <= 0 {
		return 0
	}
	inter := iw * ih
	area := func(r Rect) float64 { return (r.Max.X - r.Min.X) * (r.Max.Y - r.Min.Y) }
	return inter / (area(a) + area(b) - inter)
}

// weightedNMS is MediaPipe's WEIGHTED non-maximum suppression: the best
// remaining detection absorbs every detection overlapping it by more than
// minIoU, and the merged box and keypoints are their score-weighted mean
// (steadier than keeping only the best anchor); the score stays the best's.
func weightedNMS(faces []Face, minIoU float64) []Face {
	slices.SortStableFunc(faces, func(a, b Face) int {
		switch {
		case a.Score > b.Score:
			return -1
		case a.Score < b.Score:
			return 1
		}
		return 0
	})
	var out []Face
	for len(faces) > 0 {
		top := faces[0]
		var merged Face
		var total float64
		rest := faces[:0:0]
		for i, f := range faces {
			if i > 0 && iou(top.Box, f.Box) <= minIoU {
				rest = append(rest, f)
				continue
			}
			w := float64(f.Score)
			total += w
			merged.Box.Min.X += w * f.Box.Min.X
			merged.Box.Min.Y += w * f.Box.Min.Y
			merged.Box.Max.X += w * f.Box.Max.X
			merged.Box.Max.Y += w * f.Box.Max.Y
			for k := range merged.Keypoints {
				merged.Keypoints[k].X += w * f.Keypoints[k].X
				merged.Keypoints[k].Y += w * f.Keypoints[k].Y
			}
		}
		scale := func(p *Point) { p.X /= total; p.Y /= total }
		scale(&merged.Box.Min)
		scale(&merged.Box.Max)
		for k := range merged.Keypoints {
			scale(&merged.Keypoints[k])
		}
		merged.Score = top.Score
		out = append(out, merged)
		faces = rest
	}
	return out
}
