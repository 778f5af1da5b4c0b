package nanodet

import (
	"errors"
	"fmt"
	"image"
	"math"
	"slices"
	"sync"

	"github.com/clipmesh/clipmesh/platform/ort"
	"github.com/clipmesh/clipmesh/platform/ort/internal/imgutil"
)

// ModelName is the manifest entry of the model.
const ModelName = "human-nanodet"

// Person is the COCO class index of a person.
const Person = 0

// Labels are the 80 COCO class names, by class index.
var Labels = [80]string{"person", "bicycle", "car", "motorcycle", "airplane", "bus", "train", "truck", "boat",
	"traffic light", "fire hydrant", "stop sign", "parking meter", "bench", "bird", "cat", "dog", "horse",
	"sheep", "cow", "elephant", "bear", "zebra", "giraffe", "backpack", "umbrella", "handbag", "tie",
	"suitcase", "frisbee", "skis", "snowboard", "sports ball", "kite", "baseball bat", "baseball glove",
	"skateboard", "surfboard", "tennis racket", "bottle", "wine glass", "cup", "fork", "knife", "spoon",
	"bowl", "banana", "apple", "sandwich", "orange", "broccoli", "carrot", "hot dog", "pizza", "donut",
	"cake", "chair", "couch", "potted plant", "bed", "dining table", "toilet", "tv", "laptop", "mouse",
	"remote", "keyboard", "cell phone", "microwave", "oven", "toaster", "sink", "refrigerator", "book",
	"clock", "vase", "scissors", "teddy bear", "hair drier", "toothbrush"}

// Defaults.
const (
	DefaultMinScore = 0.35 // class score a detection must reach
	DefaultMaxIoU   = 0.5  // IoU above which a weaker box of the same class is dropped
)

const (
	size    = 416 // input side
	bins    = 11  // distance bins per box side (reg_max 10)
	classes = 80
)

// levels are the output heads: grid side, stride and output names.
var levels = []struct {
	grid          int
	scores, boxes string
}{
	{52, "Identity:0", "Identity_3:0"},
	{26, "Identity_1:0", "Identity_4:0"},
	{13, "Identity_2:0", "Identity_5:0"},
}

// Box is a rectangle in pixels of the image given to Detect.
type Box struct{ X0, Y0, X1, Y1 float64 }

// Object is one detection.
type Object struct {
	Class int // index into Labels
	Label string
	Score float32
	Box   Box
}

// Detector runs NanoDet. Its methods are safe for concurrent use
// (inferences run one at a time); set MinScore and MaxIoU before use.
type Detector struct {
	MinScore float32
	MaxIoU   float64

	mu   sync.Mutex
	s    *ort.Session
	in   []float32
	rgba *image.RGBA
}

// New loads the model at path (models.Path(dir, ModelName)). ort.Init must
// have been called.
func New(path string, opts ort.Options) (*Detector, error) {
	outs := []string{}
	for _, l := range levels {
		outs = append(outs, l.scores)
	}
	for _, l := range levels {
		outs = append(outs, l.boxes)
	}
	s, err := ort.NewSession(path, []string{"input_1:0"}, outs, opts)
	if err != nil {
		return nil, err
	}
	in, err := s.Float32Input("input_1:0", 1, 3, size, size)
	if err != nil {
		_ = s.Close()
		return nil, err
	}
	return &Detector{MinScore: DefaultMinScore, MaxIoU: DefaultMaxIoU, s: s, in: in}, nil
}

// Provider is the execution provider running the model ("cpu" or "cuda").
func (d *Detector) Provider() string { return d.s.Provider() }

// Detect finds the objects in img, best first. The image is stretched to
// the model's square input (as NanoDet does), and boxes are
// mapped back to img's pixels.
func (d *Detector) Detect(img image.Image) ([]Object, error) {
	b := img.Bounds()
	if b.Empty() {
		return nil, errors.New("nanodet: empty image")
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	src := imgutil.RGBA(img, d.rgba)
	if _, ok := img.(*image.RGBA); !ok {
		d.rgba = src
	}
	plane := size * size
	// NanoDet's training normalisation: BGR planes, (p - mean) / std. (Its
	// TF.js port was fed RGB / 255 in human; this finds people with the
	// same confidence and names objects right: coffee.png's cup is a cup.)
	imgutil.Sample(src, imgutil.FromRectangle(b), size, size, func(i int, r, g, bl float32) {
		d.in[i], d.in[plane+i], d.in[2*plane+i] = (bl-103.53)/57.375, (g-116.28)/57.12, (r-123.675)/58.395
	})
	if err := d.s.Run(); err != nil {
		return nil, err
	}
	sx, sy := float64(b.Dx())/size, float64(b.Dy())/size
	var objs []Object
	for _, l := range levels {
		scores, _, err := d.s.Float32Output(l.scores)
		if err != nil {
			return nil, err
		}
		dists, _, err := d.s.Float32Output(l.boxes)
		if err != nil {
			return nil, err
		}
		cells := l.grid * l.grid
		if len(scores) != cells*classes || len(dists) != cells*4*bins {
			return nil, fmt.Errorf("nanodet: outputs %s/%s have %d/%d values, want %d/%d", l.scores, l.boxes, len(scores), len(dists), cells*classes, cells*4*bins)
		}
		stride := float64(size) / float64(l.grid)
		for c := range cells {
			row := scores[c*classes : (c+1)*classes]
			best := 0
			for k := range row {
				if row[k] > row[best] {
					best = k
				}
			}
			if row[best] < d.MinScore {
				continue
			}
			cx := (float64(c%l.grid) + 0.5) * stride
			cy := (float64(c/l.grid) + 0.5) * stride
			var side [4]float64 // left, top, right, bottom in input pixels
			for k := range side {
				side[k] = expectation(dists[(c*4+k)*bins:(c*4+k+1)*bins]) * stride
			}
			box := Box{
				X0: clamp(cx-side[0], size)*sx + float64(b.Min.X),
				Y0: clamp(cy-side[1], size)*sy + float64(b.Min.Y),
				X1: clamp(cx+side[2], size)*sx + float64(b.Min.X),
				Y1: clamp(cy+side[3], size)*sy + float64(b.Min.Y),
			}
			objs = append(objs, Object{Class: best, Label: Labels[best], Score: row[best], Box: box})
		}
	}
	return nms(objs, d.MaxIoU), nil
}

// expectation is the distance a side's bins predict (generalized focal
// loss): the softmax-weighted mean of the bin indices.
func expectation(logits []float32) float64 {
	m := slices.Max(logits)
	var sum, mean float64
	for i, v := range logits {
		e := math.Exp(float64(v - m))
		sum += e
		mean += e * float64(i)
	}
	return mean / sum
}

func clamp(v, hi float64) float64 { return math.Max(0, math.Min(hi, v)) }

func iou(a, b Box) float64 {
	iw := math.Min(a.X1, b.X1) - math.Max(a.X0, b.X0)
	ih := math.Min(a.Y1, b.Y1) - math.Max(a.Y0, b.Y0)
	if iw <= 0 || ih <= 0 {
		return 0
	}
	inter := iw * ih
	area := func(r Box) float64 { return (r.X1 - r.X0) * (r.Y1 - r.Y0) }
	return inter / (area(a) + area(b) - inter)
}

// nms keeps, per class, the best boxes that overlap no better box by more
// than maxIoU, best first.
func nms(objs []Object, maxIoU float64) []Object {
	slices.SortStableFunc(objs, func(a, b Object) int {
		switch {
		case a.Score > b.Score:
			return -1
		case a.Score < b.Score:
			return 1
		}
		return 0
	})
	var out []Object
	for _, o := range objs {
		keep := true
		for _, k := range out {
			if k.Class == o.Class && iou(k.Box, o.Box) > maxIoU {
				keep = false
				break
			}
		}
		if keep {
			out = append(out, o)
		}
	}
	return out
}

// Close releases the model.
func (d *Detector) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.s.Close()
}
