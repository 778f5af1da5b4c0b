package align

import (
	"context"
	"errors"
	"math"
	"testing"

	"github.com/clipmesh/clipmesh/services/transcribe/internal/captions"
	"github.com/clipmesh/clipmesh/services/transcribe/internal/engine"
)

// failing is a forced aligner that never aligns.
type failing struct{ calls int }

func (f *failing) AlignWords(context.Context, []float32, int, int, []string) ([]engine.Word, error) {
	f.calls++
	return nil, errors.New("out of vocabulary")
}

func TestCues(t *testing.T) {
	t.Parallel()
	x := make([]float32, 20*engine.SampleRate)
	cues := []captions.Cue{
		{Start: 1, End: 5, Text: "one two three"},       // speech 2–4 inside: trimmed
		{Start: 6, End: 8, Text: "no speech here"},      // no speech: kept
		{Start: 9, End: 25, Text: "past the end"},       // clipped to the audio
		{Start: 12, End: 12, Text: "zero length cue x"}, // empty span
	}
	f := &failing{}
	var last float64
	segs, st, err := Cues(context.Background(), cues, x, Options{Speech: [][2]float64{{2, 4}, {9.5, 11}}, Forced: f, Progress: func(p float64) { last = p }})
	if err != nil {
		t.Fatal(err)
	}
	if len(segs) != 4 || st.Cues != 4 || st.Trimmed != 2 || st.Proportional != 4 || st.Forced != 0 || last != 1 {
		t.Fatalf("segments %+v stats %+v progress %v", segs, st, last)
	}
	if f.calls != 3 {
		t.Errorf("forced aligner called %d times, want 3 (not for the empty span)", f.calls)
	}
	s := segs[0]
	if s.Start != 2 || math.Abs(s.End-4) > 1e-9 || s.Text != "one two three" || len(s.Words) != 3 {
		t.Errorf("segment 0 %+v, want trimmed to [2, 4]", s)
	}
	if segs[1].Start != 6 || segs[1].End != 8 {
		t.Errorf("segment 1 %+v, want the cue's own times", segs[1])
	}
	if segs[2].Start != 9.5 || segs[2].End > 11+1e-9 {
		t.Errorf("segment 2 %+v, want [9.5, 11]", segs[2])
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := Cues(ctx, cues, x, Options{}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
}

func TestProportional(t *testing.T) {
	t.Parallel()
	w := Proportional([]string{"a", "bbb", "cc"}, 10, 19)
	// Weights 2, 4, 3 of 9 over 9 s: starts 10, 12, 16; each word ends
	// one character-slot (1 s) before the next starts; the last ends at 19.
	want := [][2]float64{{10, 11}, {12, 15}, {16, 19}}
	for i, ww := range w {
		if math.Abs(ww.Start-want[i][0]) > 1e-9 || math.Abs(ww.End-want[i][1]) > 1e-9 || !ww.Approximate || ww.Confidence != 1 {
			t.Errorf("word %d %+v, want %v", i, ww, want[i])
		}
	}
	if Proportional(nil, 0, 1) != nil {
		t.Error("words from nothing")
	}
}
