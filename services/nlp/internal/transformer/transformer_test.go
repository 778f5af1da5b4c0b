package transformer

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/clipmesh/clipmesh/platform/ort"
	"github.com/clipmesh/clipmesh/platform/ort/orttest"
	"github.com/clipmesh/clipmesh/services/nlp/internal/transformer/transformertest"
)

type expected struct {
	IDs       []int64   `json:"ids"`
	Embedding []float64 `json:"embedding"`
	Probs     []float64 `json:"probs"`
}

func TestTokenizer(t *testing.T) {
	t.Parallel()
	dir := transformertest.Graph(t)
	tok, err := LoadVocab(filepath.Join(dir, "vocab.txt"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		in   string
		want []int64
	}{
		{"My dog is sleeping", []int64{2, 11, 4, 13, 15, 3}},
		{"DOGS!", []int64{2, 4, 10, 1, 3}}, // dog ##s, "!" unknown
		{"the cät", []int64{2, 12, 5, 3}},  // accents stripped
		{"zebra", []int64{2, 1, 3}},        // cannot be pieced: [UNK]
		{"", []int64{2, 3}},
	}
	for _, tt := range tests {
		if got := tok.Encode(tt.in); !slices.Equal(got, tt.want) {
			t.Errorf("Encode(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
	tok.MaxLen = 4
	if got := tok.Encode("my dog is sleeping"); !slices.Equal(got, []int64{2, 11, 4, 3}) {
		t.Errorf("truncated: %v", got)
	}
	if _, err := LoadVocab(filepath.Join(dir, "model.onnx")); err == nil {
		t.Errorf("a file without [CLS] loaded as a vocab")
	}
}

func TestONNX(t *testing.T) {
	t.Parallel()
	orttest.Init(t)
	dir := transformertest.Graph(t)
	var want expected
	b, err := os.ReadFile(filepath.Join(dir, "expected.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &want); err != nil {
		t.Fatal(err)
	}
	cfg := Config{Model: filepath.Join(dir, "model.onnx"), Vocab: filepath.Join(dir, "vocab.txt"), Output: "last_hidden_state", Options: ort.Options{IntraOpThreads: 1}}
	emb, err := NewEmbedder(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = emb.Close() })
	v, err := emb.Embed("My dog is sleeping")
	if err != nil {
		t.Fatal(err)
	}
	if len(v) != len(want.Embedding) {
		t.Fatalf("embedding of %d dims, want %d", len(v), len(want.Embedding))
	}
	for i := range v {
		if math.Abs(float64(v[i])-want.Embedding[i]) > 1e-5 {
			t.Fatalf("embedding %v, numpy %v", v, want.Embedding)
		}
	}
	// Similar meaning, similar vectors: the graph puts animals on one axis
	// and vehicles on another.
	pet, _ := emb.Embed("pet")
	car, _ := emb.Embed("car")
	loud, _ := emb.Embed("the engine is loud")
	if Cosine(v, pet) <= Cosine(v, car) || Cosine(loud, car) <= Cosine(loud, pet) {
		t.Errorf("cosines: dog·pet %.2f dog·car %.2f engine·car %.2f engine·pet %.2f", Cosine(v, pet), Cosine(v, car), Cosine(loud, car), Cosine(loud, pet))
	}
	cfg.Output, cfg.Labels = "logits", []string{"animals", "vehicles"}
	cls, err := NewClassifier(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cls.Close() })
	ps, err := cls.Classify("My dog is sleeping")
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range ps {
		if math.Abs(p.P-want.Probs[i]) > 1e-5 || p.Label != cfg.Labels[i] {
			t.Fatalf("probs %v, numpy %v", ps, want.Probs)
		}
	}
	if cfg.Labels = []string{"one"}; true {
		bad, err := NewClassifier(cfg)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = bad.Close() })
		if _, err := bad.Classify("dog"); err == nil {
			t.Errorf("labels that do not match the logits: no error")
		}
	}
	if _, err := NewEmbedder(Config{Model: filepath.Join(dir, "missing.onnx"), Vocab: cfg.Vocab, Output: "x"}); err == nil {
		t.Errorf("missing model: no error")
	}
}
