package chapters

import (
	"fmt"
	"testing"
)

func units(topics []string, n int, secs float64, timed bool) []Unit {
	vocab := map[string][]string{
		"a": {"pasta", "sauce", "tomato", "oven", "salt", "cook", "garlic", "basil"},
		"b": {"goal", "team", "match", "coach", "league", "player", "stadium", "score"},
		"c": {"galaxy", "star", "planet", "orbit", "rocket", "telescope", "moon", "light"},
	}
	var us []Unit
	t := 0.0
	for _, tp := range topics {
		for i := range n {
			v := vocab[tp]
			us = append(us, Unit{Terms: []string{v[i%8], v[(i*3+1)%8], v[(i*5+2)%8], "today"}, Start: t, End: t + secs, Timed: timed})
			t += secs
		}
	}
	return us
}

func TestSplit(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		us     []Unit
		o      Options
		starts []int
	}{
		{"three topics", units([]string{"a", "b", "c"}, 12, 10, true), Options{}, []int{0, 12, 24}},
		{"untimed", units([]string{"a", "b"}, 10, 0, false), Options{}, []int{0, 10}},
		{"too short for the minimum", units([]string{"a", "b", "c"}, 12, 2, true), Options{}, []int{0}}, // 24 s chapters < 60 s
		{"one topic", units([]string{"a"}, 40, 10, true), Options{}, []int{0}},
		{"short text", units([]string{"a", "b"}, 3, 10, true), Options{}, []int{0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cs := Split(tt.us, tt.o)
			var starts []int
			total := 0
			for _, c := range cs {
				starts = append(starts, c.First)
				total += c.Count
			}
			if total != len(tt.us) {
				t.Errorf("chapters cover %d of %d units", total, len(tt.us))
			}
			if fmt.Sprint(starts) != fmt.Sprint(tt.starts) {
				t.Errorf("starts %v, want %v", starts, tt.starts)
			}
		})
	}
	if Split(nil, Options{}) != nil {
		t.Errorf("no units, chapters")
	}
}
