package events

import (
	"math"
	"testing"
)

func TestDetect(t *testing.T) {
	t.Parallel()
	sec := func(db, flat, speech float64, onsets int) Second {
		return Second{RMSDB: db, Flatness: flat, SpeechProb: speech, Onsets: onsets}
	}
	// 0-2 s silence, 2-4 s speech, 4-6 s tonal music, 6-8 s applause-like
	// noise, last second partial.
	in := Input{Duration: 8.5, Seconds: []Second{
		sec(-90, 0, 0, 0), sec(-90, 0, 0, 0),
		sec(-20, 0.2, 0.9, 2), sec(-22, 0.2, 0.8, 2),
		sec(-18, 0.05, 0.1, 1), sec(-18, 0.05, 0.1, 1),
		sec(-15, 0.5, 0.2, 8), sec(-15, 0.5, 0.2, 8),
		sec(-90, 0, 0, 0),
	}}
	// 100 ms blocks: quiet at -40 for 5 s, one 200 ms burst at -10 dBFS,
	// back to -40, then from 8 s a sustained -15 dBFS (a jump of 25 dB).
	for i := range 120 {
		switch {
		case i == 30 || i == 31:
			in.Blocks = append(in.Blocks, -10)
		case i >= 80:
			in.Blocks = append(in.Blocks, -15)
		default:
			in.Blocks = append(in.Blocks, -40)
		}
	}
	got := map[Kind][]Event{}
	for _, e := range Detect(in) {
		got[e.Kind] = append(got[e.Kind], e)
		if e.Strength < 0 || e.Strength > 1 || math.IsNaN(e.Value) {
			t.Errorf("%v: strength %v, value %v", e.Kind, e.Strength, e.Value)
		}
	}
	want := []struct {
		kind            Kind
		start, duration float64
	}{
		{Silence, 0, 2}, {Speech, 2, 2}, {Music, 4, 2}, {Noise, 6, 2}, {Silence, 8, 0.5},
		{ApplauseLaughter, 6, 2}, {LoudBurst, 3, 0.2}, {LoudnessJump, 8, 1},
	}
	seen := map[Kind]int{}
	for _, w := range want {
		i := seen[w.kind]
		seen[w.kind]++
		if i >= len(got[w.kind]) {
			t.Errorf("missing %v at %v", w.kind, w.start)
			continue
		}
		e := got[w.kind][i]
		if math.Abs(e.Start-w.start) > 1e-9 || math.Abs(e.Duration-w.duration) > 1e-9 {
			t.Errorf("%v = [%v +%v], want [%v +%v]", w.kind, e.Start, e.Duration, w.start, w.duration)
		}
	}
	for k, es := range got {
		if len(es) != seen[k] {
			t.Errorf("%d %v events %v, want %d", len(es), k, es, seen[k])
		}
	}
	if j := got[LoudnessJump]; len(j) == 1 && math.Abs(j[0].Value-25) > 1e-9 {
		t.Errorf("jump value %v, want +25 dB", j[0].Value)
	}
}

func TestDetectEmpty(t *testing.T) {
	t.Parallel()
	if ev := Detect(Input{}); len(ev) != 0 {
		t.Errorf("events of nothing: %v", ev)
	}
}
