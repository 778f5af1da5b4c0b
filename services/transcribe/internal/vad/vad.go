// Package vad finds the speech regions of 16 kHz mono audio with Silero VAD
// (platform/ort/silero) for the transcribe service, so the recognizer cuts
// long audio only in real pauses. When the model or ONNX Runtime is not in
// the models cache it says so (Available, Note) and the caller falls back
// to the recognizer's own energy pauses.
package vad

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/clipmesh/clipmesh/platform/models"
	"github.com/clipmesh/clipmesh/platform/ort"
	"github.com/clipmesh/clipmesh/platform/ort/silero"
)

// Model names in the models manifest.
const (
	ModelName = "silero-vad-v5"
	// Engine is the producer engine name of Silero's regions.
	Engine = "silero-vad"
)

// blockLen is how many samples are fed per call: 10 s, so cancellation
// and progress come every 10 s of audio.
const blockLen = 10 * silero.SampleRate

// Detector runs Silero VAD. It is safe for concurrent use; each Speech call
// loads its own session (Silero is 2 MB: loading takes milliseconds).
type Detector struct {
	dir  string
	opts ort.Options

	mu    sync.Mutex
	model string // set once the model and runtime were found usable
}

// New returns a Detector reading the models cache dir (models.Dir).
func New(dir string, opts ort.Options) *Detector { return &Detector{dir: dir, opts: opts} }

// resolve finds the model and initialises ONNX Runtime; success is
// remembered, failure retried on the next call (the models may be fetched
// meanwhile).
func (d *Detector) resolve() (string, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.model != "" {
		return d.model, nil
	}
	model, err := models.Path(d.dir, ModelName)
	if err != nil {
		return "", err
	}
	if err := ort.InitFromModels(d.dir); err != nil {
		return "", err
	}
	d.model = model
	return model, nil
}

// Unavailable explains why Silero cannot run and how to fix it, or is ""
// when it can.
func (d *Detector) Unavailable() string {
	_, err := d.resolve()
	if err == nil {
		return ""
	}
	var me *models.Error
	if errors.As(err, &me) && errors.Is(err, models.ErrMissing) {
		return fmt.Sprintf("%s not installed: run %s", me.Name, me.Fix)
	}
	return fmt.Sprintf("%s unavailable (%v): run %s", ModelName, err, models.FetchCommand(d.dir))
}

// Version names the runtime for producers.
func (d *Detector) Version() string { return "onnxruntime " + ort.Version() }

// Speech returns the speech regions [start, end] of x (16 kHz mono in
// [-1, 1]) in seconds, in order, with Silero's own segmentation rules;
// progress, if set, gets the fraction of x done. It fails when Silero is
// unavailable (see Unavailable).
func (d *Detector) Speech(ctx context.Context, x []float32, progress func(float64)) ([][2]float64, error) {
	model, err := d.resolve()
	if err != nil {
		return nil, err
	}
	v, err := silero.New(model, d.opts)
	if err != nil {
		return nil, fmt.Errorf("vad: %w", err)
	}
	defer v.Close()
	probs := make([]float32, 0, len(x)/silero.FrameLen+1)
	for i := 0; i < len(x); i += blockLen {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		p, err := v.Probabilities(x[i:min(len(x), i+blockLen)])
		if err != nil {
			return nil, fmt.Errorf("vad: %w", err)
		}
		probs = append(probs, p...)
		if progress != nil {
			progress(float64(min(len(x), i+blockLen)) / float64(len(x)))
		}
	}
	tail, err := v.Flush()
	if err != nil {
		return nil, fmt.Errorf("vad: %w", err)
	}
	probs = append(probs, tail...)
	segs := silero.Segments(probs, silero.SegmentOptions{})
	if segs == nil {
		segs = [][2]float64{}
	}
	return segs, nil
}
