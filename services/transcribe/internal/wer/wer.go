// Package wer computes the word error rate of a transcript against a
// reference: the Levenshtein distance between their normalised word
// sequences (substitutions + deletions + insertions) over the number of
// reference words.
package wer

import (
	"regexp"
	"strconv"
	"strings"
	"unicode"
)

// Result is the alignment count of one hypothesis against one reference.
type Result struct {
	Ref           int // words in the normalised reference
	Hyp           int // words in the normalised hypothesis
	Substitutions int
	Deletions     int
	Insertions    int
}

// Errors is substitutions + deletions + insertions.
func (r Result) Errors() int { return r.Substitutions + r.Deletions + r.Insertions }

// WER is Errors / Ref; 0 when both are empty, 1 per inserted word when only
// the reference is empty (so an empty reference never divides by zero).
func (r Result) WER() float64 {
	if r.Ref == 0 {
		return float64(r.Insertions)
	}
	return float64(r.Errors()) / float64(r.Ref)
}

// Add sums two results, for a corpus-level WER.
func (r Result) Add(o Result) Result {
	return Result{
		Ref: r.Ref + o.Ref, Hyp: r.Hyp + o.Hyp,
		Substitutions: r.Substitutions + o.Substitutions,
		Deletions:     r.Deletions + o.Deletions,
		Insertions:    r.Insertions + o.Insertions,
	}
}

// Compute aligns the normalised words of hyp against those of ref.
func Compute(ref, hyp string) Result {
	return Align(Normalize(ref), Normalize(hyp))
}

// Align counts the minimum edits turning ref into hyp (word-level
// Levenshtein). Among alignments with the same number of errors it prefers
// substitutions, as sclite does.
func Align(ref, hyp []string) Result {
	type cell struct{ cost, sub, del, ins int }
	prev := make([]cell, len(hyp)+1)
	cur := make([]cell, len(hyp)+1)
	for j := range prev {
		prev[j] = cell{cost: j, ins: j}
	}
	for i := 1; i <= len(ref); i++ {
		cur[0] = cell{cost: i, del: i}
		for j := 1; j <= len(hyp); j++ {
			d := prev[j-1]
			if ref[i-1] != hyp[j-1] {
				d.cost++
				d.sub++
			}
			if c := prev[j]; c.cost+1 < d.cost {
				d = c
				d.cost++
				d.del++
			}
			if c := cur[j-1]; c.cost+1 < d.cost {
				d = c
				d.cost++
				d.ins++
			}
			cur[j] = d
		}
		prev, cur = cur, prev
	}
	c := prev[len(hyp)]
	return Result{Ref: len(ref), Hyp: len(hyp), Substitutions: c.sub, Deletions: c.del, Insertions: c.ins}
}

// digitComma matches a thousands separator.
var digitComma = regexp.MustCompile(`(\d),(\d\d\d)`)

// abbreviations are spelled out the way read speech says them.
var abbreviations = map[string][]string{
	"mr": {"mister"}, "mrs": {"missus"}, "dr": {"doctor"}, "st": {"saint"},
	"&": {"and"}, "%": {"percent"},
}

// Normalize lowercases s, drops punctuation (keeping apostrophes inside
// words), splits hyphenated words, removes recognizer markup (<s>, </s>,
// <sil>, [NOISE], ++GARBAGE++, (utterance ids)), spells out common
// abbreviations and writes integers below a million as words.
func Normalize(s string) []string {
	s = digitComma.ReplaceAllString(strings.ToLower(s), "$1$2")
	s = strings.NewReplacer("%", " % ", "&", " & ").Replace(s)
	var out []string
	for _, f := range strings.Fields(s) {
		if isMarkup(f) {
			continue
		}
		f = strings.Map(func(r rune) rune {
			switch {
			case r == '-' || r == '/' || r == '_':
				return ' '
			case r == '&' || r == '%':
				return r
			case unicode.IsLetter(r) || unicode.IsDigit(r) || r == '\'' || r == '’':
				if r == '’' {
					return '\''
				}
				return r
			}
			return ' '
		}, f)
		for _, w := range strings.Fields(f) {
			w = strings.Trim(w, "'")
			if w == "" {
				continue
			}
			if a, ok := abbreviations[w]; ok {
				out = append(out, a...)
				continue
			}
			if n, err := strconv.Atoi(w); err == nil && n >= 0 && n < 1_000_000 {
				out = append(out, strings.Fields(NumberWords(n))...)
				continue
			}
			out = append(out, w)
		}
	}
	return out
}

func isMarkup(f string) bool {
	switch {
	case strings.HasPrefix(f, "<") && strings.HasSuffix(f, ">"),
		strings.HasPrefix(f, "[") && strings.HasSuffix(f, "]"),
		strings.HasPrefix(f, "++") && strings.HasSuffix(f, "++"),
		strings.HasPrefix(f, "(") && strings.HasSuffix(f, ")") && len(f) > 2 && !strings.ContainsAny(f, " "):
		return true
	}
	return false
}

var (
	ones = []string{"zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
		"ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen"}
	tens = []string{"", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"}
)

// NumberWords writes 0 <= n < 1,000,000 in English words, without "and"
// and without hyphens ("one hundred twenty three").
func NumberWords(n int) string {
	if n < 20 {
		return ones[n]
	}
	var parts []string
	if n >= 1000 {
		parts = append(parts, NumberWords(n/1000), "thousand")
		n %= 1000
		if n == 0 {
			return strings.Join(parts, " ")
		}
	}
	if n >= 100 {
		parts = append(parts, ones[n/100], "hundred")
		n %= 100
		if n == 0 {
			return strings.Join(parts, " ")
		}
	}
	if n < 20 {
		return strings.Join(append(parts, ones[n]), " ")
	}
	parts = append(parts, tens[n/10])
	if n%10 != 0 {
		parts = append(parts, ones[n%10])
	}
	return strings.Join(parts, " ")
}
