// Package langid identifies the language of short texts (transcript
// segments, titles, captions).
//
// Identifier is the interface the services use, so an engine can be
// swapped without touching its callers. New returns the default: FastText,
// fastText's lid.176 model (176 languages, manifest entry "lid-176",
// installed by `clipmesh models fetch`) read in pure Go by
// platform/models/fasttext. When the model is missing or damaged, New
// falls back to Whatlang (github.com/abadojack/whatlanggo, trigram
// profiles of 84 languages, no model file) and returns it as a *Fallback,
// whose Engine names the fallback and its cause (so results say which
// engine ran) and whose Err says how to fix it. Both engines prefer the
// supported languages on short, unsure texts (NewWhatlang, NewFastText).
//
// # Measurements (testdata/short.tsv: 132 sentences of 3-12 words, 22
// each of en, es, fr, de, pt, it, written for clipmesh)
//
//	engine                                  accuracy  heap     binary     per text
//	FastText (lid.176.ftz, six preferred)    0.985    1.7 MB   +0.15 MB    12 µs (8-22), load 18 ms
//	FastText, no preferred languages         0.985    1.7 MB   +0.15 MB    17 µs (15-27)
//	Whatlang (all, then six)                 0.932    0.5 MB*  +<1 MB*    690 µs (390-980)
//	whatlanggo, all languages *              0.894    0.5 MB   +<1 MB     216 µs
//	whatlanggo, whitelist of the six *       0.932    0.5 MB   +<1 MB      51 µs
//	lingua-go 1.4.0, six, high accuracy *    1.000    113 MB   +130 MB    170 µs, load 0.4 s
//	lingua-go 1.4.0, six, low accuracy *     0.955    6.7 MB   +130 MB    112 µs
//	lingua-go 1.4.0, all 75, low accuracy *  0.924    56 MB    +130 MB    745 µs
//
// The FastText and Whatlang rows were measured on 2026-11-25 with
//
//	cd platform && go test -count=1 -v -run TestAccuracy ./langid
//	cd platform && go test -run '^$' -bench . -count 5 ./langid
//
// Accuracy is from the test log; time per text is the median (and range)
// of BenchmarkIdentify over two such runs (one for the no-preference row), heap is BenchmarkLoad's heap-MB, and
// binary compares a program calling New with one calling only whatlanggo
// and platform/models (which the services link anyway). The machine was
// shared (load average about 20 on 2 cores), so the times are slower and
// noisier than on an idle one, but the engines were timed in the same runs:
// FastText is about 50 times faster than Whatlang (the no-preference row
// does no more work than the one above it; their difference is noise).
// Values marked * were measured earlier on an idle machine (Whatlang then
// took ~250 µs per text). Both FastText rows miss the same two short
// Portuguese lines (one has Galician first, which the preference turns
// into Spanish, not Portuguese; the other Spanish first). The lingua-go
// rows were taken with a throwaway program outside this module, so
// lingua-go is not a dependency: it is the most accurate, but embeds the
// n-gram models of all 75 languages (the module is 124 MB; a test program
// linking it is 135 MB), and its high-accuracy mode holds 113 MB of heap
// for six languages. Speech already comes with the language found by the
// transcriber, so text identification is a fallback for short segments
// and plain text.
package langid

import (
	"strings"
	"unicode"

	"github.com/abadojack/whatlanggo"
)

// Und is the code returned when no language can be told (empty text,
// digits or punctuation only).
const Und = "und"

// Identifier identifies the language of a text.
type Identifier interface {
	// Identify returns the ISO 639-1 code of the language of text (Und if
	// none) and a confidence in [0,1].
	Identify(text string) (lang string, prob float64)
	// Engine names the engine, model and version, for results.
	Engine() string
}

// Supported are the languages the nlp service has lexicons and word lists
// for, in ISO 639-1.
var Supported = []string{"en", "es", "fr", "de", "pt", "it"}

// Whatlang is an Identifier built on whatlanggo: New's fallback when the
// fastText model is not installed.
type Whatlang struct {
	prefer whatlanggo.Options
	// minOutside is the confidence an unrestricted guess outside the
	// preferred set needs to be kept.
	minOutside float64
}

// NewWhatlang returns an Identifier that first guesses among all of
// whatlanggo's languages; when that guess is outside prefer (ISO 639-1
// codes; nil means Supported), and the text is shorter than 9 words, and
// the guess is not reliable (confidence ≤ 0.8, whatlanggo's own threshold),
// it guesses again among prefer only. Texts in non-Latin scripts keep the
// unrestricted guess. So a clear Dutch or
// Russian text is reported as such (and the caller can mark it unsupported),
// while a short Spanish sentence is not mistaken for Catalan or Galician.
func NewWhatlang(prefer []string) *Whatlang {
	if prefer == nil {
		prefer = Supported
	}
	wl := make(map[whatlanggo.Lang]bool, len(prefer))
	for _, code := range prefer {
		if l := whatlanggo.CodeToLang(iso3(code)); l != -1 {
			wl[l] = true
		}
	}
	return &Whatlang{prefer: whatlanggo.Options{Whitelist: wl}, minOutside: whatlanggo.ReliableConfidenceThreshold}
}

// iso3 maps the ISO 639-1 codes whatlanggo knows to its ISO 639-3 ones.
func iso3(code string) string {
	for l := whatlanggo.Lang(0); l <= whatlanggo.Zul; l++ {
		if l.Iso6391() == code {
			return l.Iso6393()
		}
	}
	return code
}

// Engine implements Identifier.
func (w *Whatlang) Engine() string { return "whatlanggo v1.0.1 (trigram profiles)" }

// Identify implements Identifier.
func (w *Whatlang) Identify(text string) (string, float64) {
	if !hasLetter(text) {
		return Und, 0
	}
	all := whatlanggo.Detect(text)
	if script := whatlanggo.DetectScript(text); script != nil && script != unicode.Latin {
		// Non-Latin scripts are told apart by script first: trust it.
		if code := all.Lang.Iso6391(); code != "" {
			return code, all.Confidence
		}
	}
	if w.prefer.Whitelist[all.Lang] || (all.Confidence > w.minOutside || len(strings.Fields(text)) >= minOutsideWords) {
		if code := all.Lang.Iso6391(); code != "" {
			return code, all.Confidence
		}
	}
	in := whatlanggo.DetectWithOptions(text, w.prefer)
	code := in.Lang.Iso6391()
	if code == "" {
		return Und, 0
	}
	return code, in.Confidence
}

// minOutsideWords is the length from which a language outside the preferred
// set is believed whatever its confidence: on shorter texts the unrestricted
// guess is often wrong (English taken for Romanian, Italian for Hausa in
// testdata/short.tsv), while whatlanggo's confidence, a margin between the
// two best languages, stays low on long texts of close languages (Dutch and
// German).
const minOutsideWords = 9

func hasLetter(s string) bool {
	return strings.IndexFunc(s, unicode.IsLetter) >= 0
}
