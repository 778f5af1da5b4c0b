package emotion

import (
	"errors"
	"fmt"
	"image"
	"sync"

	"github.com/clipmesh/clipmesh/platform/ort"
	"github.com/clipmesh/clipmesh/platform/ort/internal/imgutil"
)

// ModelName is the manifest entry of the model.
const ModelName = "human-emotion"

// Expressions, in the model's output order.
const (
	Angry = iota
	Disgust
	Fear
	Happy
	Sad
	Surprise
	Neutral
)

// Labels names the expressions by index.
var Labels = [7]string{"angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"}

// Scores are the probabilities of the seven expressions (summing to 1),
// indexed by Angry ... Neutral.
type Scores [7]float32

// Top is the most likely expression and its probability.
func (s Scores) Top() (int, float32) {
	best := 0
	for i := range s {
		if s[i] > s[best] {
			best = i
		}
	}
	return best, s[best]
}

const size = 64 // input side

// MaxBatch is the largest number of faces Classify runs in one inference.
const MaxBatch = 32

// Classifier runs the expression model. Its methods are safe for concurrent
// use (inferences run one at a time).
type Classifier struct {
	mu   sync.Mutex
	s    *ort.Session
	rgba *image.RGBA
}

// New loads the model at path (models.Path(dir, ModelName)). ort.Init must
// have been called.
func New(path string, opts ort.Options) (*Classifier, error) {
	s, err := ort.NewSession(path, []string{"input_1:0"}, []string{"Identity:0"}, opts)
	if err != nil {
		return nil, err
	}
	return &Classifier{s: s}, nil
}

// Provider is the execution provider running the model ("cpu" or "cuda").
func (c *Classifier) Provider() string { return c.s.Provider() }

// Classify returns the expression probabilities of each face: faces[i] is
// the region of img holding one face (a face detector's box; a little
// margin does no harm). All faces of one call run as one batch (up to
// MaxBatch per inference). The input tensor is kept between calls with the
// same batch size.
func (c *Classifier) Classify(img image.Image, faces []image.Rectangle) ([]Scores, error) {
	out := make([]Scores, 0, len(faces))
	c.mu.Lock()
	defer c.mu.Unlock()
	src := imgutil.RGBA(img, c.rgba)
	if _, ok := img.(*image.RGBA); !ok {
		c.rgba = src // keep the conversion buffer, not the caller's image
	}
	for start := 0; start < len(faces); start += MaxBatch {
		batch := faces[start:min(len(faces), start+MaxBatch)]
		in, err := c.s.Float32Input("input_1:0", int64(len(batch)), size, size, 1)
		if err != nil {
			return nil, err
		}
		for k, r := range batch {
			if r.Empty() {
				return nil, errors.New("emotion: empty face rectangle")
			}
			px := in[k*size*size : (k+1)*size*size]
			imgutil.Sample(src, imgutil.FromRectangle(r), size, size, func(i int, r, g, b float32) {
				// Gray as the model was trained (ITU-R 601 weights), to [-1, 1].
				px[i] = (0.2989*r+0.5870*g+0.1140*b)/127.5 - 1
			})
		}
		if err := c.s.Run(); err != nil {
			return nil, err
		}
		probs, shape, err := c.s.Float32Output("Identity:0")
		if err != nil {
			return nil, err
		}
		if len(shape) != 2 || shape[1] != 7 || int(shape[0]) != len(batch) {
			return nil, fmt.Errorf("emotion: output shape %v, want [%d 7]", shape, len(batch))
		}
		for k := range batch {
			var s Scores
			copy(s[:], probs[k*7:(k+1)*7])
			out = append(out, s)
		}
	}
	return out, nil
}

// Close releases the model.
func (c *Classifier) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.s.Close()
}
