package eval

import (
	"fmt"
	"strings"
	"testing"

	"github.com/clipmesh/clipmesh/platform/models"
	"github.com/clipmesh/clipmesh/services/nlp/internal/sentiment"
)

// TestSentiment scores testdata/sentiment.tsv per language and asserts the
// bounds measured when the analysers were written (see the table logged
// with -v). The lexicons must be installed (`clipmesh models fetch`, part of
// `make deps`): a missing one fails the test, it is never skipped.
func TestSentiment(t *testing.T) {
	t.Parallel()
	dir, err := models.Dir("")
	if err != nil {
		t.Fatal(err)
	}
	an, err := sentiment.LoadAll(dir)
	if err != nil {
		t.Fatalf("%v\nThe tests run the real lexicons: install them with `clipmesh models fetch` (part of `make deps`).", err)
	}
	items, err := ReadTSV("testdata/sentiment.tsv")
	if err != nil {
		t.Fatal(err)
	}
	// Bounds measured on this set (accuracy, macro-F1), a little below the
	// measured values so that a regression, not rounding, fails the test.
	bounds := map[string]Scores{
		// measured: en 1.00/1.00, es 0.90/0.87, fr 0.85/0.83, de 0.95/0.94,
		// pt 0.70/0.70, it 0.80/0.78. pt and it miss mostly because the
		// machine-translated AFINN lacks core words (ruim, incrível, buono).
		"en": {Accuracy: 0.95, MacroF1: 0.95},
		"es": {Accuracy: 0.85, MacroF1: 0.85},
		"fr": {Accuracy: 0.80, MacroF1: 0.80},
		"de": {Accuracy: 0.90, MacroF1: 0.90},
		"pt": {Accuracy: 0.70, MacroF1: 0.65},
		"it": {Accuracy: 0.75, MacroF1: 0.75},
	}
	gold := map[string][]string{}
	pred := map[string][]string{}
	byCase := map[string][2]int{}
	var allGold, allPred []string
	for _, it := range items {
		a, ok := an[it.Lang]
		if !ok {
			t.Fatalf("no analyser for %s", it.Lang)
		}
		r := a.Analyze(it.Text)
		if r.Compound < -1 || r.Compound > 1 || r.Lexicon == "" || r.Rules == "" || r.Language != it.Lang {
			t.Errorf("%q: bad result %+v", it.Text, r)
		}
		g, p := it.Label, string(r.Label)
		gold[it.Lang] = append(gold[it.Lang], g)
		pred[it.Lang] = append(pred[it.Lang], p)
		allGold, allPred = append(allGold, g), append(allPred, p)
		c := byCase[it.Case]
		c[1]++
		if g == p {
			c[0]++
		} else {
			t.Logf("miss %s %s (%s): got %s %.3f: %s", it.Lang, g, it.Case, p, r.Compound, it.Text)
		}
		byCase[it.Case] = c
	}
	var b strings.Builder
	fmt.Fprintf(&b, "\n| lang | n | accuracy | macro-F1 | majority class | baseline acc | baseline macro-F1 |\n|---|---|---|---|---|---|---|\n")
	for _, l := range sentiment.Languages {
		s := Score(gold[l], pred[l])
		maj, mp := Majority(gold[l])
		bs := Score(gold[l], mp)
		fmt.Fprintf(&b, "| %s | %d | %.2f | %.2f | %s | %.2f | %.2f |\n", l, s.N, s.Accuracy, s.MacroF1, maj, bs.Accuracy, bs.MacroF1)
		if s.N < 20 {
			t.Errorf("%s: only %d items", l, s.N)
		}
		if want := bounds[l]; s.Accuracy < want.Accuracy || s.MacroF1 < want.MacroF1 {
			t.Errorf("%s: accuracy %.2f macro-F1 %.2f, want ≥ %.2f and ≥ %.2f", l, s.Accuracy, s.MacroF1, want.Accuracy, want.MacroF1)
		}
		if s.MacroF1 <= bs.MacroF1 {
			t.Errorf("%s: macro-F1 %.2f not above the majority baseline %.2f", l, s.MacroF1, bs.MacroF1)
		}
	}
	s := Score(allGold, allPred)
	maj, mp := Majority(allGold)
	bs := Score(allGold, mp)
	fmt.Fprintf(&b, "| all | %d | %.2f | %.2f | %s | %.2f | %.2f |\n\nper case:", s.N, s.Accuracy, s.MacroF1, maj, bs.Accuracy, bs.MacroF1)
	for _, c := range []string{"plain", "negation", "contrast", "intensifier", "caps", "emoji", "punct"} {
		fmt.Fprintf(&b, " %s %d/%d", c, byCase[c][0], byCase[c][1])
	}
	t.Log(b.String())
}
