// Package text holds the language tools the nlp analysers share: a
// tokenizer for speech transcripts, Snowball stemmers and stop words for
// the supported languages (en, es, fr, de, pt, it).
package text

import (
	"strings"
	"unicode"

	"github.com/blevesearch/snowballstem"
	"github.com/blevesearch/snowballstem/english"
	"github.com/blevesearch/snowballstem/french"
	"github.com/blevesearch/snowballstem/german"
	"github.com/blevesearch/snowballstem/italian"
	"github.com/blevesearch/snowballstem/portuguese"
	"github.com/blevesearch/snowballstem/spanish"
)

// Languages are the languages with stemmers and stop words.
var Languages = []string{"en", "es", "fr", "de", "pt", "it"}

// Supported says whether lang is one of Languages.
func Supported(lang string) bool {
	_, ok := stemmers[lang]
	return ok
}

var stemmers = map[string]func(*snowballstem.Env) bool{
	"en": english.Stem, "es": spanish.Stem, "fr": french.Stem,
	"de": german.Stem, "pt": portuguese.Stem, "it": italian.Stem,
}

// Stem returns the Snowball stem of the lower-case word w in lang; w itself
// for an unknown language.
func Stem(lang, w string) string {
	f, ok := stemmers[lang]
	if !ok {
		return w
	}
	env := snowballstem.NewEnv(w)
	f(env)
	return env.Current()
}

// Token is one word of a text.
type Token struct {
	// Text as written.
	Text string
	// Lower is Text in lower case.
	Lower string
	// Caps is true for a word of two or more letters all in upper case.
	Caps bool
	// ClauseEnd is true when clause punctuation (, ; : . ! ?) follows.
	ClauseEnd bool
}

// Tokenize splits s into words: letters and digits, an inner hyphen kept,
// apostrophes splitting (l'hiver → l, hiver; don't → don, t). Each symbol
// rune (emoji) is a token of its own.
func Tokenize(s string) []Token {
	var toks []Token
	var cur []rune
	flush := func() {
		if len(cur) == 0 {
			return
		}
		w := string(cur)
		letters, upper := 0, 0
		for _, r := range cur {
			if unicode.IsLetter(r) {
				letters++
				if unicode.IsUpper(r) {
					upper++
				}
			}
		}
		toks = append(toks, Token{Text: w, Lower: strings.ToLower(w), Caps: letters >= 2 && upper == letters})
		cur = cur[:0]
	}
	for _, r := range s {
		switch {
		case unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.Is(unicode.Mn, r) || r == '-' && len(cur) > 0:
			cur = append(cur, r)
		case unicode.Is(unicode.So, r):
			flush()
			toks = append(toks, Token{Text: string(r), Lower: string(r)})
		default:
			flush()
			if strings.ContainsRune(",;:.!?…", r) && len(toks) > 0 {
				toks[len(toks)-1].ClauseEnd = true
			}
		}
	}
	flush()
	return toks
}

// Terms returns the stems of the content words of s in lang: stop words,
// numbers and one-letter words are left out.
func Terms(lang, s string) []string {
	var out []string
	stop := stopWords[lang]
	for _, t := range Tokenize(s) {
		if stop[t.Lower] || len([]rune(t.Lower)) < 2 || !hasLetter(t.Lower) {
			continue
		}
		out = append(out, Stem(lang, t.Lower))
	}
	return out
}

func hasLetter(s string) bool { return strings.IndexFunc(s, unicode.IsLetter) >= 0 }
