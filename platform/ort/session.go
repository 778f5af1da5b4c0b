package ort

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"slices"

	onnx "github.com/yalue/onnxruntime_go"
)

// Session is one loaded model. Its input tensors are allocated on first use
// and kept while their shape stays the same; its output tensors are
// allocated by ONNX Runtime on the first Run and then reused as the outputs
// of later runs, until an input changes shape. So a steady caller (same
// shapes every call) allocates nothing per inference.
//
// A Session is not safe for concurrent use: filling inputs, Run and reading
// outputs form one unit, so a caller shared between goroutines holds its
// own lock around them (the runners in silero and blazeface do).
type Session struct {
	s        *onnx.DynamicAdvancedSession
	path     string
	provider string
	inNames  []string
	outNames []string
	in       []onnx.Value // nil until the Float32Input/Int64Input call
	out      []onnx.Value // nil until the first Run, or after an input reshape
}

// NewSession loads the model at path with the named inputs and outputs (in
// the order Run binds them). Init must have succeeded. With opts.UseCUDA, or
// when the CUDA provider library is beside the runtime library, it tries
// CUDA first and falls back to the CPU, logging why.
func NewSession(path string, inputs, outputs []string, opts Options) (*Session, error) {
	env.mu.Lock()
	ready := env.libPath != ""
	env.mu.Unlock()
	if !ready {
		return nil, ErrNotInitialized
	}
	if len(inputs) == 0 || len(outputs) == 0 {
		return nil, errors.New("ort: a session needs at least one input and one output name")
	}
	if _, err := os.Stat(path); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("ort: model %s is missing: run `clipmesh models fetch`", path)
		}
		return nil, fmt.Errorf("ort: model: %w", err)
	}
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	if try, why := opts.wantCUDA(); try {
		s, err := newSession(path, inputs, outputs, opts, true)
		if err == nil {
			s.provider = ProviderCUDA
			return s, nil
		}
		log.Warn("onnx runtime: CUDA execution provider unavailable, running on the CPU",
			"model", path, "cuda_requested", why, "reason", err.Error())
	}
	s, err := newSession(path, inputs, outputs, opts, false)
	if err != nil {
		return nil, err
	}
	s.provider = ProviderCPU
	return s, nil
}

func newSession(path string, inputs, outputs []string, opts Options, cuda bool) (*Session, error) {
	so, err := opts.sessionOptions(cuda)
	if err != nil {
		return nil, err
	}
	defer so.Destroy()
	ds, err := onnx.NewDynamicAdvancedSession(path, inputs, outputs, so)
	if err != nil {
		return nil, fmt.Errorf("ort: load %s: %w", path, err)
	}
	return &Session{
		s:        ds,
		path:     path,
		inNames:  slices.Clone(inputs),
		outNames: slices.Clone(outputs),
		in:       make([]onnx.Value, len(inputs)),
		out:      make([]onnx.Value, len(outputs)),
	}, nil
}

// Provider is the execution provider that runs the session: ProviderCPU or
// ProviderCUDA.
func (s *Session) Provider() string { return s.provider }

// Path is the model file the session was loaded from.
func (s *Session) Path() string { return s.path }

// Float32Input returns the data of the float32 input tensor name with the
// given shape, to be filled before Run. The slice stays valid, and keeps its
// contents, until Close or a call for the same input with another shape.
func (s *Session) Float32Input(name string, shape ...int64) ([]float32, error) {
	return input[float32](s, name, shape)
}

// Int64Input is Float32Input for an int64 input tensor.
func (s *Session) Int64Input(name string, shape ...int64) ([]int64, error) {
	return input[int64](s, name, shape)
}

func input[T onnx.TensorData](s *Session, name string, shape []int64) ([]T, error) {
	if s.s == nil {
		return nil, errClosed
	}
	i := slices.Index(s.inNames, name)
	if i < 0 {
		return nil, fmt.Errorf("ort: %s has no input %q (inputs %q)", s.path, name, s.inNames)
	}
	if t, ok := s.in[i].(*onnx.Tensor[T]); ok && slices.Equal(t.GetShape(), onnx.Shape(shape)) {
		return t.GetData(), nil
	}
	t, err := onnx.NewEmptyTensor[T](onnx.NewShape(shape...))
	if err != nil {
		return nil, fmt.Errorf("ort: input %q %v: %w", name, shape, err)
	}
	destroy(s.in[i:], 1)
	s.in[i] = t
	// Output shapes follow input shapes: let ONNX Runtime size them afresh.
	destroy(s.out, len(s.out))
	return t.GetData(), nil
}

var errClosed = errors.New("ort: session is closed")

// Run runs the model on the current inputs. Every input must have been
// given a shape (Float32Input, Int64Input) first.
func (s *Session) Run() error {
	if s.s == nil {
		return errClosed
	}
	for i, v := range s.in {
		if v == nil {
			return fmt.Errorf("ort: %s: input %q was not set", s.path, s.inNames[i])
		}
	}
	if err := s.s.Run(s.in, s.out); err != nil {
		// A failed run may leave half-allocated outputs: start afresh.
		destroy(s.out, len(s.out))
		return fmt.Errorf("ort: run %s: %w", s.path, err)
	}
	return nil
}

// Float32Output returns the data and shape of the float32 output name of
// the last Run. The slice is overwritten by the next Run.
func (s *Session) Float32Output(name string) ([]float32, []int64, error) {
	i := slices.Index(s.outNames, name)
	if i < 0 {
		return nil, nil, fmt.Errorf("ort: %s has no output %q (outputs %q)", s.path, name, s.outNames)
	}
	if s.s == nil || s.out[i] == nil {
		return nil, nil, fmt.Errorf("ort: %s: output %q before a successful Run", s.path, name)
	}
	t, ok := s.out[i].(*onnx.Tensor[float32])
	if !ok {
		return nil, nil, fmt.Errorf("ort: %s: output %q is %T, not float32", s.path, name, s.out[i])
	}
	return t.GetData(), t.GetShape(), nil
}

// Close releases the session and its tensors. It is idempotent.
func (s *Session) Close() error {
	if s.s == nil {
		return nil
	}
	destroy(s.in, len(s.in))
	destroy(s.out, len(s.out))
	err := s.s.Destroy()
	s.s = nil
	return err
}

// destroy frees the first n values of vs and sets them to nil.
func destroy(vs []onnx.Value, n int) {
	for i := range vs[:n] {
		if vs[i] != nil {
			_ = vs[i].Destroy()
			vs[i] = nil
		}
	}
}

// ModelInputs returns the shape of each tensor input of the model at path
// (-1 for a free dimension). It opens the model once more, so callers use it
// at setup only.
func ModelInputs(path string) (map[string][]int64, error) {
	if Version() == "" {
		return nil, ErrNotInitialized
	}
	ins, _, err := onnx.GetInputOutputInfo(path)
	if err != nil {
		return nil, fmt.Errorf("ort: inputs of %s: %w", path, err)
	}
	m := make(map[string][]int64, len(ins))
	for _, in := range ins {
		m[in.Name] = slices.Clone([]int64(in.Dimensions))
	}
	return m, nil
}
