package sphinx

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"unicode"

	"github.com/clipmesh/clipmesh/services/transcribe/internal/engine"
)

// ErrNotAligned is wrapped by AlignWords when the words cannot be aligned:
// a word missing from the dictionary, or no path through the audio.
var ErrNotAligned = errors.New("sphinx: words not aligned")

// dictWord is the dictionary form of a subtitle token: lower case, edge
// punctuation removed ("Americans," → "americans", "don't" stays); "" for
// a token with no letter or digit.
func dictWord(tok string) string {
	w := strings.TrimFunc(strings.ToLower(tok), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
	return w
}

// AlignWords force-aligns tokens (subtitle words, in order) to
// x[start:end] (16 kHz mono): the decoder searches a grammar accepting
// exactly those words, with optional silence between them. Tokens without
// letters (dashes, music notes) get a zero-length time at the end of the
// word before. It implements align.Forced.
func (e *Engine) AlignWords(ctx context.Context, x []float32, start, end int, tokens []string) ([]engine.Word, error) {
	start, end = max(0, start), min(len(x), end)
	if end <= start || len(tokens) == 0 {
		return nil, fmt.Errorf("%w: empty audio or text", ErrNotAligned)
	}
	d, err := e.get(ctx)
	if err != nil {
		return nil, err
	}
	defer func() { e.pool <- d }()
	var words []string
	var index []int // token index of each grammar word
	for i, t := range tokens {
		w := dictWord(t)
		if w == "" {
			continue
		}
		if strings.ContainsAny(w, ";=|*+<>()[]{}/\\\"") || !d.known(w) {
			return nil, fmt.Errorf("%w: %q is not in the dictionary", ErrNotAligned, w)
		}
		words, index = append(words, w), append(index, i)
	}
	if len(words) == 0 {
		return nil, fmt.Errorf("%w: no word to align", ErrNotAligned)
	}
	y := x[start:end]
	if !e.cfg.NoConditioning {
		y = condition(y, e.cfg.HighpassHz)
	}
	raw, err := d.align(engine.FloatsToInt16(y), words)
	if err != nil {
		return nil, err
	}
	offset := float64(start) / engine.SampleRate
	limit := float64(end) / engine.SampleRate
	seg := toSegment(raw, offset, limit)
	if len(seg.Words) != len(words) {
		return nil, fmt.Errorf("%w: %d of %d words found", ErrNotAligned, len(seg.Words), len(words))
	}
	out := make([]engine.Word, len(tokens))
	k := 0
	prevEnd := offset
	for i, t := range tokens {
		if k < len(index) && index[k] == i {
			w := seg.Words[k]
			w.Text = t
			out[i] = w
			prevEnd = w.End
			k++
			continue
		}
		out[i] = engine.Word{Start: prevEnd, End: prevEnd, Text: t, Confidence: 1, Approximate: true}
	}
	return out, nil
}
