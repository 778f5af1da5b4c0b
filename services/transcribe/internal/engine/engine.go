// Package engine defines what a speech recognition backend of the transcribe
// service is: 16 kHz mono PCM in, timed segments and words out, with the
// detected language and the engine, model and version that produced them.
// It knows nothing of gRPC, NATS or any particular recognizer.
package engine

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// SampleRate is the only sample rate engines accept: 16 kHz, mono.
const SampleRate = 16000

// Audio is 16 kHz mono PCM, held either as float32 samples in [-1, 1] or as
// signed 16-bit samples. Exactly one of the fields is used; when both are
// set, Float32 wins.
type Audio struct {
	// Float32 holds samples in [-1, 1].
	Float32 []float32
	// Int16 holds signed 16-bit samples.
	Int16 []int16
}

// Float32Audio wraps float32 samples in [-1, 1].
func Float32Audio(s []float32) Audio { return Audio{Float32: s} }

// Int16Audio wraps signed 16-bit samples.
func Int16Audio(s []int16) Audio { return Audio{Int16: s} }

// Len is the number of samples.
func (a Audio) Len() int {
	if a.Float32 != nil {
		return len(a.Float32)
	}
	return len(a.Int16)
}

// Duration is the length of the audio in seconds.
func (a Audio) Duration() float64 { return float64(a.Len()) / SampleRate }

// Floats returns the samples as float32 in [-1, 1] (a copy for int16 audio).
func (a Audio) Floats() []float32 {
	if a.Float32 != nil {
		return a.Float32
	}
	out := make([]float32, len(a.Int16))
	for i, v := range a.Int16 {
		out[i] = float32(v) / 32768
	}
	return out
}

// Int16s returns the samples as int16, clipping float samples to [-1, 1]
// (a copy for float audio).
func (a Audio) Int16s() []int16 {
	if a.Float32 == nil {
		return a.Int16
	}
	return FloatsToInt16(a.Float32)
}

// FloatsToInt16 converts float samples in [-1, 1] to int16, clipping.
func FloatsToInt16(f []float32) []int16 {
	out := make([]int16, len(f))
	for i, v := range f {
		x := float64(v) * 32767
		switch {
		case x > 32767:
			x = 32767
		case x < -32768:
			x = -32768
		}
		if x >= 0 {
			out[i] = int16(x + 0.5)
		} else {
			out[i] = int16(x - 0.5)
		}
	}
	return out
}

// Producer says what produced a transcript.
type Producer struct {
	// Engine is the backend, e.g. "pocketsphinx".
	Engine string `json:"engine"`
	// Model names the acoustic/language model, e.g. "cmusphinx-en-us-5.2".
	Model string `json:"model"`
	// Version is the engine library version.
	Version string `json:"version"`
	// Fallback is true when this producer replaced the preferred one.
	Fallback bool `json:"fallback,omitempty"`
	// Note explains a fallback or a limitation.
	Note string `json:"note,omitempty"`
}

// String is "engine/model@version".
func (p Producer) String() string { return p.Engine + "/" + p.Model + "@" + p.Version }

// Word is one recognized word. Times are seconds from the start of the audio.
type Word struct {
	Start float64 `json:"start"`
	End   float64 `json:"end"`
	Text  string  `json:"text"`
	// Confidence is the engine's posterior probability of the word, in [0, 1].
	Confidence float64 `json:"confidence"`
	// Approximate is true when the times are estimated (spread over the
	// segment in proportion to word length) rather than aligned.
	Approximate bool `json:"approximate,omitempty"`
}

// Segment is a stretch of speech (an utterance between pauses). Times are
// seconds from the start of the audio.
type Segment struct {
	Start float64 `json:"start"`
	End   float64 `json:"end"`
	Text  string  `json:"text"`
	Words []Word  `json:"words"`
}

// Transcript is the result of transcribing one audio.
type Transcript struct {
	Segments []Segment `json:"segments"`
	// Language is the BCP-47 code of the language of the speech.
	Language string `json:"language"`
	// LanguageProbability is how sure the engine is of Language, in [0, 1];
	// 1 for an engine that can only do one language and was asked for it.
	LanguageProbability float64 `json:"language_probability"`
	// Duration is the length of the audio in seconds.
	Duration float64 `json:"duration"`
	// Producer names the engine, model and version.
	Producer Producer `json:"producer"`
	// Reason explains an empty transcript (e.g. no speech found); empty
	// otherwise.
	Reason string `json:"reason,omitempty"`
	// Producers are the other contributors: voice-activity detection,
	// language identification, alignment.
	Producers []Producer `json:"producers,omitempty"`
}

// Text is the text of all segments joined by spaces.
func (t *Transcript) Text() string {
	parts := make([]string, 0, len(t.Segments))
	for _, s := range t.Segments {
		if s.Text != "" {
			parts = append(parts, s.Text)
		}
	}
	return strings.Join(parts, " ")
}

// Words is every word of every segment, in order.
func (t *Transcript) Words() []Word {
	var ws []Word
	for _, s := range t.Segments {
		ws = append(ws, s.Words...)
	}
	return ws
}

// LanguageAuto asks the engine to detect the language.
const LanguageAuto = "auto"

// Options tune one transcription.
type Options struct {
	// Language is a language code, LanguageAuto or empty (same as auto).
	Language string
	// Progress, if set, is called with the fraction of the audio done, in
	// [0, 1]; it may be called from several goroutines, never concurrently.
	Progress func(done float64)
	// Translate asks for English text whatever the language spoken;
	// engines that only recognize English ignore it.
	Translate bool
	// Speech, when not nil, are the speech regions [start, end] in seconds
	// found by a voice-activity detector, in order: the engine cuts the
	// audio into chunks only in the pauses between them (so no chunk
	// boundary splits a word) and skips audio outside them. An empty,
	// non-nil Speech means the detector heard no speech. Nil lets the
	// engine find pauses itself.
	Speech [][2]float64
}

// Engine is a speech recognizer.
type Engine interface {
	// Transcribe recognizes the speech in audio. Silence or no audio gives
	// an empty transcript with a Reason, not an error. A language the
	// engine cannot do gives an *UnsupportedLanguageError.
	Transcribe(ctx context.Context, audio Audio, opts Options) (*Transcript, error)
	// Producer names the engine, model and version.
	Producer() Producer
	// Languages lists the language codes the engine can recognize.
	Languages() []string
}

// ErrUnsupportedLanguage is matched (errors.Is) by *UnsupportedLanguageError.
var ErrUnsupportedLanguage = errors.New("language not supported by the engine")

// UnsupportedLanguageError reports a requested language the engine cannot do.
type UnsupportedLanguageError struct {
	Language  string
	Engine    string
	Supported []string
}

func (e *UnsupportedLanguageError) Error() string {
	return fmt.Sprintf("language %q is not supported by engine %s (supports: %s)",
		e.Language, e.Engine, strings.Join(e.Supported, ", "))
}

// Is makes errors.Is(err, ErrUnsupportedLanguage) true.
func (e *UnsupportedLanguageError) Is(target error) bool { return target == ErrUnsupportedLanguage }

// CheckLanguage returns the language to use for a request of lang on an
// engine that supports the given languages: auto or empty picks the first
// one, a supported code (matched on its primary subtag, case-insensitive) is
// returned as the engine's code, anything else is an
// *UnsupportedLanguageError.
func CheckLanguage(engineName, lang string, supported []string) (string, error) {
	l := strings.ToLower(strings.TrimSpace(lang))
	if l == "" || l == LanguageAuto {
		if len(supported) == 0 {
			return "", &UnsupportedLanguageError{Language: lang, Engine: engineName}
		}
		return supported[0], nil
	}
	primary := func(s string) string {
		s = strings.ToLower(s)
		if i := strings.IndexAny(s, "-_"); i >= 0 {
			return s[:i]
		}
		return s
	}
	for _, s := range supported {
		if primary(s) == primary(l) {
			return s, nil
		}
	}
	return "", &UnsupportedLanguageError{Language: lang, Engine: engineName, Supported: supported}
}
