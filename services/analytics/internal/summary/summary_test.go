package summary

import (
	"math"
	"reflect"
	"slices"
	"strings"
	"testing"
)

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

func TestQuality(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   AudioFigures
		want AudioQuality
	}{
		{"ideal", AudioFigures{SNRDB: 45, DynamicRangeLU: 8, IntegratedLUFS: -14}, AudioQuality{Score: 1, SNR: 1, DynamicRange: 1, Loudness: 1}},
		{"noisy quiet squashed", AudioFigures{SNRDB: 5, DynamicRangeLU: 0, IntegratedLUFS: -40}, AudioQuality{}},
		{"middling", AudioFigures{SNRDB: 25, DynamicRangeLU: 18, IntegratedLUFS: -20}, AudioQuality{Score: 0.4*0.5 + 0.2*0.5 + 0.4*0.5, SNR: 0.5, DynamicRange: 0.5, Loudness: 0.5}},
		{"too loud", AudioFigures{SNRDB: 40, DynamicRangeLU: 3, IntegratedLUFS: -2}, AudioQuality{Score: 0.4 + 0.2*0.5, SNR: 1, DynamicRange: 0.5}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := Quality(tt.in)
			if !near(got.Score, tt.want.Score) || !near(got.SNR, tt.want.SNR) || !near(got.DynamicRange, tt.want.DynamicRange) || !near(got.Loudness, tt.want.Loudness) {
				t.Errorf("Quality(%+v) = %+v, want %+v", tt.in, got, tt.want)
			}
		})
	}
	clean := Quality(AudioFigures{SNRDB: 40, DynamicRangeLU: 8, IntegratedLUFS: -15})
	noisy := Quality(AudioFigures{SNRDB: 12, DynamicRangeLU: 8, IntegratedLUFS: -15})
	if clean.Score <= noisy.Score {
		t.Errorf("clean %v not above noisy %v", clean.Score, noisy.Score)
	}
}

func TestMATTR(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		words []string
		w     int
		want  float64
	}{
		{"empty", nil, 50, 0},
		{"all distinct, short", []string{"a", "b", "c", "d"}, 50, 1},
		{"case and punctuation", []string{"Hello,", "hello", "WORLD!", "world"}, 50, 0.5},
		{"repeated", strings.Fields("x x x x"), 2, 0.5},
		{"window moves", strings.Fields("a b a c"), 2, 1},
		{"window of 3", strings.Fields("a b a b"), 3, 2.0 / 3},
	}
	for _, tt := range tests {
		if got := MATTR(tt.words, tt.w); !near(got, tt.want) {
			t.Errorf("%s: MATTR = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestEntropy(t *testing.T) {
	t.Parallel()
	even := make([]float64, 100)
	for i := range even {
		even[i] = float64(i)
	}
	tests := []struct {
		name string
		xs   []float64
		want float64
	}{
		{"constant", []float64{2, 2, 2}, 0},
		{"empty", nil, 0},
		{"even", even, 1},
		{"two values", []float64{0, 0, 1, 1}, math.Log2(2) / math.Log2(10)},
	}
	for _, tt := range tests {
		if got := Entropy(tt.xs, 10); !near(got, tt.want) {
			t.Errorf("%s: Entropy = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestEngagementStats(t *testing.T) {
	t.Parallel()
	xs := make([]float64, 60)
	for i := range xs {
		xs[i] = 0.4
	}
	xs[10], xs[11], xs[30], xs[33], xs[50] = 0.9, 0.95, 0.8, 0.85, 0.7
	got := EngagementStats(xs)
	want := []Peak{{11, 0.95}, {33, 0.85}, {50, 0.7}}
	if !reflect.DeepEqual(got.Peaks, want) {
		t.Errorf("peaks = %v, want %v", got.Peaks, want)
	}
	if got.Max != 0.95 || got.Avg <= 0.4 || got.Avg >= 0.5 {
		t.Errorf("avg %v, max %v", got.Avg, got.Max)
	}
	if flat := EngagementStats([]float64{0.5, 0.5}); flat.Peaks != nil || flat.Avg != 0.5 {
		t.Errorf("flat = %+v", flat)
	}
}

func TestCompute(t *testing.T) {
	t.Parallel()
	scenes := 6
	full := Input{
		DurationSeconds: 120,
		Engagement:      []float64{0.2, 0.8, 0.3},
		Words:           strings.Fields(strings.Repeat("one two three ", 100)),
		Topics:          []string{"Go", "go ", "music", "cooking"},
		SceneCount:      &scenes,
		MotionEnergy:    []float64{0, 1, 2, 3},
		Audio:           &AudioFigures{SNRDB: 40, DynamicRangeLU: 8, IntegratedLUFS: -14},
	}
	got := Compute(full)
	if got.Missing != nil {
		t.Errorf("missing = %v", got.Missing)
	}
	if got.Density.WordsPerMinute != 150 || got.Density.TopicsPerMinute != 1.5 || got.Complexity.SceneRate != 3 {
		t.Errorf("density %+v, scene rate %v", got.Density, got.Complexity.SceneRate)
	}
	if !near(got.Complexity.VocabularyRichness, 3.0/50) || got.Audio.Score != 1 || !near(got.Engagement.Avg, 13.0/30) {
		t.Errorf("summary = %+v", got)
	}
	none := Compute(Input{})
	for _, name := range []string{"engagement.avg", "content.words_per_minute", "content.topics_per_minute", "content.scene_rate", "content.motion_entropy", "content.vocabulary_richness", "audio.quality_score"} {
		if !slices.Contains(none.Missing, name) {
			t.Errorf("missing %v lacks %s", none.Missing, name)
		}
	}
	noDur := full
	noDur.DurationSeconds = 0
	if got := Compute(noDur); !slices.Contains(got.Missing, "content.words_per_minute") || got.Density.WordsPerMinute != 0 {
		t.Errorf("no duration: %+v", got)
	}
}
