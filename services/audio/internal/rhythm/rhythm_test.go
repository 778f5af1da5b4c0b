package rhythm

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/clipmesh/clipmesh/platform/fixtures"
	"github.com/clipmesh/clipmesh/services/audio/internal/decode"
)

func trackFile(t *testing.T, name string) Result {
	t.Helper()
	tr, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = decode.Stream(context.Background(), fixtures.MustPath(t, name), decode.Options{},
		decode.Output{SampleRate: 22050, Sink: func(b []float32) error { tr.Write(b); return nil }})
	if err != nil {
		t.Fatal(err)
	}
	return tr.Close()
}

// nearest returns the distance from x to the closest element of ts.
func nearest(x float64, ts []float64) float64 {
	d := math.Inf(1)
	for _, v := range ts {
		d = math.Min(d, math.Abs(x-v))
	}
	return d
}

func TestClickTracks(t *testing.T) {
	t.Parallel()
	for _, bpm := range fixtures.ClickBPMs {
		t.Run(fmt.Sprint(bpm), func(t *testing.T) {
			t.Parallel()
			r := trackFile(t, fixtures.ClickName(bpm))
			truth := fixtures.ClickTimes(bpm)

			// Onsets: one per click, each within 20 ms.
			var worstOnset float64
			for _, o := range r.Onsets {
				worstOnset = math.Max(worstOnset, nearest(o, truth))
			}
			missed := 0
			for _, c := range truth {
				if nearest(c, r.Onsets) > 0.02 {
					missed++
				}
			}
			if len(r.Onsets) != len(truth) || worstOnset > 0.02 || missed > 0 {
				t.Errorf("onsets: %d found for %d clicks, worst error %.1f ms, %d clicks missed",
					len(r.Onsets), len(truth), 1000*worstOnset, missed)
			}

			if math.Abs(r.TempoBPM-bpm) > 2 {
				t.Errorf("tempo = %.2f BPM, want %v ± 2", r.TempoBPM, bpm)
			}

			// Beats: every beat within 30 ms of a click, every click
			// (but for at most one at either end) has a beat.
			var worstBeat float64
			for _, b := range r.Beats {
				worstBeat = math.Max(worstBeat, nearest(b, truth))
			}
			if worstBeat > 0.03 || len(r.Beats) < len(truth)-2 {
				t.Errorf("beats: %d for %d clicks, worst error %.1f ms", len(r.Beats), len(truth), 1000*worstBeat)
			}
			if r.Regularity < 0.95 || r.TempoConfidence < 0.5 {
				t.Errorf("regularity %v, confidence %v: want a metronome", r.Regularity, r.TempoConfidence)
			}
			t.Logf("%v BPM: tempo %.3f (alt %.1f, confidence %.2f); %d onsets for %d clicks, worst %.1f ms; %d beats, worst %.1f ms; regularity %.4f",
				bpm, r.TempoBPM, r.AltTempoBPM, r.TempoConfidence, len(r.Onsets), len(truth), 1000*worstOnset,
				len(r.Beats), 1000*worstBeat, r.Regularity)
			checkFinite(t, r)
		})
	}
}

func TestNoRhythm(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(5, 6))
	noise := make([]float32, 5*22050)
	for i := range noise {
		noise[i] = float32(0.1 * rng.NormFloat64())
	}
	tests := []struct {
		name string
		x    []float32
	}{
		{"empty", nil},
		{"short", make([]float32, 100)},
		{"silence", make([]float32, 5*22050)},
		{"noise", noise},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tr, err := New(Config{})
			if err != nil {
				t.Fatal(err)
			}
			tr.Write(tt.x)
			r := tr.Close()
			checkFinite(t, r)
			if tt.name != "noise" && (len(r.Onsets) != 0 || len(r.Beats) != 0 || r.TempoBPM != 0) {
				t.Errorf("%s: %+v", tt.name, r)
			}
			if tt.name == "noise" && r.TempoConfidence > 0.3 {
				t.Errorf("noise: tempo confidence %v", r.TempoConfidence)
			}
		})
	}
}

func checkFinite(t *testing.T, r Result) {
	t.Helper()
	all := append(append([]float64{r.TempoBPM, r.TempoConfidence, r.AltTempoBPM, r.Regularity, r.EnvelopeRate}, r.Onsets...), r.Beats...)
	for _, v := range all {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			t.Fatalf("non-finite value in %+v", r)
		}
	}
}

// TestBackbeat is a rock pattern over a quiet noise bed (music has no
// digital silence between hits): a loud low kick on beats 1 and 3, a
// quieter noisy snare on 2 and 4, a soft hi-hat between the beats. The envelope correlates most at two
// beats; the tempo must still be the beat, not half of it.
func TestBackbeat(t *testing.T) {
	t.Parallel()
	const sr = 22050
	for _, bpm := range []float64{96, 124, 140} {
		t.Run(fmt.Sprint(bpm), func(t *testing.T) {
			t.Parallel()
			rng := rand.New(rand.NewPCG(1, uint64(bpm)))
			x := make([]float32, 20*sr)
			for i := range x {
				x[i] = float32(0.01 * (rng.Float64()*2 - 1))
			}
			beat := 60 / bpm
			var beats []float64
			for k := 0; 0.3+float64(k)*beat < 19; k++ {
				at := 0.3 + float64(k)*beat
				beats = append(beats, at)
				i0 := int(at * sr)
				for i := 0; i < sr/4 && i0+i < len(x); i++ {
					tt := float64(i) / sr
					if k%2 == 0 { // kick: a low thump and the beater's click
						x[i0+i] += float32(0.8*math.Sin(2*math.Pi*55*tt)*math.Exp(-tt/0.1) + 0.3*(rng.Float64()*2-1)*math.Exp(-tt/0.004))
					} else { // snare
						x[i0+i] += float32(0.3 * (rng.Float64()*2 - 1) * math.Exp(-tt/0.05))
					}
					if h := i0 + int(beat*sr/2) + i; h < len(x) { // off-beat hi-hat
						x[h] += float32(0.1 * (rng.Float64()*2 - 1) * math.Exp(-tt/0.01))
					}
				}
			}
			tr, err := New(Config{})
			if err != nil {
				t.Fatal(err)
			}
			tr.Write(x)
			r := tr.Close()
			if math.Abs(r.TempoBPM-bpm) > 2 {
				t.Errorf("tempo %.2f BPM (alt %.2f), want %v ± 2", r.TempoBPM, r.AltTempoBPM, bpm)
			}
			var worst float64
			for _, b := range beats[2:] { // the tracker settles on the first beats
				worst = math.Max(worst, nearest(b, r.Beats))
			}
			if worst > 0.03 {
				t.Errorf("a beat is %.0f ms from any tracked beat", 1000*worst)
			}
		})
	}
}
