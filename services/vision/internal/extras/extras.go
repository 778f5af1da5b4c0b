// Package extras loads the vision models beyond face detection from the
// models cache, each once on first use: facial expression (emotion),
// face mesh + iris (eye openness and eye contact), NanoDet (person boxes)
// and PP-OCRv4 (on-screen text). A missing model disables only what needs
// it; its error names `clipmesh models fetch`.
package extras

import (
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/clipmesh/clipmesh/platform/models"
	"github.com/clipmesh/clipmesh/platform/ort"
	"github.com/clipmesh/clipmesh/platform/ort/emotion"
	"github.com/clipmesh/clipmesh/platform/ort/facemesh"
	"github.com/clipmesh/clipmesh/platform/ort/nanodet"
	"github.com/clipmesh/clipmesh/platform/ort/ppocr"
)

// Engine hands out the models; it is safe for concurrent use, and so are
// the models it returns.
type Engine struct {
	dir  string
	opts ort.Options

	mu     sync.Mutex
	loaded map[string]io.Closer
}

// NewEngine returns an engine reading the models cache dir.
func NewEngine(dir string, opts ort.Options) *Engine {
	return &Engine{dir: dir, opts: opts, loaded: map[string]io.Closer{}}
}

// load returns the model called name, building it with mk from the paths
// of the manifest entries files on the first call. Failures are not
// remembered: the models may be fetched while the service runs.
func load[T io.Closer](e *Engine, name string, files []string, mk func(paths []string) (T, error)) (T, error) {
	var zero T
	e.mu.Lock()
	defer e.mu.Unlock()
	if m, ok := e.loaded[name]; ok {
		return m.(T), nil
	}
	if err := ort.InitFromModels(e.dir); err != nil {
		return zero, err
	}
	var paths []string
	for _, f := range files {
		p, err := models.Path(e.dir, f)
		if err != nil {
			return zero, err
		}
		paths = append(paths, p)
	}
	m, err := mk(paths)
	if err != nil {
		return zero, fmt.Errorf("%s: %w", name, err)
	}
	e.loaded[name] = m
	return m, nil
}

// Emotion is the facial expression classifier.
func (e *Engine) Emotion() (*emotion.Classifier, error) {
	return load(e, emotion.ModelName, []string{emotion.ModelName}, func(p []string) (*emotion.Classifier, error) {
		return emotion.New(p[0], e.opts)
	})
}

// Mesh is the face mesh and iris models.
func (e *Engine) Mesh() (*facemesh.Mesher, error) {
	return load(e, facemesh.MeshModelName, []string{facemesh.MeshModelName, facemesh.IrisModelName}, func(p []string) (*facemesh.Mesher, error) {
		return facemesh.New(p[0], p[1], e.opts)
	})
}

// People is the NanoDet object detector (person boxes).
func (e *Engine) People() (*nanodet.Detector, error) {
	return load(e, nanodet.ModelName, []string{nanodet.ModelName}, func(p []string) (*nanodet.Detector, error) {
		return nanodet.New(p[0], e.opts)
	})
}

// OCR is the PP-OCRv4 text reader.
func (e *Engine) OCR() (*ppocr.Reader, error) {
	return load(e, ppocr.DetModelName, []string{ppocr.DetModelName, ppocr.RecModelName, ppocr.KeysName}, func(p []string) (*ppocr.Reader, error) {
		return ppocr.New(p[0], p[1], p[2], e.opts)
	})
}

// Close releases every loaded model.
func (e *Engine) Close() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	var errs []error
	for name, m := range e.loaded {
		errs = append(errs, m.Close())
		delete(e.loaded, name)
	}
	return errors.Join(errs...)
}
