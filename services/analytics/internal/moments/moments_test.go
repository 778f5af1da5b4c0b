package moments

import (
	"errors"
	"math"
	"reflect"
	"slices"
	"testing"

	"github.com/clipmesh/clipmesh/services/analytics/internal/engagement"
)

// video is a 60 s fixture whose seconds [20, 40) hold three sentences,
// a moving subject and loud excited audio; the rest is still and silent.
func video(t *testing.T) Input {
	t.Helper()
	const n = 60
	a := &engagement.Audio{RMSDBFS: make([]float64, n), SpeechProbability: make([]float64, n), PitchHz: make([]float64, n)}
	v := &engagement.Vision{MotionEnergy: make([]float64, n), Cuts: []float64{20, 27, 34, 40}}
	for i := range n {
		a.RMSDBFS[i] = -90
		if i >= 20 && i < 40 {
			a.RMSDBFS[i], a.SpeechProbability[i], a.PitchHz[i] = -12-float64(i%3), 0.95, 200+float64(i%4)*15
			v.MotionEnergy[i] = 4 + float64(i%3)
		}
	}
	tl, err := engagement.Score(engagement.Input{Seconds: n, Audio: a, Vision: v}, engagement.DefaultWeights())
	if err != nil {
		t.Fatal(err)
	}
	return Input{
		Engagement: tl.Scores(),
		Sentences:  []Sentence{{20.2, 26.5}, {26.8, 33}, {33.2, 39.6}},
		Cuts:       v.Cuts,
		Hooks:      []Hook{{Start: 20.2, End: 22, Strength: 0.9}},
	}
}

func TestFindActiveMiddleRanksFirst(t *testing.T) {
	t.Parallel()
	in := video(t)
	got, err := Find(in, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) == 0 {
		t.Fatal("no moments")
	}
	top := got[0]
	if top.Start < 19 || top.End > 41 {
		t.Errorf("top moment [%v, %v), want inside the active part [20, 40)", top.Start, top.End)
	}
	if !top.StartsAtSentence || !top.EndsAtSentence || top.Completeness != 1 {
		t.Errorf("top moment not a whole thought: %+v", top)
	}
	for i, m := range got {
		if m.Length() < 15 || m.Length() > 60 {
			t.Errorf("moment %d length %v outside 15–60 s", i, m.Length())
		}
		if i > 0 && m.Score > got[i-1].Score {
			t.Errorf("moment %d scores above moment %d", i, i-1)
		}
		for _, o := range got[:i] {
			if m.Start < o.End && o.Start < m.End {
				t.Errorf("moments overlap: %+v and %+v", m, o)
			}
		}
	}
}

func TestFindAlignment(t *testing.T) {
	t.Parallel()
	flat := make([]float64, 100)
	for i := range flat {
		flat[i] = 0.5
	}
	sentences := []Sentence{{2, 9.5}, {10, 18.4}, {19, 30.7}, {31, 47.2}, {48, 70}, {71, 99}}
	tests := []struct {
		name      string
		in        Input
		wantWhole bool
	}{
		{"sentences only", Input{Engagement: flat, Sentences: sentences}, true},
		{"sentences and cuts mid-sentence", Input{Engagement: flat, Sentences: sentences, Cuts: []float64{5, 25, 60}}, true},
		{"cuts only", Input{Engagement: flat, Cuts: []float64{5, 25, 60}}, false},
		{"nothing: 5 s grid", Input{Engagement: flat}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := Find(tt.in, Options{TopN: 3})
			if err != nil {
				t.Fatal(err)
			}
			if len(got) == 0 {
				t.Fatal("no moments")
			}
			starts, ends := boundaries(tt.in, 100)
			for _, m := range got {
				if !slices.Contains(starts, m.Start) || !slices.Contains(ends, m.End) {
					t.Errorf("moment [%v, %v) not on a boundary", m.Start, m.End)
				}
				if math.Mod(m.Start, 5) != 0 && len(tt.in.Sentences)+len(tt.in.Cuts) == 0 {
					t.Errorf("moment start %v not on the 5 s grid", m.Start)
				}
			}
			if tt.wantWhole {
				top := got[0]
				if !top.StartsAtSentence || !top.EndsAtSentence {
					t.Errorf("top moment [%v, %v) is not a whole thought", top.Start, top.End)
				}
			}
		})
	}
}

func TestCompleteness(t *testing.T) {
	t.Parallel()
	in := Input{Engagement: make([]float64, 40), Sentences: []Sentence{{0, 10}, {10.1, 20}, {20.2, 30}}}
	o := DefaultOptions()
	tests := []struct {
		s, e float64
		want float64
	}{
		{0, 20, 1},
		{10.1, 30, 1},
		{5, 20, 0.5},
		{10.2, 25, 0.5}, // within the 0.25 s tolerance of 10.1
		{5, 25, 0},
		{-0.5, 20.1, 1}, // in the pauses before and after: nothing is cut
		{9.5, 29.5, 0},  // cuts through the first and last sentences
	}
	for _, tt := range tests {
		if got := newIndex(in).score(in.Engagement, tt.s, tt.e, o); got.Completeness != tt.want {
			t.Errorf("[%v, %v): completeness = %v, want %v", tt.s, tt.e, got.Completeness, tt.want)
		}
	}
}

// A boundary in the pause next to a sentence keeps the thought whole, up
// to Options.Lead away; one in a longer pause, or inside a sentence, does
// not.
func TestCompletenessInPauses(t *testing.T) {
	t.Parallel()
	in := Input{Engagement: make([]float64, 40), Sentences: []Sentence{{1, 10}, {12, 20}, {24, 30}}}
	o := DefaultOptions().withDefaults()
	ix := newIndex(in)
	tests := []struct {
		s, e               float64
		wantStart, wantEnd bool
	}{
		{0, 20.5, true, true},
		{0.5, 21, true, true},
		{11, 30.9, true, true},
		{10.5, 22, false, false}, // 1.5 s before the next start; 2 s after the last end
		{5, 16, false, false},
	}
	for _, tt := range tests {
		m := ix.score(in.Engagement, tt.s, tt.e, o)
		if m.StartsAtSentence != tt.wantStart || m.EndsAtSentence != tt.wantEnd {
			t.Errorf("[%v, %v): starts %v ends %v, want %v %v", tt.s, tt.e, m.StartsAtSentence, m.EndsAtSentence, tt.wantStart, tt.wantEnd)
		}
	}
}

func TestPacing(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   Input
		want float64
	}{
		{"continuous speech", Input{Sentences: []Sentence{{0, 10}, {10, 20}}}, 1},
		{"half dead", Input{Sentences: []Sentence{{0, 10}}}, 0.5},
		{"cut breaks the gap", Input{Sentences: []Sentence{{0, 10}}, Cuts: []float64{15}}, 0.75},
		{"nothing", Input{}, 0},
	}
	for _, tt := range tests {
		if got := 1 - newIndex(tt.in).deadStretch(0, 20)/20; got != tt.want {
			t.Errorf("%s: pacing = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestFindOptions(t *testing.T) {
	t.Parallel()
	in := video(t)
	if _, err := Find(in, Options{MinLength: 30, MaxLength: 20}); !errors.Is(err, ErrInvalidOptions) {
		t.Errorf("err = %v, want ErrInvalidOptions", err)
	}
	if _, err := Find(in, Options{Weights: Weights{Hook: -1}}); !errors.Is(err, ErrInvalidOptions) {
		t.Errorf("err = %v, want ErrInvalidOptions", err)
	}
	got, err := Find(in, Options{MinLength: 100, MaxLength: 200})
	if err != nil || len(got) != 0 {
		t.Errorf("too long a range: %v, %v; want no moments", got, err)
	}
	got, _ = Find(in, Options{TopN: 1})
	if len(got) != 1 {
		t.Errorf("TopN 1 gave %d moments", len(got))
	}
}

func TestFindDeterministic(t *testing.T) {
	t.Parallel()
	in := video(t)
	a, _ := Find(in, Options{})
	for range 5 {
		if b, _ := Find(in, Options{}); !reflect.DeepEqual(a, b) {
			t.Fatal("Find is not deterministic")
		}
	}
}

// TestFindLongVideo checks that an hour of dense sentences and cuts stays
// quick (candidates are found by binary search, not by scanning).
func TestFindLongVideo(t *testing.T) {
	t.Parallel()
	const n = 3600
	in := Input{Engagement: make([]float64, n), Hooks: []Hook{{Start: 100, End: 102, Strength: 1}}}
	for i := range n {
		in.Engagement[i] = 0.5 + 0.4*math.Sin(float64(i)/37)
	}
	for s := 0.0; s+2.5 < n; s += 3 {
		in.Sentences = append(in.Sentences, Sentence{Start: s, End: s + 2.5})
	}
	for c := 7.0; c < n; c += 7 {
		in.Cuts = append(in.Cuts, c)
	}
	got, err := Find(in, Options{TopN: 10})
	if err != nil || len(got) != 10 {
		t.Fatalf("Find = %d moments, %v", len(got), err)
	}
	for _, m := range got {
		if !m.StartsAtSentence || !m.EndsAtSentence {
			t.Errorf("moment [%v, %v) not a whole thought", m.Start, m.End)
		}
	}
}
