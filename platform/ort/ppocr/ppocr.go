package ppocr

import (
	"bufio"
	"errors"
	"fmt"
	"image"
	"math"
	"os"
	"slices"
	"strings"
	"sync"

	"github.com/clipmesh/clipmesh/platform/ort"
	"github.com/clipmesh/clipmesh/platform/ort/internal/imgutil"
)

// Manifest entries of the models and the dictionary.
const (
	DetModelName = "ppocr-det"
	RecModelName = "ppocr-rec"
	KeysName     = "ppocr-keys"
)

// Defaults of PaddleOCR's DB post-processing and of the detector's input.
const (
	DefaultThreshold = 0.3 // probability a text pixel must reach
	DefaultBoxScore  = 0.6 // mean probability over a region to keep it
	DefaultUnclip    = 1.5 // how far a region's box is grown (PaddleOCR's unclip_ratio)
	DefaultMaxSide   = 960 // the detector's input is scaled to fit this
	recHeight        = 48
	maxRecWidth      = 1600 // a wider line is squeezed to this width
)

// Line is one line of text read from an image.
type Line struct {
	// Text is the recognised text (may be empty when nothing was legible).
	Text string
	// Box is the line's bounding box in pixels of the image.
	Box image.Rectangle
	// BoxScore is the detector's mean text probability over the region.
	BoxScore float32
	// Confidence is the recogniser's mean probability of the kept
	// characters, in [0, 1].
	Confidence float32
}

// Reader runs detection and recognition. Its methods are safe for
// concurrent use (inferences run one at a time); set the thresholds
// before use.
type Reader struct {
	Threshold, BoxScore, Unclip float32
	MaxSide                     int
	// Batch is the number of lines recognised per inference: 1 on the CPU,
	// where batching costs more CPU per line (bench/models: 27 against 22
	// ms, the padded batch tensors outgrow the cache), 8 on CUDA.
	Batch int

	mu   sync.Mutex
	det  *ort.Session
	rec  *ort.Session
	keys []string // CTC class i (1-based) is keys[i-1]; the last class is a space
	rgba *image.RGBA
}

// New loads the detection and recognition models and the dictionary
// (models.Path(dir, DetModelName), RecModelName, KeysName). ort.Init must
// have been called.
func New(detPath, recPath, keysPath string, opts ort.Options) (*Reader, error) {
	keys, err := readKeys(keysPath)
	if err != nil {
		return nil, err
	}
	det, err := ort.NewSession(detPath, []string{"x"}, []string{"sigmoid_0.tmp_0"}, opts)
	if err != nil {
		return nil, err
	}
	rec, err := ort.NewSession(recPath, []string{"x"}, []string{"softmax_11.tmp_0"}, opts)
	if err != nil {
		_ = det.Close()
		return nil, err
	}
	batch := 1
	if rec.Provider() == ort.ProviderCUDA {
		batch = 8
	}
	return &Reader{
		Threshold: DefaultThreshold, BoxScore: DefaultBoxScore, Unclip: DefaultUnclip, MaxSide: DefaultMaxSide, Batch: batch,
		det: det, rec: rec, keys: append(keys, " "),
	}, nil
}

func readKeys(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("ppocr: dictionary: %w", err)
	}
	defer f.Close()
	var keys []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		keys = append(keys, strings.TrimRight(sc.Text(), "\r"))
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("ppocr: dictionary: %w", err)
	}
	if len(keys) == 0 {
		return nil, errors.New("ppocr: empty dictionary")
	}
	return keys, nil
}

// Provider is the execution provider running the models ("cpu" or "cuda").
func (r *Reader) Provider() string { return r.det.Provider() }

func (r *Reader) source(img image.Image) *image.RGBA {
	src := imgutil.RGBA(img, r.rgba)
	if _, ok := img.(*image.RGBA); !ok {
		r.rgba = src
	}
	return src
}

// Read finds the lines of text in img and reads them, top to bottom, left
// to right.
func (r *Reader) Read(img image.Image) ([]Line, error) {
	b := img.Bounds()
	if b.Empty() {
		return nil, errors.New("ppocr: empty image")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	src := r.source(img)
	boxes, scores, err := r.detect(src)
	if err != nil {
		return nil, err
	}
	lines, err := r.recognize(src, boxes)
	if err != nil {
		return nil, err
	}
	for i := range lines {
		lines[i].BoxScore = scores[i]
	}
	return lines, nil
}

// Recognize reads the text in each box of img (lines found by another
// detector, or known caption areas), Batch lines per inference.
func (r *Reader) Recognize(img image.Image, boxes []image.Rectangle) ([]Line, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.recognize(r.source(img), boxes)
}

// detect runs DB and returns the text boxes with their scores, in reading
// order.
func (r *Reader) detect(src *image.RGBA) ([]image.Rectangle, []float32, error) {
	b := src.Rect
	scale := math.Min(1, float64(r.MaxSide)/float64(max(b.Dx(), b.Dy())))
	round32 := func(v float64) int { return max(32, int(math.Round(v/32))*32) }
	w, h := round32(float64(b.Dx())*scale), round32(float64(b.Dy())*scale)
	in, err := r.det.Float32Input("x", 1, 3, int64(h), int64(w))
	if err != nil {
		return nil, nil, err
	}
	plane := w * h
	// BGR planes, ImageNet mean and std (PaddleOCR normalises OpenCV's BGR
	// image with the RGB-ordered constants).
	imgutil.Sample(src, imgutil.FromRectangle(b), w, h, func(i int, red, g, bl float32) {
		in[i] = (bl/255 - 0.485) / 0.229
		in[plane+i] = (g/255 - 0.456) / 0.224
		in[2*plane+i] = (red/255 - 0.406) / 0.225
	})
	if err := r.det.Run(); err != nil {
		return nil, nil, err
	}
	prob, shape, err := r.det.Float32Output("sigmoid_0.tmp_0")
	if err != nil {
		return nil, nil, err
	}
	if len(shape) != 4 || int(shape[2]) != h || int(shape[3]) != w {
		return nil, nil, fmt.Errorf("ppocr: detection output shape %v, want [1 1 %d %d]", shape, h, w)
	}
	regions := components(prob, w, h, r.Threshold)
	sx, sy := float64(b.Dx())/float64(w), float64(b.Dy())/float64(h)
	var boxes []image.Rectangle
	var scores []float32
	for _, reg := range regions {
		if reg.score < r.BoxScore || reg.x1-reg.x0 < 3 || reg.y1-reg.y0 < 3 {
			continue
		}
		// Unclip: grow by area * ratio / perimeter (PaddleOCR's offset of
		// the region's polygon, here its bounding box).
		bw, bh := float64(reg.x1-reg.x0), float64(reg.y1-reg.y0)
		d := bw * bh * float64(r.Unclip) / (2 * (bw + bh))
		rect := image.Rect(
			int(math.Floor((float64(reg.x0)-d)*sx)), int(math.Floor((float64(reg.y0)-d)*sy)),
			int(math.Ceil((float64(reg.x1)+d)*sx)), int(math.Ceil((float64(reg.y1)+d)*sy)),
		).Add(b.Min).Intersect(b)
		if rect.Empty() {
			continue
		}
		boxes = append(boxes, rect)
		scores = append(scores, reg.score)
	}
	// Reading order: by line (centres within half a line height), then x.
	idx := make([]int, len(boxes))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(i, j int) int {
		a, c := boxes[i], boxes[j]
		if d := (a.Min.Y + a.Max.Y - c.Min.Y - c.Max.Y) / 2; d > min(a.Dy(), c.Dy())/2 || d < -min(a.Dy(), c.Dy())/2 {
			return d
		}
		return a.Min.X - c.Min.X
	})
	sb, ss := make([]image.Rectangle, len(idx)), make([]float32, len(idx))
	for k, i := range idx {
		sb[k], ss[k] = boxes[i], scores[i]
	}
	return sb, ss, nil
}

type region struct {
	x0, y0, x1, y1 int // bounding box, exclusive max
	score          float32
}

// components labels the 8-connected regions of prob >= thresh and returns
// each one's bounding box and mean probability.
func components(prob []float32, w, h int, thresh float32) []region {
	seen := make([]bool, len(prob))
	var out []region
	var stack []int
	for start := range prob {
		if seen[start] || prob[start] < thresh {
			continue
		}
		reg := region{x0: w, y0: h}
		var sum float64
		n := 0
		stack = append(stack[:0], start)
		seen[start] = true
		for len(stack) > 0 {
			p := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			x, y := p%w, p/w
			reg.x0, reg.y0 = min(reg.x0, x), min(reg.y0, y)
			reg.x1, reg.y1 = max(reg.x1, x+1), max(reg.y1, y+1)
			sum += float64(prob[p])
			n++
			for dy := -1; dy <= 1; dy++ {
				for dx := -1; dx <= 1; dx++ {
					nx, ny := x+dx, y+dy
					if nx < 0 || ny < 0 || nx >= w || ny >= h {
						continue
					}
					q := ny*w + nx
					if !seen[q] && prob[q] >= thresh {
						seen[q] = true
						stack = append(stack, q)
					}
				}
			}
		}
		reg.score = float32(sum / float64(n))
		out = append(out, reg)
	}
	return out
}

// recognize reads each box: crops resized to height 48 keeping their
// aspect, padded to the widest of their batch, CTC-decoded greedily.
func (r *Reader) recognize(src *image.RGBA, boxes []image.Rectangle) ([]Line, error) {
	lines := make([]Line, 0, len(boxes))
	step := max(1, r.Batch)
	for start := 0; start < len(boxes); start += step {
		batch := boxes[start:min(len(boxes), start+step)]
		widths := make([]int, len(batch))
		maxW := 0
		for k, bx := range batch {
			if bx.Empty() {
				return nil, errors.New("ppocr: empty text box")
			}
			widths[k] = min(maxRecWidth, max(8, int(math.Ceil(recHeight*float64(bx.Dx())/float64(bx.Dy())))))
			maxW = max(maxW, widths[k])
		}
		maxW = (maxW + 7) / 8 * 8
		in, err := r.rec.Float32Input("x", int64(len(batch)), 3, recHeight, int64(maxW))
		if err != nil {
			return nil, err
		}
		clear(in) // padding is 0: mid-grey after normalisation
		plane := recHeight * maxW
		for k, bx := range batch {
			img := in[k*3*plane : (k+1)*3*plane]
			w := widths[k]
			imgutil.Sample(src, imgutil.FromRectangle(bx), w, recHeight, func(i int, red, g, bl float32) {
				at := (i/w)*maxW + i%w
				img[at] = bl/127.5 - 1
				img[plane+at] = g/127.5 - 1
				img[2*plane+at] = red/127.5 - 1
			})
		}
		if err := r.rec.Run(); err != nil {
			return nil, err
		}
		probs, shape, err := r.rec.Float32Output("softmax_11.tmp_0")
		if err != nil {
			return nil, err
		}
		if len(shape) != 3 || int(shape[0]) != len(batch) || int(shape[2]) != len(r.keys)+1 {
			return nil, fmt.Errorf("ppocr: recognition output shape %v, want [%d T %d]", shape, len(batch), len(r.keys)+1)
		}
		steps, classes := int(shape[1]), int(shape[2])
		for k, bx := range batch {
			text, conf := r.decode(probs[k*steps*classes:(k+1)*steps*classes], steps, classes)
			lines = append(lines, Line{Text: text, Box: bx, Confidence: conf})
		}
	}
	return lines, nil
}

// decode is greedy CTC: the best class per step, repeats merged, blanks
// (class 0) dropped.
func (r *Reader) decode(p []float32, steps, classes int) (string, float32) {
	var sb strings.Builder
	var sum float32
	n, prev := 0, 0
	for t := range steps {
		row := p[t*classes : (t+1)*classes]
		best := 0
		for c := range row {
			if row[c] > row[best] {
				best = c
			}
		}
		if best != 0 && best != prev {
			sb.WriteString(r.keys[best-1])
			sum += row[best]
			n++
		}
		prev = best
	}
	if n == 0 {
		return "", 0
	}
	return strings.TrimSpace(sb.String()), sum / float32(n)
}

// Close releases the models.
func (r *Reader) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return errors.Join(r.det.Close(), r.rec.Close())
}

// MergeRows joins the lines of lines (in reading order, as Read returns
// them) that sit on the same row — DB often splits a caption at a wide
// space — into one line per row: texts joined by a space, boxes united,
// scores and confidences averaged weighted by text length.
func MergeRows(lines []Line) []Line {
	var out []Line
	var weights []float32
	for _, l := range lines {
		if n := len(out); n > 0 && sameRow(out[n-1].Box, l.Box) {
			last := &out[n-1]
			w := float32(max(1, len([]rune(l.Text))))
			tw := weights[n-1] + w
			last.BoxScore = (last.BoxScore*weights[n-1] + l.BoxScore*w) / tw
			last.Confidence = (last.Confidence*weights[n-1] + l.Confidence*w) / tw
			weights[n-1] = tw
			last.Box = last.Box.Union(l.Box)
			last.Text = strings.TrimSpace(last.Text + " " + l.Text)
			continue
		}
		out = append(out, l)
		weights = append(weights, float32(max(1, len([]rune(l.Text)))))
	}
	return out
}

// sameRow says whether b continues a's row: vertical centres within half
// the smaller height, and b starting to the right of a's start.
func sameRow(a, b image.Rectangle) bool {
	d := (a.Min.Y + a.Max.Y - b.Min.Y - b.Max.Y) / 2
	h := min(a.Dy(), b.Dy()) / 2
	return d <= h && d >= -h && b.Min.X >= a.Min.X
}
