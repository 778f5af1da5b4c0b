// Package align turns subtitle cues the user already has into a timed
// transcript of the audio they belong to: each cue is trimmed to the speech
// a voice-activity detector found inside it, and its words are placed by a
// forced aligner when one is given (PocketSphinx for English), else spread
// over the trimmed cue in proportion to their length and flagged
// approximate.
package align

import (
	"context"
	"strings"
	"unicode/utf8"

	"github.com/clipmesh/clipmesh/services/transcribe/internal/captions"
	"github.com/clipmesh/clipmesh/services/transcribe/internal/engine"
)

// Forced places known words in a stretch of audio.
type Forced interface {
	// AlignWords finds words (in order) in x[start:end] (16 kHz mono
	// samples); it returns one timed word per input word, times in seconds
	// from the start of x, or an error when they cannot be aligned (out of
	// vocabulary, no path through the audio).
	AlignWords(ctx context.Context, x []float32, start, end int, words []string) ([]engine.Word, error)
}

// Options configure Cues.
type Options struct {
	// Speech are the voice-activity regions [start, end] in seconds (nil:
	// no detector ran; cues keep their times).
	Speech [][2]float64
	// Forced aligns words when set.
	Forced Forced
	// Margin is how far (seconds) outside its cue a word may be placed by
	// the forced aligner: subtitles are often a little early or late.
	// 0 means 0.3 s.
	Margin float64
	// Progress gets the fraction of cues done.
	Progress func(float64)
}

// Stats says how the words were placed.
type Stats struct {
	Cues, Trimmed, Forced, Proportional int
}

// Cues aligns cues to x (16 kHz mono; nil when there is no audio) and
// returns one segment per cue.
func Cues(ctx context.Context, cues []captions.Cue, x []float32, o Options) ([]engine.Segment, Stats, error) {
	if o.Margin <= 0 {
		o.Margin = 0.3
	}
	dur := float64(len(x)) / engine.SampleRate
	var st Stats
	segs := make([]engine.Segment, 0, len(cues))
	for i, c := range cues {
		if err := ctx.Err(); err != nil {
			return nil, st, err
		}
		st.Cues++
		a, b := c.Start, c.End
		if x != nil {
			a, b = min(a, dur), min(b, dur)
		}
		if o.Speech != nil {
			if ta, tb, ok := trim(a, b, o.Speech); ok {
				if ta > a || tb < b {
					st.Trimmed++
				}
				a, b = ta, tb
			}
		}
		tokens := strings.Fields(c.Text)
		var words []engine.Word
		if o.Forced != nil && x != nil && b > a {
			lo := max(0, a-o.Margin)
			hi := min(dur, b+o.Margin)
			w, err := o.Forced.AlignWords(ctx, x, int(lo*engine.SampleRate), int(hi*engine.SampleRate), tokens)
			if err == nil && len(w) == len(tokens) {
				words = w
				st.Forced++
			} else if ctx.Err() != nil {
				return nil, st, ctx.Err()
			}
		}
		if words == nil {
			words = Proportional(tokens, a, b)
			st.Proportional++
		}
		s := engine.Segment{Text: strings.Join(tokens, " "), Words: words}
		if len(words) > 0 {
			s.Start, s.End = words[0].Start, words[len(words)-1].End
		} else {
			s.Start, s.End = a, b
		}
		segs = append(segs, s)
		if o.Progress != nil {
			o.Progress(float64(i+1) / float64(len(cues)))
		}
	}
	return segs, st, nil
}

// trim shrinks [a, b] to the part covered by speech regions overlapping it;
// ok is false when none overlaps.
func trim(a, b float64, speech [][2]float64) (float64, float64, bool) {
	lo, hi, ok := b, a, false
	for _, r := range speech {
		if r[1] <= a || r[0] >= b {
			continue
		}
		lo, hi, ok = min(lo, max(a, r[0])), max(hi, min(b, r[1])), true
	}
	return lo, hi, ok && hi > lo
}

// Proportional spreads words over [a, b] in proportion to their length in
// characters (plus one for the space after), flagged approximate, with
// confidence 1 (the text is the user's).
func Proportional(tokens []string, a, b float64) []engine.Word {
	if len(tokens) == 0 {
		return nil
	}
	total := 0
	for _, t := range tokens {
		total += utf8.RuneCountInString(t) + 1
	}
	out := make([]engine.Word, len(tokens))
	at := a
	span := max(0, b-a)
	for i, t := range tokens {
		l := float64(utf8.RuneCountInString(t)+1) / float64(total) * span
		next := at + l
		// The space after a word is a gap, not part of it; the last word
		// ends with the span.
		end := max(at, next-span/float64(total))
		if i == len(tokens)-1 {
			end = b
		}
		out[i] = engine.Word{Start: at, End: end, Text: t, Confidence: 1, Approximate: true}
		at = next
	}
	return out
}
