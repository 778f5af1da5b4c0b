package voice

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/clipmesh/clipmesh/platform/models"
	"github.com/clipmesh/clipmesh/platform/ort"
	"github.com/clipmesh/clipmesh/platform/ort/silero"
)

// Model names in the models manifest.
const (
	ModelName = "silero-vad-v5"
)

// SampleRate is the rate Detector.Write expects.
const SampleRate = silero.SampleRate

// FrameSeconds is the duration of one probability frame (32 ms).
const FrameSeconds = silero.FrameSecond

// Producer names what produced a Result.
type Producer struct {
	Engine, Model, Version string
	// Fallback is true when the energy detector replaced Silero; Note then
	// says why and how to fix it.
	Fallback bool
	Note     string
}

// Result is the voice activity of a whole stream.
type Result struct {
	// Probs is the speech probability of each FrameSeconds frame.
	Probs []float32
	// Segments are the speech segments [start, end] in seconds.
	Segments [][2]float64
	Producer Producer
}

// SpeechSeconds is the total duration of the segments.
func (r Result) SpeechSeconds() float64 {
	var s float64
	for _, g := range r.Segments {
		s += g[1] - g[0]
	}
	return s
}

// Detector consumes one stream of 16 kHz mono samples. It is not safe for
// concurrent use.
type Detector interface {
	// Write feeds samples in [-1, 1].
	Write(block []float32) error
	// Close flushes the stream, releases the engine and returns the result.
	Close() (Result, error)
}

// Engine hands out detectors: Silero when the model and runtime are in the
// models cache, else the energy fallback. It is safe for concurrent use.
type Engine struct {
	dir  string
	opts ort.Options

	mu        sync.Mutex
	modelPath string // set once Silero was found usable
}

// NewEngine returns an Engine reading the models cache dir (models.Dir).
func NewEngine(dir string, opts ort.Options) *Engine { return &Engine{dir: dir, opts: opts} }

// resolve finds and loads Silero and the runtime; success is remembered,
// failure is retried on the next call (the models may be fetched meanwhile).
func (e *Engine) resolve() (string, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.modelPath != "" {
		return e.modelPath, nil
	}
	model, err := models.Path(e.dir, ModelName)
	if err != nil {
		return "", err
	}
	if err := ort.InitFromModels(e.dir); err != nil {
		return "", err
	}
	e.modelPath = model
	return model, nil
}

// Ready reports whether Silero can run; its error names the model and the
// command that installs it (`clipmesh models fetch`).
func (e *Engine) Ready() error {
	if _, err := e.resolve(); err != nil {
		return fmt.Errorf("voice activity model unavailable: %w", err)
	}
	return nil
}

// New returns a detector for one stream.
func (e *Engine) New() (Detector, error) {
	model, err := e.resolve()
	if err != nil {
		return newEnergy(note(err, e.dir)), nil
	}
	v, err := silero.New(model, e.opts)
	if err != nil {
		return newEnergy(fmt.Sprintf("%s failed to load (%v)", ModelName, err)), nil
	}
	return &sileroDetector{v: v, p: Producer{Engine: "silero-vad", Model: ModelName, Version: "onnxruntime " + ort.Version()}}, nil
}

// note explains why Silero is not used.
func note(err error, dir string) string {
	var me *models.Error
	if errors.As(err, &me) && errors.Is(err, models.ErrMissing) {
		return fmt.Sprintf("%s not installed: run %s", me.Name, me.Fix)
	}
	if errors.As(err, &me) {
		return fmt.Sprintf("%s unusable (%v)", me.Name, err)
	}
	return fmt.Sprintf("%s unavailable (%v): run %s", ModelName, err, models.FetchCommand(dir))
}

type sileroDetector struct {
	v     *silero.VAD
	probs []float32
	p     Producer
}

func (d *sileroDetector) Write(block []float32) error {
	p, err := d.v.Probabilities(block)
	d.probs = append(d.probs, p...)
	return err
}

func (d *sileroDetector) Close() (Result, error) {
	tail, err := d.v.Flush()
	d.probs = append(d.probs, tail...)
	if cerr := d.v.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return Result{}, err
	}
	return Result{Probs: d.probs, Segments: silero.Segments(d.probs, silero.SegmentOptions{}), Producer: d.p}, nil
}

// energy is the fallback detector.
type energy struct {
	pending []float32
	db      []float64
	p       Producer
}

// EnergyEngine is the fallback's engine name.
const EnergyEngine = "energy-vad"

func newEnergy(note string) *energy {
	return &energy{p: Producer{Engine: EnergyEngine, Version: "1", Fallback: true, Note: note}}
}

func (d *energy) Write(block []float32) error {
	for len(block) > 0 {
		n := min(silero.FrameLen-len(d.pending), len(block))
		d.pending = append(d.pending, block[:n]...)
		block = block[n:]
		if len(d.pending) == silero.FrameLen {
			d.frame()
		}
	}
	return nil
}

func (d *energy) frame() {
	var s float64
	for _, v := range d.pending {
		s += float64(v) * float64(v)
	}
	// Divided by the full frame length, as the last frame is zero-padded.
	d.db = append(d.db, 10*math.Log10(math.Max(s/silero.FrameLen, 1e-12)))
	d.pending = d.pending[:0]
}

func (d *energy) Close() (Result, error) {
	if len(d.pending) > 0 {
		d.frame()
	}
	r := Result{Producer: d.p, Probs: make([]float32, len(d.db))}
	if len(d.db) == 0 {
		return r, nil
	}
	sorted := slices.Sorted(slices.Values(d.db))
	floor := sorted[len(sorted)/10]
	thr := math.Max(floor+12, -50)
	for i, v := range d.db {
		r.Probs[i] = float32(1 / (1 + math.Exp(-(v-thr)/2)))
	}
	r.Segments = silero.Segments(r.Probs, silero.SegmentOptions{MinSilence: 300 * time.Millisecond})
	return r, nil
}
