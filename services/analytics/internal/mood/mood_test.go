package mood

import (
	"errors"
	"math"
	"reflect"
	"testing"
)

func TestInfer(t *testing.T) {
	t.Parallel()
	v := Value
	tests := []struct {
		name    string
		scene   Scene
		want    Mood
		notWant Mood
	}{
		{"bright saturated fast loud", Scene{ColorTemperatureK: v(5000), Saturation: v(0.95), Brightness: v(0.9), Motion: v(0.95), AudioEnergy: v(0.9)}, Energetic, Calm},
		{"bright saturated fast, no audio", Scene{Saturation: v(0.9), Brightness: v(0.85), Motion: v(0.9)}, "", Calm},
		{"dark still quiet", Scene{Saturation: v(0.3), Brightness: v(0.1), Motion: v(0.02), AudioEnergy: v(0.05)}, Calm, ""},
		{"dark still quiet, warm light", Scene{ColorTemperatureK: v(3200), Brightness: v(0.15), Motion: v(0), AudioEnergy: v(0.1)}, Calm, ""},
		{"bright warm smiling", Scene{ColorTemperatureK: v(4000), Saturation: v(0.8), Brightness: v(0.8), Motion: v(0.5), Faces: &Emotions{Happy: 0.9, Neutral: 0.1}}, Joyful, ""},
		{"cool dim sad faces", Scene{ColorTemperatureK: v(9000), Saturation: v(0.2), Brightness: v(0.3), Motion: v(0.2), AudioEnergy: v(0.3), Faces: &Emotions{Sad: 0.8, Neutral: 0.2}}, Sad, ""},
		{"dark moving fearful", Scene{ColorTemperatureK: v(8000), Brightness: v(0.2), Motion: v(0.7), AudioEnergy: v(0.7), Faces: &Emotions{Fear: 0.6, Angry: 0.3}}, Tense, ""},
		{"motion only: fast", Scene{Motion: v(1)}, Energetic, Calm},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := Infer(tt.scene)
			if err != nil {
				t.Fatal(err)
			}
			if tt.want != "" && got.Mood != tt.want {
				t.Errorf("mood = %s, want %s (scores %v)", got.Mood, tt.want, got.Scores)
			}
			if tt.notWant != "" && got.Mood == tt.notWant {
				t.Errorf("mood = %s, must not be", got.Mood)
			}
			if got.Confidence <= 0.2 || got.Confidence > 1 {
				t.Errorf("confidence = %v", got.Confidence)
			}
			var sum [5]float64
			for _, e := range got.Evidence {
				for k, c := range e.Contributions {
					sum[k] += c
				}
			}
			for k := range sum {
				if math.Abs(sum[k]-got.Scores[k]) > 1e-12 {
					t.Errorf("evidence does not add up to the %s score: %v vs %v", Moods[k], sum[k], got.Scores[k])
				}
			}
		})
	}
}

func TestInferEvidence(t *testing.T) {
	t.Parallel()
	got, err := Infer(Scene{Start: 1, End: 4, Brightness: Value(0.75), ColorTemperatureK: Value(10000)})
	if err != nil {
		t.Fatal(err)
	}
	want := []Evidence{
		{Feature: Warmth, Value: 10000, Signal: -1, Contributions: [5]float64{0.25, -0.25, 0.5, -0.5, 0.5}},
		{Feature: Brightness, Value: 0.75, Signal: 0.5, Contributions: [5]float64{0, 0.25, -0.25, 0.375, -0.25}},
	}
	if !reflect.DeepEqual(got.Evidence, want) {
		t.Errorf("evidence = %+v, want %+v", got.Evidence, want)
	}
	if got.Start != 1 || got.End != 4 {
		t.Errorf("span = [%v, %v)", got.Start, got.End)
	}
}

func TestInferNoEvidence(t *testing.T) {
	t.Parallel()
	if _, err := Infer(Scene{}); !errors.Is(err, ErrNoEvidence) {
		t.Errorf("err = %v, want ErrNoEvidence", err)
	}
	got := InferAll([]Scene{{}, {Motion: Value(0)}})
	if len(got) != 1 || got[0].Mood != Calm {
		t.Errorf("InferAll = %+v", got)
	}
}

func TestEnergyFromLUFS(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want float64 }{{-70, 0}, {-50, 0}, {-30, 0.5}, {-10, 1}, {0, 1}}
	for _, tt := range tests {
		if got := EnergyFromLUFS(tt.in); got != tt.want {
			t.Errorf("EnergyFromLUFS(%v) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

// Warmth alone decides between otherwise identical scenes: warm light
// raises joyful and energetic, cool light sad, tense and calm, by the
// table's coefficients, and the kelvin is the evidence's value.
func TestWarmth(t *testing.T) {
	t.Parallel()
	base := func(k float64) Verdict {
		t.Helper()
		v, err := Infer(Scene{ColorTemperatureK: Value(k), Saturation: Value(0.5), Brightness: Value(0.5), Motion: Value(0.5), AudioEnergy: Value(0.5)})
		if err != nil {
			t.Fatal(err)
		}
		if v.Evidence[0].Feature != Warmth || v.Evidence[0].Value != k {
			t.Errorf("evidence %+v does not list %v K", v.Evidence[0], k)
		}
		return v
	}
	warm, neutral, cool := base(3000), base(6500), base(10000)
	if neutral.Evidence[0].Signal != 0 {
		t.Errorf("6500 K signal %v, want 0", neutral.Evidence[0].Signal)
	}
	if warm.Mood != Joyful {
		t.Errorf("warm neutral scene is %s (scores %v), want joyful", warm.Mood, warm.Scores)
	}
	for k, m := range Moods {
		up := warm.Scores[k] > cool.Scores[k]
		if want := m == Joyful || m == Energetic; up != want {
			t.Errorf("%s: warm %.2f, cool %.2f", m, warm.Scores[k], cool.Scores[k])
		}
	}
	// Beyond 3000 K / 10000 K the signal is saturated.
	if a, b := base(2000), base(25000); a.Scores != warm.Scores || b.Scores != cool.Scores {
		t.Errorf("saturation: %v vs %v, %v vs %v", a.Scores, warm.Scores, b.Scores, cool.Scores)
	}
}
