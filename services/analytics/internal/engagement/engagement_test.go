package engagement

import (
	"errors"
	"math"
	"reflect"
	"slices"
	"testing"
)

// fixture is a 60 s video whose seconds [20, 40) have speech, a moving
// subject and loud excited audio, while the rest is a still frame with
// silence.
func fixture() Input {
	const n = 60
	a := &Audio{
		RMSDBFS: make([]float64, n), SpeechProbability: make([]float64, n),
		PitchHz: make([]float64, n), OnsetStrength: make([]float64, n),
		Events: []AudioEvent{{Kind: LoudBurst, Start: 30, Duration: 1, Strength: 0.9}},
	}
	v := &Vision{MotionEnergy: make([]float64, n), FaceCount: make([]float64, n), Cuts: []float64{20, 27, 34, 40}}
	var words []Word
	for i := range n {
		a.RMSDBFS[i], a.OnsetStrength[i] = -90, 0.01
		v.MotionEnergy[i] = 0.001
		if i >= 20 && i < 40 {
			a.RMSDBFS[i] = -12 - float64(i%3)
			a.SpeechProbability[i] = 0.95
			a.PitchHz[i] = 180 + 20*float64(i%4)
			a.OnsetStrength[i] = 2 + float64(i%2)
			v.MotionEnergy[i] = 5 + float64(i%3)
			v.FaceCount[i] = 1
			for k := range 3 {
				s := float64(i) + float64(k)/3
				words = append(words, Word{Start: s, End: s + 0.3, Text: "word"})
			}
		}
	}
	return Input{Seconds: n, Audio: a, Vision: v, Words: words,
		Text: &Text{Sentiment: []Span{{Start: 22, End: 30, Strength: 0.8}}, Hooks: []Span{{Start: 20, End: 23, Strength: 1}}}}
}

func mean(xs []float64) float64 {
	s := 0.0
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs))
}

func TestScoreActiveMiddleScoresHighest(t *testing.T) {
	t.Parallel()
	tl, err := Score(fixture(), DefaultWeights())
	if err != nil {
		t.Fatal(err)
	}
	s := tl.Scores()
	if len(s) != 60 {
		t.Fatalf("len = %d, want 60", len(s))
	}
	mid, rest := mean(s[21:39]), mean(append(slices.Clone(s[:19]), s[41:]...))
	if mid <= rest+0.2 {
		t.Errorf("middle mean %.3f not well above the rest %.3f", mid, rest)
	}
	best := 0
	for i, v := range s {
		if v > s[best] {
			best = i
		}
	}
	if best < 20 || best >= 40 {
		t.Errorf("peak at second %d, want inside [20, 40)", best)
	}
	for _, sec := range tl.Seconds {
		sum := 0.0
		for _, c := range sec.Contributions {
			sum += c.Contribution
		}
		if math.Abs(sum-sec.Score) > 1e-9 || sec.Score < 0 || sec.Score > 1 {
			t.Fatalf("second %d: score %v, contributions sum %v", sec.Time, sec.Score, sum)
		}
	}
	if len(tl.Missing) != 4 { // face_size, eye_contact, face_emotion, visual_quality
		t.Errorf("missing = %v", tl.Missing)
	}
}

func TestScoreMissingModalities(t *testing.T) {
	t.Parallel()
	full := fixture()
	tests := []struct {
		name string
		in   Input
		want []Factor
	}{
		{"audio only", Input{Audio: full.Audio}, []Factor{SpeechPresence, Loudness, LoudnessChange, Excitement, AudioEvents}},
		{"vision only", Input{Vision: full.Vision}, []Factor{Faces, Motion, CutRhythm}},
		{"transcript only", Input{Seconds: 60, Words: full.Words}, []Factor{SpeechPresence, SpeechRate}},
		{"text only", Input{Seconds: 60, Text: full.Text}, []Factor{Sentiment, Hooks}},
		{"vision and text", Input{Vision: full.Vision, Text: full.Text}, []Factor{Faces, Motion, CutRhythm, Sentiment, Hooks}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tl, err := Score(tt.in, DefaultWeights())
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(tl.Factors, tt.want) {
				t.Errorf("factors = %v, want %v", tl.Factors, tt.want)
			}
			if len(tl.Factors)+len(tl.Missing) != len(AllFactors) {
				t.Errorf("factors %v + missing %v do not cover every factor", tl.Factors, tl.Missing)
			}
			sum := 0.0
			for _, w := range tl.Weights {
				sum += w
			}
			if math.Abs(sum-1) > 1e-9 {
				t.Errorf("weights sum to %v, want 1", sum)
			}
			if len(tl.Seconds) != 60 {
				t.Errorf("len = %d, want 60", len(tl.Seconds))
			}
			s := tl.Scores()
			if mean(s[22:38]) <= mean(s[:18]) {
				t.Errorf("middle %.3f not above start %.3f", mean(s[22:38]), mean(s[:18]))
			}
		})
	}
}

func TestScoreNothingAvailable(t *testing.T) {
	t.Parallel()
	if _, err := Score(Input{Seconds: 10}, DefaultWeights()); !errors.Is(err, ErrNoFactors) {
		t.Errorf("err = %v, want ErrNoFactors", err)
	}
	if _, err := Score(Input{}, DefaultWeights()); !errors.Is(err, ErrEmpty) {
		t.Errorf("err = %v, want ErrEmpty", err)
	}
	w := Weights{Motion: 1}
	if _, err := Score(Input{Seconds: 10, Audio: fixture().Audio}, w); !errors.Is(err, ErrNoFactors) {
		t.Errorf("zero-weighted factors only: err = %v, want ErrNoFactors", err)
	}
}

func TestValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		mutate  func(*Weights)
		wantKey string
	}{
		{"defaults", func(*Weights) {}, ""},
		{"negative", func(w *Weights) { w.Motion = -1 }, "motion"},
		{"nan", func(w *Weights) { w.Hooks = math.NaN() }, "hooks"},
		{"inf", func(w *Weights) { w.VisualQuality = math.Inf(1) }, "visual_quality"},
		{"all zero", func(w *Weights) { *w = Weights{} }, AllWeightsKey},
		{"one positive", func(w *Weights) { *w = Weights{EyeContact: 2} }, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			w := DefaultWeights()
			tt.mutate(&w)
			err := w.Validate()
			if tt.wantKey == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			var we *WeightError
			if !errors.As(err, &we) || we.Key != tt.wantKey || !errors.Is(err, ErrInvalidWeights) {
				t.Fatalf("Validate() = %v, want a WeightError for %q", err, tt.wantKey)
			}
			if _, err := Score(fixture(), w); !errors.As(err, &we) || we.Key != tt.wantKey {
				t.Errorf("Score() = %v, want the same WeightError", err)
			}
		})
	}
}

func TestNormalize(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   []float64
		want []float64
	}{
		{"constant", []float64{3, 3, 3}, []float64{0.5, 0.5, 0.5}},
		{"empty", nil, []float64{}},
		{"symmetric", []float64{0, 1, 2, 3, 4}, nil},
		{"mostly zero falls back to the standard deviation", []float64{0, 0, 0, 0, 0, 0, 0, 5}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := Normalize(tt.in)
			if tt.want != nil && !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("Normalize(%v) = %v, want %v", tt.in, got, tt.want)
			}
			for i := 1; i < len(got); i++ {
				if (tt.in[i] > tt.in[i-1]) != (got[i] > got[i-1]) && tt.in[i] != tt.in[i-1] {
					t.Errorf("not monotone at %d: %v", i, got)
				}
				if got[i] < 0 || got[i] > 1 {
					t.Errorf("out of [0, 1]: %v", got)
				}
			}
			if tt.name == "symmetric" && math.Abs(got[2]-0.5) > 1e-12 {
				t.Errorf("median maps to %v, want 0.5", got[2])
			}
			if tt.name == "mostly zero falls back to the standard deviation" && (got[7] < 0.9 || got[0] != 0.5) {
				t.Errorf("spike = %v, base = %v", got[7], got[0])
			}
		})
	}
}

func TestSmooth(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in, want []float64
	}{
		{[]float64{0, 3, 0}, []float64{1.5, 1, 1.5}},
		{[]float64{6}, []float64{6}},
		{[]float64{0, 0, 3, 0, 0}, []float64{0, 1, 1, 1, 0}},
	}
	for _, tt := range tests {
		if got := Smooth(tt.in); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Smooth(%v) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestScoreDeterministic(t *testing.T) {
	t.Parallel()
	a, err := Score(fixture(), DefaultWeights())
	if err != nil {
		t.Fatal(err)
	}
	for range 5 {
		b, _ := Score(fixture(), DefaultWeights())
		if !reflect.DeepEqual(a, b) {
			t.Fatal("Score is not deterministic")
		}
	}
}

func TestSeriesPaddedAndTruncated(t *testing.T) {
	t.Parallel()
	in := Input{Seconds: 5, Vision: &Vision{MotionEnergy: []float64{1, 2, 3, 4, 5, 6, 7}, Quality: []float64{1}}}
	tl, err := Score(in, DefaultWeights())
	if err != nil {
		t.Fatal(err)
	}
	if len(tl.Seconds) != 5 || len(tl.Series(Motion)) != 5 || tl.Series(Hooks) != nil {
		t.Errorf("seconds = %d, motion = %v", len(tl.Seconds), tl.Series(Motion))
	}
}
