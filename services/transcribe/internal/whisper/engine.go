package whisper

import (
	"context"
	"math"
	"strings"
	"unicode/utf8"

	"github.com/clipmesh/clipmesh/platform/ort"
	"github.com/clipmesh/clipmesh/services/transcribe/internal/engine"
)

// Name is the engine name in transcripts.
const Name = "whisper-onnx"

// Options tune the engine.
type Options struct {
	// Decode are the per-window decoding options (beam size, temperatures,
	// thresholds); Timestamps is always on.
	Decode DecodeOptions
	// Translate outputs English whatever the language spoken.
	Translate bool
}

// Engine transcribes with a Whisper ONNX export. It is safe for concurrent
// use (each call has its own decoder state).
type Engine struct {
	rt   *Runtime
	opts Options
}

var _ engine.Engine = (*Engine)(nil)

// NewEngine wraps a loaded Runtime.
func NewEngine(rt *Runtime, o Options) *Engine {
	o.Decode.Timestamps = true
	return &Engine{rt: rt, opts: o}
}

// Producer names the engine and the export folder.
func (e *Engine) Producer() engine.Producer {
	p := engine.Producer{Engine: Name, Model: e.rt.Model.Name, Version: "onnxruntime " + ort.Version(),
		Note: "word times are spread over each segment in proportion to word length (approximate)"}
	return p
}

// Languages are the export's language tokens.
func (e *Engine) Languages() []string { return e.rt.Model.Tokenizer.LanguageCodes() }

// window is a stretch of audio decoded at once (at most 30 s).
type window struct{ start, end int }

// windows cuts the audio into ≤ 30 s windows: consecutive ones without
// speech regions, else packed from the regions so that a window starts
// shortly before speech and never ends inside a region that fits.
func windows(n int, speech [][2]float64) []window {
	if speech == nil {
		var w []window
		for s := 0; s < n; s += ChunkSamples {
			w = append(w, window{s, min(n, s+ChunkSamples)})
		}
		return w
	}
	const pad = SampleRate / 5 // 0.2 s of lead-in
	var w []window
	for _, r := range speech {
		a, b := max(0, int(r[0]*SampleRate)-pad), min(n, int(r[1]*SampleRate)+pad)
		if k := len(w); k > 0 && b-w[k-1].start <= ChunkSamples {
			w[k-1].end = max(w[k-1].end, b)
			continue
		}
		for a < b { // a region longer than a window is cut in 30 s pieces
			w = append(w, window{a, min(b, a+ChunkSamples)})
			a += ChunkSamples
		}
	}
	return w
}

// Transcribe implements engine.Engine: language detection on the first
// window with speech when the language is auto, then each window decoded
// (timestamps on) with temperature fallback; silent windows are skipped.
func (e *Engine) Transcribe(ctx context.Context, audio engine.Audio, opts engine.Options) (*engine.Transcript, error) {
	t := &engine.Transcript{Duration: audio.Duration(), Producer: e.Producer(), Segments: []engine.Segment{}}
	lang := strings.ToLower(strings.TrimSpace(opts.Language))
	auto := lang == "" || lang == engine.LanguageAuto
	if !auto {
		l, err := engine.CheckLanguage(Name, lang, e.Languages())
		if err != nil {
			return nil, err
		}
		lang, t.Language, t.LanguageProbability = l, l, 1
	}
	if audio.Len() == 0 {
		t.Reason = "no audio"
		return t, nil
	}
	translate := e.opts.Translate || opts.Translate
	if translate {
		t.Producer.Note += "; translated to English (language is the one spoken)"
	}
	x := audio.Floats()
	ws := windows(len(x), opts.Speech)
	if len(ws) == 0 {
		t.Reason = "no speech (silence)"
		return t, nil
	}
	for i, w := range ws {
		enc, err := e.rt.Encode(x[:w.end], w.start)
		if err != nil {
			return nil, err
		}
		st := e.rt.newStepper(enc)
		segs, err := e.window(ctx, st, w, &lang, auto && t.Language == "", translate, t)
		st.close()
		_ = enc.Destroy()
		if err != nil {
			return nil, err
		}
		t.Segments = append(t.Segments, segs...)
		if opts.Progress != nil {
			opts.Progress(float64(i+1) / float64(len(ws)))
		}
	}
	if t.Language == "" {
		t.Language = lang
	}
	if len(t.Segments) == 0 {
		t.Reason = "no speech recognized"
	}
	return t, nil
}

// window decodes one window; detect runs language detection first.
func (e *Engine) window(ctx context.Context, st *stepper, w window, lang *string, detect, translate bool, t *engine.Transcript) ([]engine.Segment, error) {
	tk := e.rt.Model.Tokenizer
	if detect {
		codes, probs, err := DetectLanguage(ctx, st, tk)
		if err != nil {
			return nil, err
		}
		*lang, t.Language, t.LanguageProbability = codes[0], codes[0], probs[0]
	}
	prompt := Prompt(tk, *lang, translate, true)
	r, err := Decode(ctx, st, tk, prompt, e.opts.Decode)
	if err != nil {
		return nil, err
	}
	if r.Silent {
		return nil, nil
	}
	offset := float64(w.start) / SampleRate
	limit := float64(w.end-w.start) / SampleRate
	var out []engine.Segment
	for _, s := range Segments(tk, r.Tokens, limit) {
		text := strings.TrimSpace(tk.Decode(s.Tokens))
		if text == "" {
			continue
		}
		seg := engine.Segment{Start: offset + min(s.Start, limit), End: offset + min(s.End, limit), Text: text}
		seg.Words = proportional(strings.Fields(text), seg.Start, seg.End, r.AvgLogProb)
		out = append(out, seg)
	}
	return out, nil
}

// proportional spreads words over [a, b] by their length, flagged
// approximate, with the window's mean token probability as confidence.
func proportional(words []string, a, b, avgLogProb float64) []engine.Word {
	total := 0
	for _, w := range words {
		total += utf8.RuneCountInString(w) + 1
	}
	conf := min(1, max(0, math.Exp(avgLogProb)))
	out := make([]engine.Word, len(words))
	at := a
	for i, w := range words {
		next := at + float64(utf8.RuneCountInString(w)+1)/float64(total)*(b-a)
		end := next
		if i < len(words)-1 {
			end = max(at, next-(b-a)/float64(total))
		} else {
			end = b
		}
		out[i] = engine.Word{Start: at, End: end, Text: w, Confidence: conf, Approximate: true}
		at = next
	}
	return out
}
