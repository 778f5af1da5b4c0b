package engagement

// Input holds the per-second modality results of one video. Every
// modality is optional: a nil pointer means the modality is missing, and a
// nil series inside a present modality means that factor is missing.
// Series are indexed by second ([i, i+1)); a series shorter than the
// timeline is padded with 0, a longer one is truncated.
type Input struct {
	// Seconds is the timeline length; 0 means the longest series given.
	Seconds int
	// Audio is the audio analysis, nil when missing.
	Audio *Audio
	// Vision is the visual analysis, nil when missing.
	Vision *Vision
	// Words is the transcript, nil when missing (an empty non-nil slice is
	// a transcript with no words).
	Words []Word
	// Text is the text analysis, nil when missing.
	Text *Text
}

// Audio is the per-second audio analysis.
type Audio struct {
	// RMSDBFS is the RMS level per second in dBFS (speech presence comes
	// from SpeechProbability; loudness and its change from this).
	RMSDBFS []float64
	// SpeechProbability is the voice-activity probability per second.
	SpeechProbability []float64
	// PitchHz is the median voiced pitch per second, 0 when unvoiced.
	PitchHz []float64
	// OnsetStrength is the mean onset strength per second.
	OnsetStrength []float64
	// Events are the audio events; nil means event detection is missing.
	Events []AudioEvent
}

// EventKind says what an AudioEvent is; only the engagement cues count.
type EventKind int

// The event kinds.
const (
	// OtherEvent is any segmentation event (speech, music, silence, noise);
	// it does not count.
	OtherEvent EventKind = iota
	// LoudBurst is a short burst well above its background.
	LoudBurst
	// LoudnessJump is a sudden, sustained change of level.
	LoudnessJump
	// ApplauseLaughter is an applause- or laughter-like segment.
	ApplauseLaughter
)

// AudioEvent is a timed audio event.
type AudioEvent struct {
	Kind EventKind
	// Start and Duration in seconds.
	Start, Duration float64
	// Strength in [0, 1].
	Strength float64
}

// Vision is the per-second visual analysis.
type Vision struct {
	// FaceCount is the mean number of faces on screen per second.
	FaceCount []float64
	// FaceArea is the largest face's share of the frame, in [0, 1].
	FaceArea []float64
	// EyeContact is the probability a face looks at the camera, [0, 1].
	EyeContact []float64
	// EmotionIntensity is the strongest non-neutral facial emotion's
	// probability, [0, 1].
	EmotionIntensity []float64
	// MotionEnergy is the motion energy per second.
	MotionEnergy []float64
	// Quality is the frame quality score per second.
	Quality []float64
	// Cuts are the scene cut times in seconds; nil means scene detection is
	// missing, an empty non-nil slice a video with one scene.
	Cuts []float64
}

// Word is a transcript word with its time span in seconds.
type Word struct {
	Start, End float64
	Text       string
}

// Span is a scored time span of the text analysis.
type Span struct {
	Start, End float64
	// Strength in [0, 1].
	Strength float64
}

// Text is the text analysis.
type Text struct {
	// Sentiment holds the sentiment/emotion strength of each segment
	// (|compound| for a polarity score); nil means it is missing.
	Sentiment []Span
	// Hooks holds the hook phrases found; nil means hook detection is
	// missing.
	Hooks []Span
}
