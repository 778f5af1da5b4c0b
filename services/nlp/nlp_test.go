package nlp

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/clipmesh/clipmesh/platform/models"
	"github.com/clipmesh/clipmesh/platform/ort"
	"github.com/clipmesh/clipmesh/services/nlp/internal/analyze"
	"github.com/clipmesh/clipmesh/services/nlp/internal/transformer/transformertest"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestLimitsFromEnv(t *testing.T) {
	t.Parallel()
	l, err := LimitsFromEnv(env(map[string]string{"CLIPMESH_NLP_MAX_TEXT_BYTES": "1000", "CLIPMESH_NLP_MAX_LABELS": "0"}))
	if err != nil || l.MaxTextBytes != 1000 || l.MaxLabels != 0 || l.MaxSegments != analyze.DefaultLimits.MaxSegments {
		t.Errorf("LimitsFromEnv = %+v, %v", l, err)
	}
	if _, err := LimitsFromEnv(env(map[string]string{"CLIPMESH_NLP_MAX_SEGMENTS": "-1"})); err == nil || !strings.Contains(err.Error(), "CLIPMESH_NLP_MAX_SEGMENTS") {
		t.Errorf("negative limit: %v", err)
	}
}

func TestEmbedderFromEnv(t *testing.T) {
	t.Parallel()
	dir, err := models.Dir("")
	if err != nil {
		t.Fatal(err)
	}
	if e, err := embedderFromEnv(dir, env(nil), ort.Options{}); e != nil || err != nil {
		t.Errorf("no model configured: %v, %v", e, err)
	}
	g := transformertest.Graph(t)
	e, err := embedderFromEnv(dir, env(map[string]string{
		"CLIPMESH_NLP_EMBEDDING_MODEL": filepath.Join(g, "model.onnx"),
		"CLIPMESH_NLP_EMBEDDING_VOCAB": filepath.Join(g, "vocab.txt"),
	}), ort.Options{IntraOpThreads: 1})
	if err != nil {
		t.Fatalf("%v (ONNX Runtime comes from `clipmesh models fetch`)", err)
	}
	if v, err := e.Embed("my dog"); err != nil || len(v) != 8 {
		t.Errorf("Embed = %v, %v", v, err)
	}
	if _, err := embedderFromEnv(dir, env(map[string]string{"CLIPMESH_NLP_EMBEDDING_MODEL": filepath.Join(g, "model.onnx")}), ort.Options{}); err == nil {
		t.Errorf("a model without its vocab: no error")
	}
}
