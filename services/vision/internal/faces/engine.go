package faces

import (
	"fmt"
	"sync"

	"github.com/clipmesh/clipmesh/platform/models"
	"github.com/clipmesh/clipmesh/platform/ort"
	"github.com/clipmesh/clipmesh/platform/ort/blazeface"
)

// Model names in the models manifest.
const (
	ModelName = "blazeface-back"
)

// Engine loads the face detector from the models cache once, on first use.
type Engine struct {
	dir  string
	opts ort.Options

	mu  sync.Mutex
	det *blazeface.Detector
}

// NewEngine returns an engine reading models from dir.
func NewEngine(dir string, opts ort.Options) *Engine { return &Engine{dir: dir, opts: opts} }

// Detector returns the shared detector (safe for concurrent use), loading
// it on the first call. The error names `clipmesh models fetch` when the
// model or ONNX Runtime is missing.
func (e *Engine) Detector() (*blazeface.Detector, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.det != nil {
		return e.det, nil
	}
	model, err := models.Path(e.dir, ModelName)
	if err != nil {
		return nil, err
	}
	if err := ort.InitFromModels(e.dir); err != nil {
		return nil, err
	}
	d, err := blazeface.New(model, e.opts)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", ModelName, err)
	}
	e.det = d
	return d, nil
}

// Ready fails while the face model or ONNX Runtime is unusable.
func (e *Engine) Ready() error {
	if _, err := e.Detector(); err != nil {
		return fmt.Errorf("face detector unavailable: %w", err)
	}
	return nil
}

// Close releases the detector.
func (e *Engine) Close() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.det == nil {
		return nil
	}
	err := e.det.Close()
	e.det = nil
	return err
}
