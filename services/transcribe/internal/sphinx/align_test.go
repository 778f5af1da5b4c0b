package sphinx

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/clipmesh/clipmesh/services/transcribe/internal/engine"
)

// TestAlignWords force-aligns the JFK reference to the recording: every
// word is placed, in order, and each word the recognizer also got right
// starts within 0.15 s of where the recognizer put it; the decoder then
// still recognizes as before (its language-model search is restored).
func TestAlignWords(t *testing.T) {
	if testing.Short() {
		t.Skip("long: real recognition of the fixtures")
	}
	t.Parallel()
	var jfk fixture
	for _, f := range fixtures(t) {
		if f.name == "jfk" {
			jfk = f
		}
	}
	a := readWAV(t, jfk.path)
	cfg := DefaultConfig()
	cfg.Parallel = 1
	e := newEngine(t, cfg)
	before, err := e.Transcribe(context.Background(), a, engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	x := a.Floats()
	tokens := strings.Fields(jfk.ref)
	got, err := e.AlignWords(context.Background(), x, 0, len(x), tokens)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(tokens) {
		t.Fatalf("%d words for %d tokens", len(got), len(tokens))
	}
	prev := 0.0
	for i, w := range got {
		if w.Text != tokens[i] || w.Start < prev-1e-9 || w.End <= w.Start || w.Approximate {
			t.Errorf("word %d %+v (previous end %.2f)", i, w, prev)
		}
		prev = w.End
	}
	if got[0].Start < 0.2 || got[len(got)-1].End > 10.8 {
		t.Errorf("aligned words span [%.2f, %.2f], want inside the speech", got[0].Start, got[len(got)-1].End)
	}
	// Match recognized words to aligned ones by text, in order.
	matched := 0
	j := 0
	for _, r := range before.Words() {
		for k := j; k < len(got) && k < j+4; k++ {
			if dictWord(got[k].Text) == r.Text {
				matched++
				if d := math.Abs(got[k].Start - r.Start); d > 0.15 {
					t.Errorf("%q: aligned at %.2f, recognized at %.2f", r.Text, got[k].Start, r.Start)
				}
				j = k + 1
				break
			}
		}
	}
	if matched < 12 {
		t.Errorf("only %d recognized words matched the aligned ones", matched)
	}
	after, err := e.Transcribe(context.Background(), a, engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if after.Text() != before.Text() {
		t.Errorf("recognition changed after alignment:\nbefore %q\nafter  %q", before.Text(), after.Text())
	}
	if _, err := e.AlignWords(context.Background(), x, 0, len(x), []string{"ask", "zzxqvword"}); !errors.Is(err, ErrNotAligned) {
		t.Errorf("unknown word: %v, want ErrNotAligned", err)
	}
}
