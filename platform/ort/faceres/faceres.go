package faceres

import (
	"errors"
	"fmt"
	"image"
	"math"
	"sync"

	"github.com/clipmesh/clipmesh/platform/ort"
	"github.com/clipmesh/clipmesh/platform/ort/internal/imgutil"
)

// ModelName is the manifest entry of the model.
const ModelName = "human-faceres"

const (
	size     = 224
	ages     = 100
	descSize = 1024
	// MaxBatch is the largest number of faces run in one inference.
	MaxBatch = 16
)

// SamePerson is the descriptor similarity above which two faces are taken
// for the same person: the same face mirrored, darkened and shrunk scores
// about 0.9 in the tests, different people under 0.5.
const SamePerson = 0.7

// Face is the description of one face.
type Face struct {
	// Age is the expected age in years (the mean of the model's age
	// distribution over 0..99).
	Age float64
	// Male is the model's probability that the face is a man's (human
	// reads <= 0.5 as female).
	Male float32
	// Descriptor is the face's 1024-value embedding, scaled to unit length.
	Descriptor []float32
}

// Detector runs the model. Its methods are safe for concurrent use
// (inferences run one at a time).
type Detector struct {
	mu   sync.Mutex
	s    *ort.Session
	rgba *image.RGBA
}

var outputs = []string{"age_pred/Softmax:0", "gender_pred/Sigmoid:0", "global_pooling/Mean:0"}

// New loads the model at path (models.Path(dir, ModelName)). ort.Init must
// have been called.
func New(path string, opts ort.Options) (*Detector, error) {
	s, err := ort.NewSession(path, []string{"input_1:0"}, outputs, opts)
	if err != nil {
		return nil, err
	}
	return &Detector{s: s}, nil
}

// Provider is the execution provider running the model ("cpu" or "cuda").
func (d *Detector) Provider() string { return d.s.Provider() }

// Describe describes the face in each rectangle of img (face detector
// boxes).
func (d *Detector) Describe(img image.Image, faces []image.Rectangle) ([]Face, error) {
	out := make([]Face, 0, len(faces))
	d.mu.Lock()
	defer d.mu.Unlock()
	src := imgutil.RGBA(img, d.rgba)
	if _, ok := img.(*image.RGBA); !ok {
		d.rgba = src
	}
	for start := 0; start < len(faces); start += MaxBatch {
		batch := faces[start:min(len(faces), start+MaxBatch)]
		in, err := d.s.Float32Input("input_1:0", int64(len(batch)), size, size, 3)
		if err != nil {
			return nil, err
		}
		for k, r := range batch {
			if r.Empty() {
				return nil, errors.New("faceres: empty face rectangle")
			}
			px := in[k*size*size*3 : (k+1)*size*size*3]
			imgutil.Sample(src, imgutil.FromRectangle(r), size, size, func(i int, r, g, b float32) {
				px[3*i], px[3*i+1], px[3*i+2] = r, g, b
			})
		}
		if err := d.s.Run(); err != nil {
			return nil, err
		}
		var res [3][]float32
		for i, name := range outputs {
			v, _, err := d.s.Float32Output(name)
			if err != nil {
				return nil, err
			}
			res[i] = v
		}
		n := len(batch)
		if len(res[0]) != n*ages || len(res[1]) != n || len(res[2]) != n*descSize {
			return nil, fmt.Errorf("faceres: outputs of %d, %d, %d values for %d faces", len(res[0]), len(res[1]), len(res[2]), n)
		}
		for k := range batch {
			var age float64
			for a, p := range res[0][k*ages : (k+1)*ages] {
				age += float64(a) * float64(p)
			}
			desc := make([]float32, descSize)
			copy(desc, res[2][k*descSize:(k+1)*descSize])
			normalize(desc)
			out = append(out, Face{Age: age, Male: res[1][k], Descriptor: desc})
		}
	}
	return out, nil
}

func normalize(v []float32) {
	var n float64
	for _, x := range v {
		n += float64(x) * float64(x)
	}
	if n == 0 {
		return
	}
	k := float32(1 / math.Sqrt(n))
	for i := range v {
		v[i] *= k
	}
}

// Similarity is the cosine similarity of two descriptors (1 for the same
// face, lower for others).
func Similarity(a, b []float32) float64 {
	if len(a) != len(b) {
		return 0
	}
	var dot, na, nb float64
	for i := range a {
		dot += float64(a[i]) * float64(b[i])
		na += float64(a[i]) * float64(a[i])
		nb += float64(b[i]) * float64(b[i])
	}
	if na == 0 || nb == 0 {
		return 0
	}
	return dot / math.Sqrt(na*nb)
}

// Close releases the model.
func (d *Detector) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.s.Close()
}
