package whisper

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
)

// Stepper is one decoder pass of a model over the same encoded audio: the
// logits of the next token after each prefix. An ONNX stepper keeps a KV
// cache per beam; Reorder moves the caches when beams are reselected.
type Stepper interface {
	// Logits returns the next-token logits after tokens (the whole prefix,
	// prompt included) for beam.
	Logits(ctx context.Context, beam int, tokens []int) ([]float32, error)
	// Reorder makes new beam i continue from old beam srcOf[i]'s state
	// (beam search), all at once.
	Reorder(srcOf []int) error
}

// DecodeOptions tune one 30-second window.
type DecodeOptions struct {
	// BeamSize > 1 runs beam search at temperature 0; 0 or 1 is greedy.
	BeamSize int
	// Temperatures are tried in order while a result fails the checks
	// (default 0, 0.2, 0.4, 0.6, 0.8, 1.0, as whisper does).
	Temperatures []float64
	// CompressionRatioThreshold: a text whose gzip ratio is higher is
	// repetitive and retried (default 2.4).
	CompressionRatioThreshold float64
	// LogProbThreshold: an average log-probability lower than it is
	// retried (default -1).
	LogProbThreshold float64
	// NoSpeechThreshold: with P(no speech) above it at the first step and a
	// low average log-probability, the window is silence (default 0.6).
	NoSpeechThreshold float64
	// MaxTokens bounds the sampled tokens (default 224, whisper's n_ctx/2).
	MaxTokens int
	// Timestamps predicts timestamp tokens (segments); false appends
	// <|notimestamps|> to the prompt.
	Timestamps bool
	// Seed makes sampling at temperature > 0 reproducible.
	Seed uint64
}

func (o DecodeOptions) withDefaults() DecodeOptions {
	if len(o.Temperatures) == 0 {
		o.Temperatures = []float64{0, 0.2, 0.4, 0.6, 0.8, 1.0}
	}
	if o.CompressionRatioThreshold == 0 {
		o.CompressionRatioThreshold = 2.4
	}
	if o.LogProbThreshold == 0 {
		o.LogProbThreshold = -1
	}
	if o.NoSpeechThreshold == 0 {
		o.NoSpeechThreshold = 0.6
	}
	if o.MaxTokens == 0 {
		o.MaxTokens = 224
	}
	return o
}

// Result is the decoding of one window.
type Result struct {
	Tokens       []int // sampled tokens, without the prompt and <|endoftext|>
	AvgLogProb   float64
	NoSpeechProb float64
	Temperature  float64
	Compression  float64
	// Silent is true when the no-speech check held.
	Silent bool
}

// DetectLanguage runs one step after <|startoftranscript|> and returns the
// language codes by probability (restricted to the language tokens), best
// first, with their probabilities.
func DetectLanguage(ctx context.Context, s Stepper, tk *Tokenizer) ([]string, []float64, error) {
	logits, err := s.Logits(ctx, 0, []int{tk.SOT})
	if err != nil {
		return nil, nil, err
	}
	codes := tk.LanguageCodes()
	l := make([]float64, len(codes))
	for i, c := range codes {
		id := tk.Languages[c]
		if id >= len(logits) {
			return nil, nil, errors.New("whisper: logits shorter than the vocabulary")
		}
		l[i] = float64(logits[id])
	}
	p := softmax(l, 1)
	idx := make([]int, len(codes))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return p[idx[a]] > p[idx[b]] })
	outC, outP := make([]string, len(idx)), make([]float64, len(idx))
	for i, j := range idx {
		outC[i], outP[i] = codes[j], p[j]
	}
	return outC, outP, nil
}

// Prompt is the decoder prompt for a language and task.
func Prompt(tk *Tokenizer, lang string, translate, timestamps bool) []int {
	task := tk.Transcribe
	if translate {
		task = tk.Translate
	}
	p := []int{tk.SOT, tk.Languages[lang], task}
	if !timestamps {
		p = append(p, tk.NoTimestamps)
	}
	return p
}

// Decode decodes one window after prompt, with temperature fallback: the
// first temperature whose result passes the compression-ratio and
// log-probability checks wins (else the last one); a window that looks
// silent (no-speech check) stops the fallback.
func Decode(ctx context.Context, s Stepper, tk *Tokenizer, prompt []int, o DecodeOptions) (Result, error) {
	o = o.withDefaults()
	var res Result
	for _, temp := range o.Temperatures {
		r, err := decodeAt(ctx, s, tk, prompt, o, temp)
		if err != nil {
			return Result{}, err
		}
		res = r
		if r.NoSpeechProb > o.NoSpeechThreshold && r.AvgLogProb < o.LogProbThreshold {
			res.Silent = true
			return res, nil
		}
		if r.Compression <= o.CompressionRatioThreshold && r.AvgLogProb >= o.LogProbThreshold {
			return res, nil
		}
	}
	return res, nil
}

type hyp struct {
	tokens []int
	logp   float64
	done   bool
}

func decodeAt(ctx context.Context, s Stepper, tk *Tokenizer, prompt []int, o DecodeOptions, temp float64) (Result, error) {
	beams := 1
	if temp == 0 && o.BeamSize > 1 {
		beams = o.BeamSize
	}
	rng := rand.New(rand.NewPCG(o.Seed, math.Float64bits(temp)))
	hs := []hyp{{}}
	res := Result{Temperature: temp, NoSpeechProb: math.NaN()}
	for step := 0; step < o.MaxTokens; step++ {
		if err := ctx.Err(); err != nil {
			return Result{}, err
		}
		type cand struct {
			from int
			tok  int
			logp float64
		}
		var cands []cand
		allDone := true
		for b, h := range hs {
			if h.done {
				cands = append(cands, cand{from: b, tok: -1, logp: h.logp})
				continue
			}
			allDone = false
			logits, err := s.Logits(ctx, b, append(slices.Clone(prompt), h.tokens...))
			if err != nil {
				return Result{}, err
			}
			lp := logSoftmax(logits)
			if step == 0 && b == 0 && tk.NoSpeech >= 0 && tk.NoSpeech < len(lp) {
				res.NoSpeechProb = math.Exp(lp[tk.NoSpeech])
			}
			applyRules(lp, tk, h.tokens, o.Timestamps, step)
			if beams == 1 {
				tok := argmax(lp)
				if temp > 0 {
					tok = sample(logits, lp, temp, rng)
				}
				cands = append(cands, cand{from: b, tok: tok, logp: h.logp + lp[tok]})
				continue
			}
			for _, tok := range topK(lp, beams+1) {
				cands = append(cands, cand{from: b, tok: tok, logp: h.logp + lp[tok]})
			}
		}
		if allDone {
			break
		}
		sort.SliceStable(cands, func(i, j int) bool { return cands[i].logp > cands[j].logp })
		var next []hyp
		var srcOf []int
		identity := true
		for _, c := range cands {
			if len(next) == beams {
				break
			}
			h := hs[c.from]
			identity = identity && c.from == len(next)
			srcOf = append(srcOf, c.from)
			if c.tok < 0 {
				next = append(next, h)
				continue
			}
			next = append(next, hyp{tokens: append(slices.Clone(h.tokens), c.tok), logp: c.logp, done: c.tok == tk.EOT})
		}
		if !identity {
			if err := s.Reorder(srcOf); err != nil {
				return Result{}, err
			}
		}
		hs = next
	}
	// Best by length-normalised log-probability (whisper's default
	// ranking without a length penalty).
	best := 0
	score := func(h hyp) float64 { return h.logp / float64(max(1, len(h.tokens))) }
	for i := range hs {
		if score(hs[i]) > score(hs[best]) {
			best = i
		}
	}
	h := hs[best]
	toks := h.tokens
	if n := len(toks); n > 0 && toks[n-1] == tk.EOT {
		toks = toks[:n-1]
	}
	res.Tokens = toks
	res.AvgLogProb = h.logp / float64(max(1, len(h.tokens)))
	res.Compression = CompressionRatio(tk.Decode(toks))
	if math.IsNaN(res.NoSpeechProb) {
		res.NoSpeechProb = 0
	}
	return res, nil
}

// applyRules masks tokens the decoder may not produce next (whisper's
// ApplyTimestampRules and SuppressBlank, reduced): special tokens other than
// <|endoftext|> and timestamps are never sampled; without timestamps no
// timestamp is; with them, the first token is a timestamp, timestamps come
// in pairs and never go back, and when the timestamps together are more
// probable than any text token a timestamp is forced. At the first step
// <|endoftext|> is suppressed.
func applyRules(lp []float64, tk *Tokenizer, prev []int, timestamps bool, step int) {
	ninf := math.Inf(-1)
	for id := range lp {
		if id != tk.EOT && !tk.IsTimestamp(id) && tk.IsSpecial(id) {
			lp[id] = ninf
		}
	}
	if step == 0 {
		lp[tk.EOT] = ninf
	}
	if !timestamps {
		for id := tk.TimestampBegin; id < len(lp); id++ {
			lp[id] = ninf
		}
		return
	}
	n := len(prev)
	lastTS := n >= 1 && tk.IsTimestamp(prev[n-1])
	penultTS := n < 2 || tk.IsTimestamp(prev[n-2])
	if lastTS {
		if penultTS { // "<|a|><|a|>" or a first timestamp: text must follow
			for id := tk.TimestampBegin; id < len(lp); id++ {
				lp[id] = ninf
			}
		} else { // "text <|b|>": the next segment's timestamp, or the end
			for id := 0; id < tk.EOT; id++ {
				lp[id] = ninf
			}
		}
	}
	// Timestamps never decrease, and a segment has a non-zero length: the
	// opening timestamp of the next segment may repeat the closing one.
	last := -1
	for _, t := range prev {
		if tk.IsTimestamp(t) {
			last = t
		}
	}
	if last >= 0 {
		floor := last + 1
		if lastTS && !penultTS {
			floor = last
		}
		for id := tk.TimestampBegin; id < min(floor, len(lp)); id++ {
			lp[id] = ninf
		}
	}
	if n == 0 {
		for id := 0; id < tk.TimestampBegin; id++ {
			lp[id] = ninf
		}
		return
	}
	// Force a timestamp when they are more likely together than any other
	// token.
	var tsMass float64
	textMax := ninf
	for id, v := range lp {
		if tk.IsTimestamp(id) {
			tsMass += math.Exp(v)
		} else {
			textMax = max(textMax, v) // whisper counts <|endoftext|> as text here
		}
	}
	if tsMass > 0 && math.Log(tsMass) > textMax {
		for id := 0; id < tk.TimestampBegin; id++ {
			lp[id] = ninf
		}
	}
}

// Segment is a timed piece of a window's text.
type Segment struct {
	Start, End float64 // seconds from the window start
	Tokens     []int
}

// Segments splits a window's tokens at timestamp pairs; tokens without
// timestamps form one segment spanning the window's speech (0 to limit).
func Segments(tk *Tokenizer, toks []int, limit float64) []Segment {
	var out []Segment
	var cur []int
	start := -1.0
	for _, t := range toks {
		if !tk.IsTimestamp(t) {
			cur = append(cur, t)
			continue
		}
		ts := tk.TimestampSeconds(t)
		if start < 0 {
			start = ts
			continue
		}
		if len(cur) > 0 {
			out = append(out, Segment{Start: start, End: max(start, ts), Tokens: cur})
		}
		cur, start = nil, -1
	}
	if len(cur) > 0 {
		s := max(0, start)
		out = append(out, Segment{Start: s, End: max(s, limit), Tokens: cur})
	}
	return out
}

// CompressionRatio is len(text) / len(gzip(text)): high for repetitive
// text, whisper's sign of a decoding stuck in a loop.
func CompressionRatio(text string) float64 {
	if text == "" {
		return 0
	}
	var b bytes.Buffer
	w, _ := gzip.NewWriterLevel(&b, gzip.BestCompression)
	_, _ = w.Write([]byte(text))
	_ = w.Close()
	return float64(len(text)) / float64(b.Len())
}

func logSoftmax(logits []float32) []float64 {
	m := math.Inf(-1)
	for _, v := range logits {
		m = max(m, float64(v))
	}
	var sum float64
	for _, v := range logits {
		sum += math.Exp(float64(v) - m)
	}
	lse := m + math.Log(sum)
	out := make([]float64, len(logits))
	for i, v := range logits {
		out[i] = float64(v) - lse
	}
	return out
}

func softmax(l []float64, temp float64) []float64 {
	m := math.Inf(-1)
	for _, v := range l {
		m = max(m, v)
	}
	out := make([]float64, len(l))
	var sum float64
	for i, v := range l {
		out[i] = math.Exp((v - m) / temp)
		sum += out[i]
	}
	for i := range out {
		out[i] /= sum
	}
	return out
}

func argmax(v []float64) int {
	best := 0
	for i, x := range v {
		if x > v[best] {
			best = i
		}
	}
	return best
}

func topK(v []float64, k int) []int {
	idx := make([]int, len(v))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return v[idx[a]] > v[idx[b]] })
	var out []int
	for _, i := range idx[:min(k, len(idx))] {
		if !math.IsInf(v[i], -1) {
			out = append(out, i)
		}
	}
	return out
}

// sample draws a token from the masked distribution at temperature temp.
func sample(_ []float32, lp []float64, temp float64, rng *rand.Rand) int {
	p := softmax(lp, temp)
	r := rng.Float64()
	for i, x := range p {
		r -= x
		if r <= 0 {
			return i
		}
	}
	return argmax(lp)
}
