package engagement

import (
	"errors"
	"testing"
)

func TestParseWeights(t *testing.T) {
	t.Parallel()
	tests := []struct {
		spec    string
		wantKey string
		check   func(Weights) bool
	}{
		{"", "", func(w Weights) bool { return w == DefaultWeights() }},
		{"motion=2, hooks=0", "", func(w Weights) bool { return w.Motion == 2 && w.Hooks == 0 && w.Loudness == 0.8 }},
		{`{"eye_contact": 1.5}`, "", func(w Weights) bool { return w.EyeContact == 1.5 }},
		{"motion=-1", "motion", nil},
		{"loudness=abc", "loudness", nil},
		{"excitment=1", "excitment", nil},
		{"faces", "faces", nil},
		{`{"sentiment": "high"}`, "sentiment", nil},
		{`{"sentiment": 1`, AllWeightsKey, nil},
		{"speech_presence=0,speech_rate=0,loudness=0,loudness_change=0,excitement=0,audio_events=0,faces=0,face_size=0," +
			"eye_contact=0,face_emotion=0,motion=0,cut_rhythm=0,sentiment=0,hooks=0,visual_quality=0", AllWeightsKey, nil},
	}
	for _, tt := range tests {
		w, err := ParseWeights(tt.spec)
		if tt.wantKey == "" {
			if err != nil || !tt.check(w) {
				t.Errorf("ParseWeights(%q) = %+v, %v", tt.spec, w, err)
			}
			continue
		}
		var we *WeightError
		if !errors.As(err, &we) || we.Key != tt.wantKey || !errors.Is(err, ErrInvalidWeights) {
			t.Errorf("ParseWeights(%q) error = %v, want a WeightError naming %q", tt.spec, err, tt.wantKey)
		}
	}
	a, b := DefaultWeights(), DefaultWeights()
	b.Motion = 0.81
	if a.Hash() == b.Hash() || a.Hash() != DefaultWeights().Hash() || len(a.Hash()) != 12 {
		t.Errorf("Hash: %s vs %s", a.Hash(), b.Hash())
	}
}
