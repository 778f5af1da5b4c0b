package transformer

import (
	"fmt"
	"math"
	"path/filepath"
	"sync"

	"github.com/clipmesh/clipmesh/platform/ort"
)

// Config names an ONNX text model and its tensors. ONNX Runtime must be
// initialised (ort.Init) before a model is opened.
type Config struct {
	// Model is the .onnx file; Vocab its WordPiece vocab.txt.
	Model, Vocab string
	// InputIDs is the token id input (default "input_ids").
	InputIDs string
	// AttentionMask is the mask input (default "attention_mask"; "-" when
	// the model has none).
	AttentionMask string
	// TokenTypeIDs is the segment id input, "" when the model has none.
	TokenTypeIDs string
	// Output is the output read: [1, T, H] token states (mean-pooled over
	// the mask) or [1, H] for an embedder, [1, L] logits for a classifier.
	Output string
	// Labels are a classifier's labels, in logit order.
	Labels []string
	// Options configure the ONNX Runtime session.
	Options ort.Options
}

// model is an open ONNX text model; its session is used under a lock.
type model struct {
	mu     sync.Mutex
	cfg    Config
	tok    *Tokenizer
	sess   *ort.Session
	inputs []string
}

func open(cfg Config) (*model, error) {
	if cfg.Model == "" || cfg.Vocab == "" || cfg.Output == "" {
		return nil, fmt.Errorf("%w: model, vocab and output are required", ErrConfig)
	}
	if cfg.InputIDs == "" {
		cfg.InputIDs = "input_ids"
	}
	if cfg.AttentionMask == "" {
		cfg.AttentionMask = "attention_mask"
	}
	tok, err := LoadVocab(cfg.Vocab)
	if err != nil {
		return nil, err
	}
	inputs := []string{cfg.InputIDs}
	if cfg.AttentionMask != "-" {
		inputs = append(inputs, cfg.AttentionMask)
	}
	if cfg.TokenTypeIDs != "" {
		inputs = append(inputs, cfg.TokenTypeIDs)
	}
	sess, err := ort.NewSession(cfg.Model, inputs, []string{cfg.Output}, cfg.Options)
	if err != nil {
		return nil, err
	}
	return &model{cfg: cfg, tok: tok, sess: sess, inputs: inputs}, nil
}

// run tokenizes s, runs the model and returns its output and shape; the
// caller holds m.mu and must copy what it keeps.
func (m *model) run(s string) ([]float32, []int64, []int64, error) {
	ids := m.tok.Encode(s)
	n := int64(len(ids))
	in, err := m.sess.Int64Input(m.cfg.InputIDs, 1, n)
	if err != nil {
		return nil, nil, nil, err
	}
	copy(in, ids)
	if m.cfg.AttentionMask != "-" {
		mask, err := m.sess.Int64Input(m.cfg.AttentionMask, 1, n)
		if err != nil {
			return nil, nil, nil, err
		}
		for i := range mask {
			mask[i] = 1
		}
	}
	if m.cfg.TokenTypeIDs != "" {
		tt, err := m.sess.Int64Input(m.cfg.TokenTypeIDs, 1, n)
		if err != nil {
			return nil, nil, nil, err
		}
		clear(tt)
	}
	if err := m.sess.Run(); err != nil {
		return nil, nil, nil, err
	}
	out, shape, err := m.sess.Float32Output(m.cfg.Output)
	return out, shape, ids, err
}

// Close releases the session.
func (m *model) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.sess.Close()
}

// Name names the model file and the execution provider, for results.
func (m *model) Name() string {
	return fmt.Sprintf("onnx %s (%s)", filepath.Base(m.cfg.Model), m.sess.Provider())
}

// Embedder is an ONNX sentence-embedding model. It is safe for concurrent
// use (calls are serialised on its session).
type Embedder struct{ *model }

// NewEmbedder opens an embedding model.
func NewEmbedder(cfg Config) (*Embedder, error) {
	m, err := open(cfg)
	if err != nil {
		return nil, err
	}
	return &Embedder{m}, nil
}

// Embed returns the L2-normalised embedding of s.
func (e *Embedder) Embed(s string) ([]float32, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	out, shape, _, err := e.run(s)
	if err != nil {
		return nil, err
	}
	var v []float32
	switch len(shape) {
	case 2: // pooled [1, H]
		v = append([]float32(nil), out[:shape[1]]...)
	case 3: // token states [1, T, H]: mean over the (all-ones) mask
		t, h := int(shape[1]), int(shape[2])
		v = make([]float32, h)
		for i := range t {
			for j := range h {
				v[j] += out[i*h+j]
			}
		}
		for j := range v {
			v[j] /= float32(t)
		}
	default:
		return nil, fmt.Errorf("%w: output %q has shape %v, want [1,H] or [1,T,H]", ErrConfig, e.cfg.Output, shape)
	}
	var norm float64
	for _, x := range v {
		norm += float64(x) * float64(x)
	}
	if norm > 0 {
		inv := float32(1 / math.Sqrt(norm))
		for j := range v {
			v[j] *= inv
		}
	}
	return v, nil
}

// Cosine is the cosine similarity of two normalised embeddings.
func Cosine(a, b []float32) float64 {
	var dot float64
	for i := range min(len(a), len(b)) {
		dot += float64(a[i]) * float64(b[i])
	}
	return dot
}

// Prob is a label's probability.
type Prob struct {
	Label string
	P     float64
}

// Classifier is an ONNX sequence classifier. It is safe for concurrent use.
type Classifier struct{ *model }

// NewClassifier opens a classifier; cfg.Labels must match its logits.
func NewClassifier(cfg Config) (*Classifier, error) {
	if len(cfg.Labels) == 0 {
		return nil, fmt.Errorf("%w: a classifier needs its labels", ErrConfig)
	}
	m, err := open(cfg)
	if err != nil {
		return nil, err
	}
	return &Classifier{m}, nil
}

// Classify returns the softmax of the model's logits for s, in label order.
func (c *Classifier) Classify(s string) ([]Prob, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	out, shape, _, err := c.run(s)
	if err != nil {
		return nil, err
	}
	if len(shape) != 2 || int(shape[1]) != len(c.cfg.Labels) {
		return nil, fmt.Errorf("%w: logits shape %v, want [1,%d]", ErrConfig, shape, len(c.cfg.Labels))
	}
	mx := math.Inf(-1)
	for _, x := range out[:shape[1]] {
		mx = math.Max(mx, float64(x))
	}
	ps := make([]Prob, len(c.cfg.Labels))
	sum := 0.0
	for i, l := range c.cfg.Labels {
		p := math.Exp(float64(out[i]) - mx)
		ps[i] = Prob{l, p}
		sum += p
	}
	for i := range ps {
		ps[i].P /= sum
	}
	return ps, nil
}
