package ort

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"sync"

	onnx "github.com/yalue/onnxruntime_go"
)

// Environment variables that set the default thread counts of every session
// (Options fields left at zero).
const (
	EnvIntraThreads = "CLIPMESH_ORT_INTRA_THREADS"
	EnvInterThreads = "CLIPMESH_ORT_INTER_THREADS"
	// EnvGraphOptimization sets the level of sessions whose Options leave
	// GraphOptimization at its zero value: all, extended, basic or none.
	EnvGraphOptimization = "CLIPMESH_ORT_GRAPH_OPT"
)

// Execution providers reported by Session.Provider.
const (
	ProviderCPU  = "cpu"
	ProviderCUDA = "cuda"
)

// cudaProviderLib is the file whose presence beside the runtime library
// means the runtime was built with CUDA: then sessions try CUDA unasked.
const cudaProviderLib = "libonnxruntime_providers_cuda.so"

// ErrNotInitialized is returned by NewSession before a successful Init.
var ErrNotInitialized = errors.New("ort: ONNX Runtime is not initialized (call ort.Init)")

var env struct {
	mu      sync.Mutex
	libPath string // set once Init succeeded
}

// Init loads the ONNX Runtime shared library at libPath and creates the
// process-wide environment. ONNX Runtime allows one environment per process,
// so Init is idempotent: later calls with the same path return nil, and a
// call with another path is an error (the first library stays loaded). It is
// safe for concurrent use; a failed Init may be retried.
func Init(libPath string) error {
	env.mu.Lock()
	defer env.mu.Unlock()
	if libPath == "" {
		return errors.New("ort: no ONNX Runtime library path: run `clipmesh models fetch` and pass models.Path(dir, \"onnxruntime\")")
	}
	if _, err := os.Stat(libPath); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("ort: ONNX Runtime library %s is missing: run `clipmesh models fetch`", libPath)
		}
		return fmt.Errorf("ort: ONNX Runtime library: %w", err)
	}
	if env.libPath != "" {
		if filepath.Clean(libPath) != env.libPath {
			return fmt.Errorf("ort: already initialized with %s, cannot switch to %s", env.libPath, libPath)
		}
		return nil
	}
	onnx.SetSharedLibraryPath(libPath)
	// Error level: ONNX Runtime's own warnings go to stderr unstructured;
	// what matters (a provider fallback) is logged by this package via slog.
	if err := onnx.InitializeEnvironment(onnx.WithLogLevelError()); err != nil {
		return fmt.Errorf("ort: load %s: %w", libPath, err)
	}
	env.libPath = filepath.Clean(libPath)
	return nil
}

// Version is the version of the loaded ONNX Runtime ("1.28.2"), or "" before
// Init.
func Version() string {
	env.mu.Lock()
	defer env.mu.Unlock()
	if env.libPath == "" {
		return ""
	}
	return onnx.GetVersion()
}

// GraphOptimization is ONNX Runtime's graph optimization level. The zero
// value enables every optimization, ONNX Runtime's own default.
type GraphOptimization int

// Graph optimization levels.
const (
	OptimizeAll GraphOptimization = iota
	OptimizeExtended
	OptimizeBasic
	OptimizeNone
)

// Options configure a session. The zero value is a sensible default.
type Options struct {
	// IntraOpThreads is the number of threads one operator may use; 0 means
	// $CLIPMESH_ORT_INTRA_THREADS, else ONNX Runtime's default (one per
	// physical core).
	IntraOpThreads int
	// InterOpThreads is the number of operators run in parallel; 0 means
	// $CLIPMESH_ORT_INTER_THREADS, else ONNX Runtime's default.
	InterOpThreads int
	// GraphOptimization is the optimization level; the zero value
	// (OptimizeAll) defers to $CLIPMESH_ORT_GRAPH_OPT, else all.
	GraphOptimization GraphOptimization
	// UseCUDA asks for the CUDA execution provider. It is also tried when
	// the CUDA provider library sits beside the runtime library. When CUDA
	// cannot be used the session runs on the CPU and the reason is logged.
	UseCUDA bool
	// Logger receives the fallback notices; nil means slog.Default().
	Logger *slog.Logger
}

// threads resolves a thread count: the field, else the environment
// variable, else 0 (ONNX Runtime's default).
func threads(n int, envName string) (int, error) {
	if n < 0 {
		return 0, fmt.Errorf("ort: negative thread count %d", n)
	}
	if n > 0 {
		return n, nil
	}
	s := os.Getenv(envName)
	if s == "" {
		return 0, nil
	}
	v, err := strconv.Atoi(s)
	if err != nil || v < 0 {
		return 0, fmt.Errorf("ort: %s=%q is not a thread count", envName, s)
	}
	return v, nil
}

// graphOptimizationFromEnv reads $CLIPMESH_ORT_GRAPH_OPT (OptimizeAll when
// unset).
func graphOptimizationFromEnv() (GraphOptimization, error) {
	switch v := os.Getenv(EnvGraphOptimization); v {
	case "", "all":
		return OptimizeAll, nil
	case "extended":
		return OptimizeExtended, nil
	case "basic":
		return OptimizeBasic, nil
	case "none":
		return OptimizeNone, nil
	default:
		return 0, fmt.Errorf("ort: %s=%q, want all, extended, basic or none", EnvGraphOptimization, v)
	}
}

func (o Options) sessionOptions(cuda bool) (*onnx.SessionOptions, error) {
	intra, err := threads(o.IntraOpThreads, EnvIntraThreads)
	if err != nil {
		return nil, err
	}
	inter, err := threads(o.InterOpThreads, EnvInterThreads)
	if err != nil {
		return nil, err
	}
	opt := o.GraphOptimization
	if opt == OptimizeAll {
		if opt, err = graphOptimizationFromEnv(); err != nil {
			return nil, err
		}
	}
	so, err := onnx.NewSessionOptions()
	if err != nil {
		return nil, fmt.Errorf("ort: session options: %w", err)
	}
	level := map[GraphOptimization]onnx.GraphOptimizationLevel{
		OptimizeAll:      onnx.GraphOptimizationLevelEnableAll,
		OptimizeExtended: onnx.GraphOptimizationLevelEnableExtended,
		OptimizeBasic:    onnx.GraphOptimizationLevelEnableBasic,
		OptimizeNone:     onnx.GraphOptimizationLevelDisableAll,
	}[opt]
	err = errors.Join(
		so.SetGraphOptimizationLevel(level),
		func() error {
			if intra > 0 {
				return so.SetIntraOpNumThreads(intra)
			}
			return nil
		}(),
		func() error {
			if inter > 0 {
				return so.SetInterOpNumThreads(inter)
			}
			return nil
		}(),
	)
	if err == nil && cuda {
		err = appendCUDA(so)
	}
	if err != nil {
		_ = so.Destroy()
		return nil, err
	}
	return so, nil
}

func appendCUDA(so *onnx.SessionOptions) error {
	co, err := onnx.NewCUDAProviderOptions()
	if err != nil {
		return err
	}
	defer co.Destroy()
	return so.AppendExecutionProviderCUDA(co)
}

// wantCUDA says whether to try CUDA, and why.
func (o Options) wantCUDA() (bool, string) {
	if o.UseCUDA {
		return true, "asked for"
	}
	env.mu.Lock()
	lib := env.libPath
	env.mu.Unlock()
	if _, err := os.Stat(filepath.Join(filepath.Dir(lib), cudaProviderLib)); err == nil {
		return true, cudaProviderLib + " is beside the runtime library"
	}
	return false, ""
}
