package ort_test

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/clipmesh/clipmesh/platform/ort"
	"github.com/clipmesh/clipmesh/platform/ort/orttest"
)

func TestInit(t *testing.T) {
	t.Parallel()
	lib := orttest.Model(t, "onnxruntime")
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Go(func() { errs[i] = ort.Init(lib) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("concurrent Init %d: %v", i, err)
		}
	}
	if v := ort.Version(); !strings.HasPrefix(v, "1.") {
		t.Errorf("Version() = %q, want 1.x", v)
	}
	missing := filepath.Join(t.TempDir(), "libonnxruntime.so")
	for _, tc := range []struct{ path, want string }{
		{missing, "clipmesh models fetch"},
		{"", "clipmesh models fetch"},
	} {
		if err := ort.Init(tc.path); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Init(%q) = %v, want an error naming %q", tc.path, err, tc.want)
		}
	}
	other := filepath.Join(t.TempDir(), "libonnxruntime.so")
	if err := os.WriteFile(other, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := ort.Init(other); err == nil || !strings.Contains(err.Error(), "already initialized") {
		t.Errorf("Init with another library = %v, want already initialized", err)
	}
}

// syncBuffer is a log destination safe for the session's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// TestSessionCUDAFallback asks for CUDA on a machine without it: the session
// must run on the CPU, say so, and log why.
func TestSessionCUDAFallback(t *testing.T) {
	t.Parallel()
	orttest.Init(t)
	var logs syncBuffer
	start := time.Now()
	s, err := ort.NewSession(orttest.Model(t, "silero-vad-v5"), []string{"input", "state", "sr"}, []string{"output", "stateN"},
		ort.Options{UseCUDA: true, IntraOpThreads: 1, Logger: slog.New(slog.NewJSONHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	t.Logf("session with CUDA attempt created in %v on %s", time.Since(start), s.Provider())
	if s.Provider() != ort.ProviderCPU {
		t.Skipf("this machine runs CUDA (provider %s): the fallback is not exercised", s.Provider())
	}
	if !strings.Contains(logs.String(), "CUDA") || !strings.Contains(logs.String(), `"reason"`) {
		t.Errorf("fallback to the CPU was not logged with a reason: %q", logs.String())
	}
	t.Logf("fallback log: %s", logs.String())
	runSilero(t, s)
}

// runSilero runs one silent frame and checks the output shape.
func runSilero(t *testing.T, s *ort.Session) {
	t.Helper()
	in, err := s.Float32Input("input", 1, 576)
	if err != nil {
		t.Fatal(err)
	}
	clear(in)
	state, err := s.Float32Input("state", 2, 1, 128)
	if err != nil {
		t.Fatal(err)
	}
	clear(state)
	sr, err := s.Int64Input("sr", 1)
	if err != nil {
		t.Fatal(err)
	}
	sr[0] = 16000
	if err := s.Run(); err != nil {
		t.Fatal(err)
	}
	p, shape, err := s.Float32Output("output")
	if err != nil {
		t.Fatal(err)
	}
	if len(p) != 1 || len(shape) != 2 || p[0] < 0 || p[0] > 0.5 {
		t.Errorf("silence: output %v shape %v, want one low probability of shape [1 1]", p, shape)
	}
}

func TestSessionReusesTensors(t *testing.T) {
	t.Parallel()
	orttest.Init(t)
	start := time.Now()
	s, err := ort.NewSession(orttest.Model(t, "silero-vad-v5"), []string{"input", "state", "sr"}, []string{"output", "stateN"}, ort.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	t.Logf("session created in %v on %s", time.Since(start), s.Provider())
	runSilero(t, s)
	in1, _ := s.Float32Input("input", 1, 576)
	out1, _, _ := s.Float32Output("stateN")
	const n = 50
	start = time.Now()
	for range n {
		runSilero(t, s)
	}
	t.Logf("silero frame: %v per inference", time.Since(start)/n)
	in2, _ := s.Float32Input("input", 1, 576)
	out2, _, _ := s.Float32Output("stateN")
	if &in1[0] != &in2[0] || &out1[0] != &out2[0] {
		t.Errorf("tensors were reallocated between runs of the same shape")
	}
	// A new shape gives a new tensor and the outputs are sized afresh.
	if in3, err := s.Float32Input("input", 1, 64+1024); err != nil || len(in3) != 1088 {
		t.Fatalf("reshaped input: %d values, %v", len(in3), err)
	}
	if _, _, err := s.Float32Output("output"); err == nil {
		t.Error("outputs survived an input reshape")
	}

	if _, err := s.Float32Input("nope", 1); err == nil {
		t.Error("unknown input accepted")
	}
	if _, _, err := s.Float32Output("nope"); err == nil {
		t.Error("unknown output accepted")
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if err := s.Run(); err == nil {
		t.Error("Run after Close succeeded")
	}
}

func TestSessionErrors(t *testing.T) {
	orttest.Init(t)
	model := orttest.Model(t, "silero-vad-v5")
	if _, err := ort.NewSession(filepath.Join(t.TempDir(), "x.onnx"), []string{"input"}, []string{"output"}, ort.Options{}); err == nil || !strings.Contains(err.Error(), "clipmesh models fetch") {
		t.Errorf("missing model: %v, want an error naming clipmesh models fetch", err)
	}
	s, err := ort.NewSession(model, []string{"input", "state", "sr"}, []string{"output"}, ort.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Float32Input("input", 1, 576); err != nil {
		t.Fatal(err)
	}
	if err := s.Run(); err == nil || !strings.Contains(err.Error(), `"state"`) {
		t.Errorf("Run with an unset input: %v", err)
	}
	t.Setenv(ort.EnvIntraThreads, "many")
	if _, err := ort.NewSession(model, []string{"input"}, []string{"output"}, ort.Options{}); err == nil || !strings.Contains(err.Error(), ort.EnvIntraThreads) {
		t.Errorf("bad %s: %v", ort.EnvIntraThreads, err)
	}
	t.Setenv(ort.EnvIntraThreads, "1")
	t.Setenv(ort.EnvGraphOptimization, "fastest")
	if _, err := ort.NewSession(model, []string{"input"}, []string{"output"}, ort.Options{}); err == nil || !strings.Contains(err.Error(), ort.EnvGraphOptimization) {
		t.Errorf("bad %s: %v", ort.EnvGraphOptimization, err)
	}
	t.Setenv(ort.EnvGraphOptimization, "basic")
	t.Setenv(ort.EnvInterThreads, "1")
	s2, err := ort.NewSession(model, []string{"input", "state", "sr"}, []string{"output", "stateN"}, ort.Options{GraphOptimization: ort.OptimizeNone})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	runSilero(t, s2)
	ins, err := ort.ModelInputs(model)
	if err != nil {
		t.Fatal(err)
	}
	if got := ins["state"]; len(got) != 3 || got[0] != 2 || got[2] != 128 {
		t.Errorf("ModelInputs state = %v, want [2 ? 128]", got)
	}
}
