package vad

import (
	"context"
	"testing"

	"github.com/clipmesh/clipmesh/platform/fixtures"
	"github.com/clipmesh/clipmesh/platform/models"
	"github.com/clipmesh/clipmesh/platform/ort"
	"github.com/clipmesh/clipmesh/services/transcribe/internal/media"
)

// TestSpeech: on the generated speech fixture, every sentence is covered by
// Silero's regions and the silences between them are not.
func TestSpeech(t *testing.T) {
	t.Parallel()
	dir, err := models.Dir("")
	if err != nil {
		t.Fatal(err)
	}
	d := New(dir, ort.Options{})
	if why := d.Unavailable(); why != "" {
		t.Fatal(why)
	}
	a, err := media.Decode(context.Background(), fixtures.MustPath(t, fixtures.SpeechWAV), media.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var calls int
	regions, err := d.Speech(context.Background(), media.Floats(a.Samples), func(float64) { calls++ })
	if err != nil {
		t.Fatal(err)
	}
	covered := func(t0 float64) bool {
		for _, r := range regions {
			if t0 >= r[0] && t0 <= r[1] {
				return true
			}
		}
		return false
	}
	for _, s := range fixtures.SpeechSegments {
		mid := (s[0] + s[1]) / 2
		if !covered(mid) {
			t.Errorf("sentence %v not covered by %v", s, regions)
		}
	}
	for i := 1; i < len(fixtures.SpeechSegments); i++ {
		gap := (fixtures.SpeechSegments[i-1][1] + fixtures.SpeechSegments[i][0]) / 2
		if covered(gap) {
			t.Errorf("silence at %.2f covered by %v", gap, regions)
		}
	}
	if calls == 0 {
		t.Error("no progress")
	}
	empty := New(t.TempDir(), ort.Options{})
	if why := empty.Unavailable(); why == "" {
		t.Error("an empty models cache is usable")
	}
	if _, err := empty.Speech(context.Background(), make([]float32, 100), nil); err == nil {
		t.Error("Speech without the model")
	}
}
