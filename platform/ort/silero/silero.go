package silero

import (
	"fmt"
	"sync"

	"github.com/clipmesh/clipmesh/platform/ort"
)

// Audio format and framing of the model.
const (
	SampleRate  = 16000
	FrameLen    = 512 // new samples per inference: 32 ms
	contextLen  = 64  // samples of the previous frame the model sees again
	stateLen    = 2 * 1 * 128
	FrameSecond = float64(FrameLen) / SampleRate // duration of one frame in seconds
)

// VAD is a streaming voice activity detector: it keeps the model's recurrent
// state, the last 64 samples and any incomplete frame between calls, so
// audio may be fed in pieces of any length. Its methods are safe for
// concurrent use, but one VAD follows one stream: use one per stream.
type VAD struct {
	mu      sync.Mutex
	s       *ort.Session
	input   []float32 // [1, 576]: context + frame, the session's input tensor
	state   []float32 // [2, 1, 128]: the session's state tensor
	pending []float32 // samples of an incomplete frame
}

// New loads the Silero VAD v5 model at path (models.Path(dir,
// "silero-vad-v5")). ort.Init must have been called.
func New(path string, opts ort.Options) (*VAD, error) {
	s, err := ort.NewSession(path, []string{"input", "state", "sr"}, []string{"output", "stateN"}, opts)
	if err != nil {
		return nil, err
	}
	v := &VAD{s: s}
	v.input, err = s.Float32Input("input", 1, contextLen+FrameLen)
	if err == nil {
		v.state, err = s.Float32Input("state", 2, 1, 128)
	}
	var sr []int64
	if err == nil {
		// Shape [1], not a scalar: onnxruntime_go rejects a shape with no
		// dimensions, and the model accepts either.
		sr, err = s.Int64Input("sr", 1)
	}
	if err != nil {
		_ = s.Close()
		return nil, err
	}
	sr[0] = SampleRate
	v.Reset()
	return v, nil
}

// Provider is the execution provider running the model ("cpu" or "cuda").
func (v *VAD) Provider() string { return v.s.Provider() }

// Reset forgets the stream: zero state, zero context, no pending samples.
func (v *VAD) Reset() {
	v.mu.Lock()
	defer v.mu.Unlock()
	clear(v.input)
	clear(v.state)
	v.pending = v.pending[:0]
}

// Probabilities feeds samples (16 kHz mono, in [-1, 1]) and returns the
// speech probability of each 512-sample frame completed by them; samples of
// an incomplete frame wait for the next call (or Flush).
func (v *VAD) Probabilities(samples []float32) ([]float32, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	probs := make([]float32, 0, (len(v.pending)+len(samples))/FrameLen)
	if len(v.pending) > 0 {
		n := min(FrameLen-len(v.pending), len(samples))
		v.pending = append(v.pending, samples[:n]...)
		samples = samples[n:]
		if len(v.pending) < FrameLen {
			return probs, nil
		}
		p, err := v.frame(v.pending)
		if err != nil {
			return probs, err
		}
		probs = append(probs, p)
		v.pending = v.pending[:0]
	}
	for len(samples) >= FrameLen {
		p, err := v.frame(samples[:FrameLen])
		if err != nil {
			return probs, err
		}
		probs = append(probs, p)
		samples = samples[FrameLen:]
	}
	v.pending = append(v.pending, samples...)
	return probs, nil
}

// Flush runs the incomplete frame, padded with silence as Silero pads the
// end of a file, and returns its probability; it returns nil when no
// samples are pending.
func (v *VAD) Flush() ([]float32, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if len(v.pending) == 0 {
		return nil, nil
	}
	frame := make([]float32, FrameLen)
	copy(frame, v.pending)
	v.pending = v.pending[:0]
	p, err := v.frame(frame)
	if err != nil {
		return nil, err
	}
	return []float32{p}, nil
}

// frame runs one 512-sample frame; v.mu is held.
func (v *VAD) frame(samples []float32) (float32, error) {
	// The last 64 samples of the previous frame become the context (zeros
	// after Reset).
	copy(v.input[:contextLen], v.input[FrameLen:])
	copy(v.input[contextLen:], samples)
	if err := v.s.Run(); err != nil {
		return 0, err
	}
	out, _, err := v.s.Float32Output("output")
	if err != nil {
		return 0, err
	}
	stateN, _, err := v.s.Float32Output("stateN")
	if err != nil {
		return 0, err
	}
	if len(out) != 1 || len(stateN) != stateLen {
		return 0, fmt.Errorf("silero: output %d values, state %d, want 1 and %d", len(out), len(stateN), stateLen)
	}
	copy(v.state, stateN)
	return out[0], nil
}

// Close releases the model.
func (v *VAD) Close() error {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.s.Close()
}
