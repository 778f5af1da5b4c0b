package selection

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/clipmesh/clipmesh/services/clips/internal/inputerr"
)

// speech returns words from 0 to dur seconds: sentences of n words (0.3 s
// each, 0.1 s apart), the last ending in ".", sentences 0.4 s apart (a gap
// shorter than sentenceGap, so only the full stop marks them). It also
// returns the sentence start and end times.
func speech(dur float64, n int) (words []Word, starts, ends []float64) {
	t, i := 0.5, 0
	for {
		starts = append(starts, t)
		for k := 0; k < n; k++ {
			if t+0.3 > dur {
				return words, starts[:len(starts)-1], ends
			}
			text := fmt.Sprintf("w%d", i)
			if k == n-1 {
				text += "."
			}
			words = append(words, Word{Start: t, End: t + 0.3, Text: text})
			i++
			t += 0.4
		}
		ends = append(ends, t-0.1)
		t += 0.3
	}
}

// checkClip asserts what every selected clip must satisfy.
func checkClip(t *testing.T, in Input, opt Options, c Clip) {
	t.Helper()
	opt = opt.withDefaults()
	if l := c.Length(); l < min(opt.Min, in.Duration)-1e-9 || l > opt.Max+1e-9 {
		t.Errorf("clip [%v, %v) is %v s, want within [%v, %v]", c.Start, c.End, l, opt.Min, opt.Max)
	}
	if c.Start < 0 || c.End > in.Duration {
		t.Errorf("clip [%v, %v) outside the video (%v s)", c.Start, c.End, in.Duration)
	}
	for _, w := range in.Words {
		for _, b := range []float64{c.Start, c.End} {
			if w.Start < b-1e-9 && b < w.End-1e-9 {
				t.Errorf("boundary %v cuts word %q [%v, %v]", b, w.Text, w.Start, w.End)
			}
		}
	}
}

func TestSelectSnapsToSentences(t *testing.T) {
	t.Parallel()
	words, starts, ends := speech(300, 10)
	in := Input{Duration: 300, Words: words, Moments: []Moment{
		{Start: 101.7, End: 127.2, Score: 0.6},
		{Start: 20.2, End: 41.9, Score: 0.9},
		{Start: 200.3, End: 230.8, Score: 0.75},
	}}
	clips, err := Select(in, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(clips) != 3 {
		t.Fatalf("%d clips, want 3", len(clips))
	}
	if got := []float64{clips[0].Score, clips[1].Score, clips[2].Score}; !slices.Equal(got, []float64{0.9, 0.75, 0.6}) {
		t.Errorf("scores %v, want best first", got)
	}
	near := func(ts []float64, v, tol float64) bool {
		for _, x := range ts {
			if math.Abs(x-v) <= tol {
				return true
			}
		}
		return false
	}
	for _, c := range clips {
		checkClip(t, in, Options{}, c)
		// A start lies within lead before a sentence's first word, an end
		// within lead after its last.
		if !near(starts, c.Start+lead, 1e-9) {
			t.Errorf("clip [%v, %v) does not start at a sentence start", c.Start, c.End)
		}
		if !near(ends, c.End-lead, 1e-9) {
			t.Errorf("clip [%v, %v) does not end at a sentence end", c.Start, c.End)
		}
		if !strings.HasSuffix(c.Transcript, ".") {
			t.Errorf("transcript %q does not end a sentence", c.Transcript)
		}
	}
	// The boundaries moved at most Snap from the moment.
	if math.Abs(clips[0].Start-20.2) > DefaultSnap || math.Abs(clips[0].End-41.9) > DefaultSnap {
		t.Errorf("best clip [%v, %v) strayed from its moment [20.2, 41.9]", clips[0].Start, clips[0].End)
	}
}

func TestSelectSnapsToCuts(t *testing.T) {
	t.Parallel()
	// Sparse speech: two sentences far from the moment's edges, so the
	// cuts decide.
	words := []Word{{Start: 50, End: 50.4, Text: "Hello"}, {Start: 50.5, End: 51, Text: "there."}}
	in := Input{Duration: 120, Words: words, Cuts: []float64{40.5, 59.3, 71.2},
		Moments: []Moment{{Start: 40, End: 70, Score: 0.8}}}
	clips, err := Select(in, Options{})
	if err != nil || len(clips) != 1 {
		t.Fatalf("clips %v, err %v", clips, err)
	}
	c := clips[0]
	checkClip(t, in, Options{}, c)
	// 40 would show 0.5 s of the previous shot: the start moves to the cut.
	if c.Start != 40.5 {
		t.Errorf("start %v, want the cut at 40.5", c.Start)
	}
	if c.End != 71.2 {
		t.Errorf("end %v, want the cut at 71.2", c.End)
	}
	if v := factor(c, "shot_aligned"); v != 1 {
		t.Errorf("shot_aligned %v, want 1", v)
	}
}

func TestCutInsideAWordIsNotABoundary(t *testing.T) {
	t.Parallel()
	// A cut at 30.2 falls inside "across" [30.0, 30.5]; the start must not
	// land on it, and no fragment under a second is left either.
	var words []Word
	for i := 0; i < 100; i++ {
		s := 20 + float64(i)*0.5
		words = append(words, Word{Start: s, End: s + 0.5, Text: "across"})
	}
	in := Input{Duration: 90, Words: words, Cuts: []float64{30.25}, Moments: []Moment{{Start: 30, End: 50, Score: 1}}}
	clips, err := Select(in, Options{})
	if err != nil || len(clips) != 1 {
		t.Fatalf("clips %v, err %v", clips, err)
	}
	checkClip(t, in, Options{}, clips[0])
	if s := clips[0].Start; s > 30.25-1 && s < 30.25 {
		t.Errorf("start %v leaves a shot fragment before the cut at 30.25", s)
	}
}

func factor(c Clip, name string) float64 {
	for _, f := range c.Factors {
		if f.Name == name {
			return f.Value
		}
	}
	return math.NaN()
}

func TestSelectLengthsAndOverlap(t *testing.T) {
	t.Parallel()
	in := Input{Duration: 200, Moments: []Moment{
		{Start: 50, End: 55, Score: 0.9},   // short: grown to 15 s around 52.5
		{Start: 52, End: 70, Score: 0.8},   // overlaps the first after growth
		{Start: 100, End: 190, Score: 0.7}, // long: cut to 40 s from its start
		{Start: 10, End: 30, Score: 0.6},
		{Start: 120, End: 130, Score: 0.5},  // overlaps the long one
		{Start: 300, End: 310, Score: 0.99}, // outside the video
	}}
	opt := Options{Count: 5, Min: 15, Max: 40}
	clips, err := Select(in, opt)
	if err != nil {
		t.Fatal(err)
	}
	var got [][2]float64
	for _, c := range clips {
		checkClip(t, in, opt, c)
		got = append(got, [2]float64{c.Start, c.End})
	}
	want := [][2]float64{{45, 60}, {100, 140}, {10, 30}}
	if !slices.Equal(got, want) {
		t.Errorf("ranges %v, want %v", got, want)
	}
	clips, _ = Select(in, Options{Count: 1, Min: 15, Max: 40})
	if len(clips) != 1 || clips[0].Score != 0.9 {
		t.Errorf("count 1 gave %v", clips)
	}
}

func TestShortVideoIsOneClip(t *testing.T) {
	t.Parallel()
	in := Input{Duration: 8, Moments: []Moment{{Start: 1, End: 3, Score: 0.5}, {Start: 5, End: 7, Score: 0.4}}}
	clips, err := Select(in, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(clips) != 1 || clips[0].Start != 0 || clips[0].End != 8 {
		t.Fatalf("clips %+v, want the whole 8 s video once", clips)
	}
}

func TestDescribe(t *testing.T) {
	t.Parallel()
	mk := func(start float64, text string) []Word {
		var ws []Word
		for i, f := range strings.Fields(text) {
			s := start + float64(i)*0.5
			ws = append(ws, Word{Start: s, End: s + 0.4, Text: f})
		}
		return ws
	}
	words := append(mk(0, "Welcome back everyone."), mk(10, "Today we talk about machine learning. Gradient descent is how models learn.")...)
	words = append(words, mk(40, "Thanks for watching.")...)
	in := Input{Duration: 60, Words: words,
		Keywords: []Keyword{{Text: "gradient descent", Score: 0.9}, {Text: "machine learning", Score: 0.7}, {Text: "watching", Score: 0.95}},
		Topics: []Topic{{Label: "artificial intelligence", Score: 0.8}, {Label: "cooking", Score: 0.9, Start: 40, End: 45},
			{Label: "machine-learning", Score: 0.6}}}
	c := Describe(in, 9.5, 30)
	if want := "Today we talk about machine learning. Gradient descent is how models learn."; c.Transcript != want {
		t.Errorf("transcript %q, want %q", c.Transcript, want)
	}
	if want := "Gradient descent is how models learn"; c.Title != want {
		t.Errorf("title %q, want %q", c.Title, want)
	}
	// "cooking" is timed outside the clip; "watching" is not said in it.
	if want := []string{"#ArtificialIntelligence", "#MachineLearning", "#GradientDescent"}; !slices.Equal(c.Hashtags, want) {
		t.Errorf("hashtags %v, want %v", c.Hashtags, want)
	}
	if v := factor(c, "keywords"); v != 2 {
		t.Errorf("keywords factor %v, want 2", v)
	}
	if v := factor(c, "speech_coverage"); v <= 0 || v >= 1 {
		t.Errorf("speech coverage %v, want within (0, 1)", v)
	}

	// No keywords: the first sentence; no words: the time.
	if c := Describe(Input{Duration: 60, Words: words}, 9.5, 30); c.Title != "Today we talk about machine learning" {
		t.Errorf("title without keywords %q", c.Title)
	}
	if c := Describe(Input{Duration: 600}, 125, 150); c.Title != "Clip at 2:05" || c.Transcript != "" {
		t.Errorf("title without words %q, transcript %q", c.Title, c.Transcript)
	}
}

func TestValidate(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		opt   Options
		field string
	}{
		{Options{Min: 30, Max: 20}, "options.max_seconds"},
		{Options{Min: 90}, "options.max_seconds"},
		{Options{Min: -1}, "options.min_seconds"},
		{Options{Max: math.NaN()}, "options.max_seconds"},
		{Options{Count: -2}, "options.count"},
	} {
		_, err := Select(Input{Duration: 100}, tc.opt)
		if !errors.Is(err, inputerr.ErrInvalid) || inputerr.Field(err) != tc.field {
			t.Errorf("%+v: err %v, want invalid %s", tc.opt, err, tc.field)
		}
	}
	if _, err := Select(Input{}, Options{}); inputerr.Field(err) != "duration" {
		t.Errorf("no duration: %v", err)
	}
}
