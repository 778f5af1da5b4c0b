package sphinx

import (
	"context"
	"testing"

	"github.com/clipmesh/clipmesh/platform/models"
	"github.com/clipmesh/clipmesh/platform/ort"
	"github.com/clipmesh/clipmesh/services/transcribe/internal/engine"
	"github.com/clipmesh/clipmesh/services/transcribe/internal/vad"
	"github.com/clipmesh/clipmesh/services/transcribe/internal/wer"
)

// measuredSilero bounds the corpus WER over the six fixtures when the
// utterances are cut in Silero's pauses: measured 0.280 (the energy pauses:
// 0.247; JFK, 22 words, moves 0.045 a word and decides the difference).
const measuredSilero = 0.29

// TestAccuracySileroChunks measures the WER when the utterances are cut in
// the pauses Silero VAD finds (what the service does) rather than the
// energy pauses, and checks that every word lies inside a speech region.
func TestAccuracySileroChunks(t *testing.T) {
	if testing.Short() {
		t.Skip("long: real recognition of the fixtures")
	}
	t.Parallel()
	dir, err := models.Dir("")
	if err != nil {
		t.Fatal(err)
	}
	det := vad.New(dir, ort.Options{})
	if why := det.Unavailable(); why != "" {
		t.Fatal(why)
	}
	e := newEngine(t, DefaultConfig())
	var ours wer.Result
	for _, f := range fixtures(t) {
		a := readWAV(t, f.path)
		speech, err := det.Speech(context.Background(), a.Floats(), nil)
		if err != nil {
			t.Fatal(err)
		}
		tr, err := e.Transcribe(context.Background(), a, engine.Options{Speech: speech})
		if err != nil {
			t.Fatal(err)
		}
		o := wer.Compute(f.ref, tr.Text())
		ours = ours.Add(o)
		t.Logf("%-42s silero-chunked %.3f (%d regions, %d segments)", f.name, o.WER(), len(speech), len(tr.Segments))
		checkTimings(t, f.name, tr, a.Duration())
		for _, w := range tr.Words() {
			in := false
			for _, r := range speech {
				// A word may reach into the 0.5 s of pause kept around
				// its utterance (Silero's onset can lag a short word),
				// never further.
				if w.Start >= r[0]-0.5 && w.End <= r[1]+0.5 {
					in = true
				}
			}
			if !in {
				t.Errorf("%s: word %+v outside the speech regions %v", f.name, w, speech)
			}
		}
	}
	t.Logf("corpus WER with Silero chunks: %.3f", ours.WER())
	if ours.WER() > measuredSilero {
		t.Errorf("corpus WER %.3f > measured bound %.2f", ours.WER(), measuredSilero)
	}
}

// TestSpansFromSpeech: regions closer than the minimum pause merge, each
// chunk keeps at most 0.5 s of pause, chunks never overlap, and a long
// region is split.
func TestSpansFromSpeech(t *testing.T) {
	t.Parallel()
	x := make([]float32, 60*engine.SampleRate)
	s := func(sec float64) int { return int(sec * engine.SampleRate) }
	got := spansFromSpeech(x, [][2]float64{{1, 2}, {2.3, 3}, {4, 5}, {10, 50}}, 0.5, 30)
	want := []span{{s(0.5), s(3.5)}, {s(3.5), s(5.5)}} // the pad stops where the previous chunk ends
	if len(got) < 4 || got[0] != want[0] || got[1] != want[1] {
		t.Fatalf("spans %v, want %v then the 40 s region split", got, want)
	}
	for i := 2; i < len(got); i++ {
		if got[i].end-got[i].start > s(30) || got[i].start < got[i-1].end {
			t.Errorf("span %d %v too long or overlapping %v", i, got[i], got[i-1])
		}
	}
	if got[2].start != s(9.5) || got[len(got)-1].end != s(50.5) {
		t.Errorf("split region spans [%d, %d], want [%d, %d]", got[2].start, got[len(got)-1].end, s(9.5), s(50.5))
	}
	if n := len(spansFromSpeech(x, [][2]float64{}, 0.5, 30)); n != 0 {
		t.Errorf("no speech gave %d spans", n)
	}
}
