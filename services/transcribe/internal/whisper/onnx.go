package whisper

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"sync/atomic"

	onnx "github.com/yalue/onnxruntime_go"

	"github.com/clipmesh/clipmesh/platform/ort"
)

// Runtime holds the ONNX sessions of a checked export. ONNX Runtime's Run
// is safe for concurrent use, so one Runtime serves every transcription.
// ort.Init must have succeeded (the caller loads the runtime library from
// the models cache). The sessions are onnxruntime_go's own: the merged
// decoder takes a boolean input and KV-cache tensors whose shape changes at
// every step, which platform/ort's fixed-input Session does not model.
type Runtime struct {
	Model  *Model
	mel    *Mel
	enc    *onnx.DynamicAdvancedSession
	dec    *onnx.DynamicAdvancedSession
	decIn  []string
	decOut []string
	heads  int
	dh     int

	// Runs counts decoder runs with and without a KV cache (tests).
	CachedRuns, FullRuns atomic.Int64
}

// Load opens the export in dir (Open) and its two sessions, checking that
// their inputs are the ones the layout promises; a mismatch is ErrModel
// naming the file.
func Load(dir string) (*Runtime, error) {
	m, err := Open(dir)
	if err != nil {
		return nil, err
	}
	if ort.Version() == "" {
		return nil, ort.ErrNotInitialized
	}
	encPath, decPath := filepath.Join(dir, EncoderFile), filepath.Join(dir, DecoderFile)
	ins, err := ort.ModelInputs(encPath)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrModel, EncoderFile, err)
	}
	if s, ok := ins["input_features"]; !ok || len(s) != 3 || (s[1] > 0 && s[1] != int64(m.Config.NumMelBins)) {
		return nil, fmt.Errorf("%w: %s: input_features %v, want [1, %d, 3000] (num_mel_bins of %s)", ErrModel, EncoderFile, s, m.Config.NumMelBins, ConfigFile)
	}
	L := m.Config.DecoderLayers
	r := &Runtime{Model: m, heads: m.Config.DecoderHeads, dh: m.Config.DModel / m.Config.DecoderHeads}
	r.decIn = []string{"input_ids", "encoder_hidden_states"}
	r.decOut = []string{"logits"}
	for i := range L {
		for _, kind := range []string{"decoder.key", "decoder.value", "encoder.key", "encoder.value"} {
			r.decIn = append(r.decIn, fmt.Sprintf("past_key_values.%d.%s", i, kind))
			r.decOut = append(r.decOut, fmt.Sprintf("present.%d.%s", i, kind))
		}
	}
	r.decIn = append(r.decIn, "use_cache_branch")
	dins, err := ort.ModelInputs(decPath)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrModel, DecoderFile, err)
	}
	for _, n := range r.decIn {
		if _, ok := dins[n]; !ok {
			return nil, fmt.Errorf("%w: %s has no input %q (want a merged decoder with past key values for %d layers, as %s says)", ErrModel, DecoderFile, n, L, ConfigFile)
		}
	}
	if r.mel, err = NewMel(m.Config.NumMelBins); err != nil {
		return nil, err
	}
	if r.enc, err = onnx.NewDynamicAdvancedSession(encPath, []string{"input_features"}, []string{"last_hidden_state"}, nil); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrModel, EncoderFile, err)
	}
	if r.dec, err = onnx.NewDynamicAdvancedSession(decPath, r.decIn, r.decOut, nil); err != nil {
		_ = r.enc.Destroy()
		return nil, fmt.Errorf("%w: %s: %v", ErrModel, DecoderFile, err)
	}
	return r, nil
}

// Close releases the sessions.
func (r *Runtime) Close() {
	if r.enc != nil {
		_ = r.enc.Destroy()
	}
	if r.dec != nil {
		_ = r.dec.Destroy()
	}
}

// Encode runs the encoder on 30 s of audio from sample start.
func (r *Runtime) Encode(x []float32, start int) (*onnx.Tensor[float32], error) {
	feat := r.mel.Chunk(x, start)
	in, err := onnx.NewTensor(onnx.NewShape(1, int64(r.mel.Bins()), ChunkFrames), feat)
	if err != nil {
		return nil, err
	}
	defer in.Destroy()
	out := []onnx.Value{nil}
	if err := r.enc.Run([]onnx.Value{in}, out); err != nil {
		return nil, fmt.Errorf("whisper: encoder: %w", err)
	}
	t, ok := out[0].(*onnx.Tensor[float32])
	if !ok {
		destroyAll(out)
		return nil, errors.New("whisper: encoder output is not float32")
	}
	return t, nil
}

func destroyAll(vs []onnx.Value) {
	for _, v := range vs {
		if v != nil {
			_ = v.Destroy()
		}
	}
}

// beam is one hypothesis's KV cache: the tokens it covers and the present
// tensors of the last run.
type beam struct {
	tokens []int
	kv     []onnx.Value
}

// stepper runs the decoder over one window's encoder output.
type stepper struct {
	r     *Runtime
	enc   *onnx.Tensor[float32]
	beams map[int]*beam
}

func (r *Runtime) newStepper(enc *onnx.Tensor[float32]) *stepper {
	return &stepper{r: r, enc: enc, beams: map[int]*beam{}}
}

func (s *stepper) close() {
	for _, b := range s.beams {
		destroyAll(b.kv)
	}
	s.beams = map[int]*beam{}
}

// Logits implements Stepper: with a cache covering a prefix of tokens, only
// the new tokens are run (use_cache_branch true); otherwise the whole
// prefix, with one-step dummy past tensors (use_cache_branch false), as
// Optimum's merged decoder expects.
func (s *stepper) Logits(ctx context.Context, id int, tokens []int) ([]float32, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	b := s.beams[id]
	if b == nil {
		b = &beam{}
		s.beams[id] = b
	}
	useCache := b.kv != nil && len(b.tokens) < len(tokens) && slices.Equal(b.tokens, tokens[:len(b.tokens)])
	newToks := tokens
	if useCache {
		newToks = tokens[len(b.tokens):]
	}
	ids := make([]int64, len(newToks))
	for i, t := range newToks {
		ids[i] = int64(t)
	}
	var owned []onnx.Value
	defer func() { destroyAll(owned) }()
	idT, err := onnx.NewTensor(onnx.NewShape(1, int64(len(ids))), ids)
	if err != nil {
		return nil, err
	}
	owned = append(owned, idT)
	inputs := []onnx.Value{idT, s.enc}
	if useCache {
		inputs = append(inputs, b.kv...)
	} else {
		dummy := make([]float32, s.r.heads*s.r.dh)
		for range len(s.r.decOut) - 1 {
			t, err := onnx.NewTensor(onnx.NewShape(1, int64(s.r.heads), 1, int64(s.r.dh)), slices.Clone(dummy))
			if err != nil {
				return nil, err
			}
			owned = append(owned, t)
			inputs = append(inputs, t)
		}
	}
	flag, err := onnx.NewTensor(onnx.NewShape(1), []bool{useCache})
	if err != nil {
		return nil, err
	}
	owned = append(owned, flag)
	inputs = append(inputs, flag)
	outs := make([]onnx.Value, len(s.r.decOut))
	if err := s.r.dec.Run(inputs, outs); err != nil {
		destroyAll(outs)
		return nil, fmt.Errorf("whisper: decoder: %w", err)
	}
	if useCache {
		s.r.CachedRuns.Add(1)
	} else {
		s.r.FullRuns.Add(1)
	}
	logits, ok := outs[0].(*onnx.Tensor[float32])
	if !ok {
		destroyAll(outs)
		return nil, errors.New("whisper: logits are not float32")
	}
	shape := logits.GetShape()
	v := int(shape[len(shape)-1])
	data := logits.GetData()
	last := slices.Clone(data[len(data)-v:])
	_ = logits.Destroy()
	destroyAll(b.kv)
	b.kv = outs[1:]
	b.tokens = slices.Clone(tokens)
	return last, nil
}

// Reorder implements Stepper by cloning the caches.
func (s *stepper) Reorder(srcOf []int) error {
	next := make(map[int]*beam, len(srcOf))
	for i, src := range srcOf {
		old := s.beams[src]
		nb := &beam{}
		if old != nil {
			nb.tokens = slices.Clone(old.tokens)
			for _, v := range old.kv {
				t, ok := v.(*onnx.Tensor[float32])
				if !ok {
					return errors.New("whisper: cache tensor is not float32")
				}
				c, err := t.Clone()
				if err != nil {
					return err
				}
				nb.kv = append(nb.kv, c)
			}
		}
		next[i] = nb
	}
	s.close()
	s.beams = next
	return nil
}
