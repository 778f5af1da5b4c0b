package engagement

import (
	"errors"
	"fmt"
	"math"
)

// Factor names one engagement factor; the name is the weight's config key.
type Factor string

// The factors, in their canonical order (see the package documentation
// for how each raw series is built).
const (
	SpeechPresence Factor = "speech_presence"
	SpeechRate     Factor = "speech_rate"
	Loudness       Factor = "loudness"
	LoudnessChange Factor = "loudness_change"
	Excitement     Factor = "excitement"
	AudioEvents    Factor = "audio_events"
	Faces          Factor = "faces"
	FaceSize       Factor = "face_size"
	EyeContact     Factor = "eye_contact"
	FaceEmotion    Factor = "face_emotion"
	Motion         Factor = "motion"
	CutRhythm      Factor = "cut_rhythm"
	Sentiment      Factor = "sentiment"
	Hooks          Factor = "hooks"
	VisualQuality  Factor = "visual_quality"
)

// AllFactors lists every factor in canonical order; timelines list their
// factors in this order.
var AllFactors = []Factor{
	SpeechPresence, SpeechRate, Loudness, LoudnessChange, Excitement,
	AudioEvents, Faces, FaceSize, EyeContact, FaceEmotion, Motion,
	CutRhythm, Sentiment, Hooks, VisualQuality,
}

// Weights holds the relative weight of each factor. Weights need not sum
// to 1: the factors available for a video are renormalised to sum to 1.
// The json keys are the factor names, which error messages use.
type Weights struct {
	SpeechPresence float64 `json:"speech_presence"`
	SpeechRate     float64 `json:"speech_rate"`
	Loudness       float64 `json:"loudness"`
	LoudnessChange float64 `json:"loudness_change"`
	Excitement     float64 `json:"excitement"`
	AudioEvents    float64 `json:"audio_events"`
	Faces          float64 `json:"faces"`
	FaceSize       float64 `json:"face_size"`
	EyeContact     float64 `json:"eye_contact"`
	FaceEmotion    float64 `json:"face_emotion"`
	Motion         float64 `json:"motion"`
	CutRhythm      float64 `json:"cut_rhythm"`
	Sentiment      float64 `json:"sentiment"`
	Hooks          float64 `json:"hooks"`
	VisualQuality  float64 `json:"visual_quality"`
}

// DefaultWeights returns the default weights. Speech, loudness and motion
// weigh most (they carry the most engagement signal for talking and action
// content), hooks and excitement next; visual quality least, since it
// changes little within one video.
//
//	speech_presence 1.0   speech_rate   0.6   loudness       0.8
//	loudness_change 0.5   excitement    0.7   audio_events   0.6
//	faces           0.6   face_size     0.4   eye_contact    0.4
//	face_emotion    0.5   motion        0.8   cut_rhythm     0.5
//	sentiment       0.5   hooks         0.7   visual_quality 0.3
func DefaultWeights() Weights {
	return Weights{
		SpeechPresence: 1.0, SpeechRate: 0.6, Loudness: 0.8,
		LoudnessChange: 0.5, Excitement: 0.7, AudioEvents: 0.6,
		Faces: 0.6, FaceSize: 0.4, EyeContact: 0.4,
		FaceEmotion: 0.5, Motion: 0.8, CutRhythm: 0.5,
		Sentiment: 0.5, Hooks: 0.7, VisualQuality: 0.3,
	}
}

// Get returns the weight of f (0 for an unknown factor).
func (w Weights) Get(f Factor) float64 {
	switch f {
	case SpeechPresence:
		return w.SpeechPresence
	case SpeechRate:
		return w.SpeechRate
	case Loudness:
		return w.Loudness
	case LoudnessChange:
		return w.LoudnessChange
	case Excitement:
		return w.Excitement
	case AudioEvents:
		return w.AudioEvents
	case Faces:
		return w.Faces
	case FaceSize:
		return w.FaceSize
	case EyeContact:
		return w.EyeContact
	case FaceEmotion:
		return w.FaceEmotion
	case Motion:
		return w.Motion
	case CutRhythm:
		return w.CutRhythm
	case Sentiment:
		return w.Sentiment
	case Hooks:
		return w.Hooks
	case VisualQuality:
		return w.VisualQuality
	}
	return 0
}

// ErrInvalidWeights is wrapped by every [WeightError].
var ErrInvalidWeights = errors.New("invalid engagement weights")

// AllWeightsKey is the [WeightError.Key] when every weight is zero.
const AllWeightsKey = "*"

// WeightError says which weight is invalid and why.
type WeightError struct {
	// Key is the factor name of the bad weight, or AllWeightsKey.
	Key string
	// Value is the bad weight.
	Value float64
	// Reason is "negative", "not finite" or "all weights are zero".
	Reason string
}

// Error implements error.
func (e *WeightError) Error() string {
	if e.Key == AllWeightsKey {
		return "engagement weights: " + e.Reason
	}
	return fmt.Sprintf("engagement weight %q: %s (%v)", e.Key, e.Reason, e.Value)
}

// Unwrap returns ErrInvalidWeights.
func (e *WeightError) Unwrap() error { return ErrInvalidWeights }

// Validate returns a *WeightError naming the first bad key (in canonical
// order): a negative, NaN or infinite weight, or all weights zero.
func (w Weights) Validate() error {
	sum := 0.0
	for _, f := range AllFactors {
		v := w.Get(f)
		switch {
		case math.IsNaN(v) || math.IsInf(v, 0):
			return &WeightError{Key: string(f), Value: v, Reason: "not finite"}
		case v < 0:
			return &WeightError{Key: string(f), Value: v, Reason: "negative"}
		}
		sum += v
	}
	if sum == 0 {
		return &WeightError{Key: AllWeightsKey, Reason: "all weights are zero"}
	}
	return nil
}
