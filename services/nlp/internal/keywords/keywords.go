// Package keywords finds key phrases, names, numbers and questions in
// transcript text, and scores how much a sentence works as a hook (the
// opening line of a clip).
//
// Key phrases are ranked with RAKE (Rose et al. 2010): candidate phrases
// are the runs of words between stop words (stopwords.go) and punctuation;
// each word scores degree/frequency over the candidates, and a phrase
// scores the sum of its words. Supported languages: en, es, fr, de, pt, it;
// any other language gets ErrUnsupported, never a silently wrong list.
package keywords

import (
	txt "github.com/clipmesh/clipmesh/services/nlp/internal/text"

	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"unicode"
)

// ErrUnsupported is returned for a language with no stop word list.
var ErrUnsupported = errors.New("keywords: language not supported")

// Phrase is a ranked key phrase.
type Phrase struct {
	Text  string
	Score float64
}

// Extract returns up to max key phrases of text in lang (ISO 639-1) ranked
// by RAKE score, ties by first appearance; max ≤ 0 returns all.
func Extract(text, lang string, max int) ([]Phrase, error) {
	stop := txt.StopWords(lang)
	ok := stop != nil
	if !ok {
		return nil, fmt.Errorf("%w: %q", ErrUnsupported, lang)
	}
	var cands [][]string
	var cur []string
	end := func() {
		if len(cur) > 0 && len(cur) <= 4 {
			cands = append(cands, cur)
		}
		cur = nil
	}
	for _, t := range splitTokens(text) {
		if t == "" {
			end()
			continue
		}
		w := strings.ToLower(t)
		if stop[w] || !hasLetter(w) || len([]rune(w)) < 2 {
			end()
			continue
		}
		cur = append(cur, w)
	}
	end()
	freq, deg := map[string]float64{}, map[string]float64{}
	for _, c := range cands {
		for _, w := range c {
			freq[w]++
			deg[w] += float64(len(c))
		}
	}
	seen := map[string]int{}
	var out []Phrase
	for _, c := range cands {
		key := strings.Join(c, " ")
		if _, dup := seen[key]; dup {
			continue
		}
		seen[key] = len(out)
		s := 0.0
		for _, w := range c {
			s += deg[w] / freq[w]
		}
		out = append(out, Phrase{Text: key, Score: s})
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Score > out[j].Score })
	if max > 0 && len(out) > max {
		out = out[:max]
	}
	return out, nil
}

// splitTokens splits text into words; "" marks a phrase boundary
// (punctuation other than an in-word apostrophe or hyphen).
func splitTokens(text string) []string {
	var out []string
	var cur []rune
	flush := func() {
		if len(cur) > 0 {
			out = append(out, string(cur))
			cur = cur[:0]
		}
	}
	for _, r := range text {
		switch {
		case unicode.IsLetter(r) || unicode.IsDigit(r) || (r == '-' && len(cur) > 0):
			cur = append(cur, r)
		case unicode.IsSpace(r):
			flush()
		case r == '\'' || r == '’':
			flush() // l'hiver → l, hiver
		default:
			flush()
			out = append(out, "")
		}
	}
	flush()
	return out
}

func hasLetter(s string) bool { return strings.IndexFunc(s, unicode.IsLetter) >= 0 }

var numberRE = regexp.MustCompile(`\d+(?:[.,:]\d+)*\s?%?`)

// Numbers returns the numbers written in digits in text (12, 3.5, 10:30, 40%).
func Numbers(text string) []string {
	var out []string
	for _, m := range numberRE.FindAllString(text, -1) {
		out = append(out, strings.TrimSpace(m))
	}
	return out
}

// sentenceRE splits text after . ! ? … (keeping the mark).
var sentenceRE = regexp.MustCompile(`[^.!?…]+[.!?…]*`)

// Sentences splits text into trimmed sentences.
func Sentences(text string) []string {
	var out []string
	for _, s := range sentenceRE.FindAllString(text, -1) {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// Questions returns the sentences of text that are questions: they end in
// '?' (or start with '¿').
func Questions(text string) []string {
	var out []string
	for _, s := range Sentences(text) {
		if strings.HasSuffix(s, "?") || strings.HasPrefix(s, "¿") {
			out = append(out, s)
		}
	}
	return out
}

// Names returns capitalised name-like phrases: runs of capitalised words
// that are not stop words, not at the start of a sentence unless the run
// has two or more words (so "The" or "Yesterday" opening a sentence is not
// a name, "New York" opening one is). lang may be any language; a known
// one also excludes its stop words.
func Names(text, lang string) []string {
	stop := txt.StopWords(lang)
	var out []string
	seen := map[string]bool{}
	for _, s := range Sentences(text) {
		toks := strings.Fields(s)
		var run []string
		startRun := false
		emit := func() {
			if len(run) >= 2 || (len(run) == 1 && !startRun) {
				n := strings.Join(run, " ")
				if !seen[n] {
					seen[n] = true
					out = append(out, n)
				}
			}
			run = nil
		}
		for i, t := range toks {
			w := strings.TrimFunc(t, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
			r := []rune(w)
			isName := len(r) > 1 && unicode.IsUpper(r[0]) && !stop[strings.ToLower(w)]
			if isName {
				if len(run) == 0 {
					startRun = i == 0
				}
				run = append(run, w)
				if strings.ContainsAny(t[len(t)-1:], ",;:") {
					emit()
				}
				continue
			}
			emit()
		}
		emit()
	}
	return out
}
