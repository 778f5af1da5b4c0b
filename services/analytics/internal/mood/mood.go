package mood

import (
	"errors"
	"math"
)

// Mood is a scene's mood.
type Mood string

// The moods, in table order.
const (
	Calm      Mood = "calm"
	Energetic Mood = "energetic"
	Tense     Mood = "tense"
	Joyful    Mood = "joyful"
	Sad       Mood = "sad"
)

// Moods lists the moods in table order.
var Moods = []Mood{Calm, Energetic, Tense, Joyful, Sad}

// Feature names one row of the rule table.
type Feature string

// The features, in table order.
const (
	Warmth       Feature = "warmth"
	Saturation   Feature = "saturation"
	Brightness   Feature = "brightness"
	Motion       Feature = "motion"
	AudioEnergy  Feature = "audio"
	FaceHappy    Feature = "happy"
	FaceSad      Feature = "sad"
	FaceTension  Feature = "tension"
	FaceSurprise Feature = "surprise"
	FaceNeutral  Feature = "neutral"
)

// Table is the rule table of the package documentation: the coefficient
// of each feature for each mood, in the order of Moods.
var Table = []struct {
	Feature Feature
	Coef    [5]float64
}{
	{Warmth, [5]float64{-0.25, 0.25, -0.5, 0.5, -0.5}},
	{Saturation, [5]float64{-0.25, 0.5, -0.25, 0.75, -0.5}},
	{Brightness, [5]float64{0, 0.5, -0.5, 0.75, -0.5}},
	{Motion, [5]float64{-1, 1, 0.5, 0.25, -0.25}},
	{AudioEnergy, [5]float64{-1, 1, 0.5, 0.25, -0.25}},
	{FaceHappy, [5]float64{0, 0, -0.5, 1.5, -0.5}},
	{FaceSad, [5]float64{0, -0.5, 0, -0.5, 1.5}},
	{FaceTension, [5]float64{0, 0, 1.5, -0.5, 0}},
	{FaceSurprise, [5]float64{0, 0.5, 0.5, 0, 0}},
	{FaceNeutral, [5]float64{0.5, 0, 0, 0, 0}},
}

// Emotions are the mean face emotion probabilities of a scene, each in
// [0, 1].
type Emotions struct {
	Happy, Sad, Angry, Fear, Surprise, Neutral float64
}

// Scene holds the features of one scene; a nil field is missing.
type Scene struct {
	// Start and End of the scene in seconds.
	Start, End float64
	// ColorTemperatureK is the correlated colour temperature in kelvin
	// (vision's McCamy estimate of the scene's pooled light: ~6500 K is
	// neutral daylight, lower is warmer/oranger, higher cooler/bluer).
	ColorTemperatureK *float64
	// Saturation is the mean saturation in [0, 1].
	Saturation *float64
	// Brightness is the mean luma / 255, in [0, 1].
	Brightness *float64
	// Motion is the motion level in [0, 1] (1 = fast; the adapter scales
	// the motion energy, e.g. by its per-video 95th percentile).
	Motion *float64
	// AudioEnergy is the audio energy in [0, 1] (see EnergyFromLUFS).
	AudioEnergy *float64
	// Faces are the faces' mean emotions; nil when no face was seen or
	// face analysis is missing.
	Faces *Emotions
}

// Value returns a pointer to v, to fill Scene's optional fields.
func Value(v float64) *float64 { return &v }

// EnergyFromLUFS maps a loudness to [0, 1]: −50 LUFS or below is 0,
// −10 LUFS or above is 1, linear in between.
func EnergyFromLUFS(lufs float64) float64 { return clamp((lufs+50)/40, 0, 1) }

// Evidence is one feature's part in the verdict.
type Evidence struct {
	Feature Feature
	// Value is the input value (kelvin for warmth, a probability for the
	// face emotions, else the [0, 1] input).
	Value float64
	// Signal is the centred value in [-1, 1].
	Signal float64
	// Contributions is coefficient × signal for each mood, in the order of
	// Moods.
	Contributions [5]float64
}

// Verdict is a scene's mood with its evidence.
type Verdict struct {
	Start, End float64
	Mood       Mood
	// Confidence is the softmax probability of Mood among the five.
	Confidence float64
	// Scores are the moods' scores, in the order of Moods.
	Scores [5]float64
	// Evidence lists the available features in table order.
	Evidence []Evidence
}

// ErrNoEvidence is returned for a scene with no feature at all.
var ErrNoEvidence = errors.New("mood: scene has no feature")

// Infer returns the mood of one scene.
func Infer(s Scene) (Verdict, error) {
	v := Verdict{Start: s.Start, End: s.End}
	add := func(f Feature, value, signal float64) {
		if math.IsNaN(value) || math.IsNaN(signal) {
			return
		}
		e := Evidence{Feature: f, Value: value, Signal: signal}
		for _, row := range Table {
			if row.Feature == f {
				for k, c := range row.Coef {
					e.Contributions[k] = c * signal
					v.Scores[k] += c * signal
				}
			}
		}
		v.Evidence = append(v.Evidence, e)
	}
	unit := func(x float64) float64 { return 2*clamp(x, 0, 1) - 1 }
	if p := s.ColorTemperatureK; p != nil {
		add(Warmth, *p, clamp((6500-*p)/3500, -1, 1))
	}
	for _, f := range []struct {
		f Feature
		p *float64
	}{{Saturation, s.Saturation}, {Brightness, s.Brightness}, {Motion, s.Motion}, {AudioEnergy, s.AudioEnergy}} {
		if f.p != nil {
			add(f.f, *f.p, unit(*f.p))
		}
	}
	if e := s.Faces; e != nil {
		tension := math.Min(1, e.Angry+e.Fear)
		add(FaceHappy, e.Happy, unit(e.Happy))
		add(FaceSad, e.Sad, unit(e.Sad))
		add(FaceTension, tension, unit(tension))
		add(FaceSurprise, e.Surprise, unit(e.Surprise))
		add(FaceNeutral, e.Neutral, unit(e.Neutral))
	}
	if len(v.Evidence) == 0 {
		return Verdict{}, ErrNoEvidence
	}
	best := 0
	for k := range v.Scores {
		if v.Scores[k] > v.Scores[best] {
			best = k
		}
	}
	v.Mood = Moods[best]
	sum := 0.0
	for _, sc := range v.Scores {
		sum += math.Exp(sc - v.Scores[best])
	}
	v.Confidence = 1 / sum
	return v, nil
}

// InferAll returns the mood of every scene, in order; a scene without
// features is skipped.
func InferAll(scenes []Scene) []Verdict {
	out := make([]Verdict, 0, len(scenes))
	for _, s := range scenes {
		if v, err := Infer(s); err == nil {
			out = append(out, v)
		}
	}
	return out
}

func clamp(x, lo, hi float64) float64 { return math.Min(hi, math.Max(lo, x)) }
