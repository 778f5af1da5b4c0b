package whisper

import (
	"context"
	"math"
	"slices"
	"strings"
	"testing"
)

// vocabSize of the test tokenizer's model: 17 tokens, then timestamps
// <|0.00|> … <|1.00|>.
const vocabSize = 17 + 51

// scripted is a Stepper whose next token depends only on the sampled
// tokens so far (the prompt of length promptLen is skipped): next returns
// the logits for that prefix.
type scripted struct {
	promptLen int
	next      func(sampled []int) []float32
	forks     int
	calls     int
}

func (s *scripted) Logits(_ context.Context, _ int, tokens []int) ([]float32, error) {
	s.calls++
	return s.next(tokens[min(len(tokens), s.promptLen):]), nil
}

func (s *scripted) Reorder([]int) error { s.forks++; return nil }

// want returns logits that make tok the clear choice.
func want(tok int) []float32 {
	l := make([]float32, vocabSize)
	for i := range l {
		l[i] = -10
	}
	l[tok] = 10
	return l
}

func testTokenizer(t *testing.T) *Tokenizer {
	t.Helper()
	m, err := Open(writeExport(t, 80))
	if err != nil {
		t.Fatal(err)
	}
	return m.Tokenizer
}

func TestDecodeTimestamps(t *testing.T) {
	t.Parallel()
	tk := testTokenizer(t)
	ts := func(sec float64) int { return tk.TimestampBegin + int(math.Round(sec/0.02)) }
	script := []int{ts(0), 0, 1, ts(0.5), ts(0.5), 2, 3, ts(0.98), tk.EOT}
	prompt := Prompt(tk, "en", false, true)
	s := &scripted{promptLen: len(prompt), next: func(sampled []int) []float32 { return want(script[min(len(sampled), len(script)-1)]) }}
	r, err := Decode(context.Background(), s, tk, prompt, DecodeOptions{Timestamps: true})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(r.Tokens, script[:len(script)-1]) || r.Temperature != 0 || r.Silent || r.AvgLogProb < -0.01 {
		t.Fatalf("result %+v, want the script at temperature 0", r)
	}
	segs := Segments(tk, r.Tokens, 30)
	if len(segs) != 2 || segs[0].Start != 0 || segs[0].End != 0.5 || tk.Decode(segs[0].Tokens) != "Hello world" ||
		segs[1].Start != 0.5 || math.Abs(segs[1].End-0.98) > 1e-9 || tk.Decode(segs[1].Tokens) != " café" {
		t.Errorf("segments %+v", segs)
	}
	if !slices.Equal(prompt, []int{tk.SOT, tk.Languages["en"], tk.Transcribe}) {
		t.Errorf("prompt %v", prompt)
	}
}

// TestTimestampRules: a model that wants to go back in time, or to put
// text right after an opening timestamp pair's first half, is overruled.
func TestTimestampRules(t *testing.T) {
	t.Parallel()
	tk := testTokenizer(t)
	ts := func(sec float64) int { return tk.TimestampBegin + int(math.Round(sec/0.02)) }
	lp := func(prev []int, favourite int) []float64 {
		l := make([]float64, vocabSize)
		for i := range l {
			l[i] = -5
		}
		l[favourite] = 0
		applyRules(l, tk, prev, true, len(prev))
		return l
	}
	// First token: a timestamp, whatever the model prefers.
	if got := argmax(lp(nil, 0)); !tk.IsTimestamp(got) {
		t.Errorf("first token %d, want a timestamp", got)
	}
	// After "<|0.50|> Hello <|0.70|>" going back to 0.20 is forbidden;
	// text is forbidden too (the next segment must open).
	l := lp([]int{ts(0.5), 0, ts(0.7)}, ts(0.2))
	if got := argmax(l); got < ts(0.7) || !tk.IsTimestamp(got) && got != tk.EOT {
		t.Errorf("after a closing timestamp: %d", got)
	}
	if !math.IsInf(l[0], -1) || !math.IsInf(l[ts(0.2)], -1) || math.IsInf(l[ts(0.7)], -1) {
		t.Errorf("masks: text %v, earlier %v, same %v", l[0], l[ts(0.2)], l[ts(0.7)])
	}
	// After a pair "<|0.70|><|0.70|>", text must follow.
	if got := argmax(lp([]int{ts(0.5), 0, ts(0.7), ts(0.7)}, ts(0.9))); tk.IsTimestamp(got) {
		t.Errorf("after a pair: %d, want text", got)
	}
	// Special tokens are never sampled; EOT not at the first step.
	l = lp(nil, tk.Translate)
	if !math.IsInf(l[tk.Translate], -1) || !math.IsInf(l[tk.EOT], -1) {
		t.Error("special tokens not masked")
	}
}

func TestDetectLanguage(t *testing.T) {
	t.Parallel()
	tk := testTokenizer(t)
	s := &scripted{next: func([]int) []float32 {
		l := want(tk.Languages["de"])
		l[tk.Languages["en"]] = 9
		l[0] = 20 // a text token is not a language
		return l
	}}
	codes, probs, err := DetectLanguage(context.Background(), s, tk)
	if err != nil {
		t.Fatal(err)
	}
	// softmax over (de 10, en 9, haw -10).
	wantDe := 1 / (1 + math.Exp(-1) + math.Exp(-20))
	if codes[0] != "de" || codes[1] != "en" || math.Abs(probs[0]-wantDe) > 1e-9 {
		t.Errorf("languages %v %v, want de %.4f first", codes, probs, wantDe)
	}
}

// TestFallback: greedy decoding loops on one word (gzip ratio far above
// 2.4), so the decoder retries at a higher temperature, where it stops.
func TestFallback(t *testing.T) {
	t.Parallel()
	tk := testTokenizer(t)
	prompt := Prompt(tk, "en", false, false)
	s := &scripted{promptLen: len(prompt), next: func([]int) []float32 {
		l := make([]float32, vocabSize)
		for i := range l {
			l[i] = -10
		}
		l[1], l[tk.EOT] = 2, 1.9 // " world" just above the end, forever
		return l
	}}
	r, err := Decode(context.Background(), s, tk, prompt, DecodeOptions{Seed: 7, MaxTokens: 100})
	if err != nil {
		t.Fatal(err)
	}
	greedy := CompressionRatio(strings.Repeat(" world", 100))
	if greedy < 2.4 {
		t.Fatalf("a loop compresses only %.2f", greedy)
	}
	if r.Temperature == 0 || r.Compression > 2.4 || len(r.Tokens) >= 100 {
		t.Errorf("result %+v, want a short text at a temperature above 0 (greedy ratio %.1f)", r, greedy)
	}
}

// TestBeam: greedy takes the locally best first word and then meets a flat
// distribution; a beam of 2 finds the path that is better overall.
func TestBeam(t *testing.T) {
	t.Parallel()
	tk := testTokenizer(t)
	prompt := Prompt(tk, "en", false, false)
	next := func(sampled []int) []float32 {
		l := make([]float32, vocabSize)
		switch {
		case len(sampled) == 0:
			l[0], l[2] = 1.0, 0.9 // "Hello" slightly above " caf"
		case sampled[0] == 2 && len(sampled) == 1:
			l[3] = 12 // " caf" → "é" for sure
		case sampled[0] == 2:
			l[tk.EOT] = 12
		case len(sampled) < 3:
			// after "Hello": no idea (flat), then the end
		default:
			l[tk.EOT] = 12
		}
		return l
	}
	g, err := Decode(context.Background(), &scripted{promptLen: len(prompt), next: next}, tk, prompt, DecodeOptions{Temperatures: []float64{0}})
	if err != nil {
		t.Fatal(err)
	}
	bs := &scripted{promptLen: len(prompt), next: next}
	b, err := Decode(context.Background(), bs, tk, prompt, DecodeOptions{BeamSize: 2, Temperatures: []float64{0}})
	if err != nil {
		t.Fatal(err)
	}
	if g.Tokens[0] != 0 || tk.Decode(b.Tokens) != " café" || b.AvgLogProb <= g.AvgLogProb || bs.forks == 0 {
		t.Errorf("greedy %q (%.2f), beam %q (%.2f, %d forks)", tk.Decode(g.Tokens), g.AvgLogProb, tk.Decode(b.Tokens), b.AvgLogProb, bs.forks)
	}
}

// TestNoSpeech: a confident <|nocaptions|> at the first step and
// improbable text make the window silent, without trying every
// temperature.
func TestNoSpeech(t *testing.T) {
	t.Parallel()
	tk := testTokenizer(t)
	prompt := Prompt(tk, "en", false, false)
	s := &scripted{promptLen: len(prompt), next: func(sampled []int) []float32 {
		l := make([]float32, vocabSize)
		l[tk.NoSpeech] = 8
		if len(sampled) > 0 {
			l[tk.EOT] = 1
		}
		return l
	}}
	r, err := Decode(context.Background(), s, tk, prompt, DecodeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !r.Silent || r.NoSpeechProb < 0.9 || r.Temperature != 0 {
		t.Errorf("result %+v, want silent at temperature 0", r)
	}
}

func TestCompressionRatio(t *testing.T) {
	t.Parallel()
	if r := CompressionRatio("And so, my fellow Americans, ask not what your country can do for you."); r > 1.5 {
		t.Errorf("a sentence compresses %.2f", r)
	}
	if r := CompressionRatio(strings.Repeat("thank you ", 40)); r < 2.4 {
		t.Errorf("a loop compresses %.2f", r)
	}
}
