package eval

import (
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/clipmesh/clipmesh/platform/models"
	"github.com/clipmesh/clipmesh/services/nlp/internal/analyze"
	"github.com/clipmesh/clipmesh/services/nlp/internal/emotion"
	"github.com/clipmesh/clipmesh/services/nlp/internal/topics"
	"github.com/clipmesh/clipmesh/services/nlp/internal/wordnet"
)

var langs = []string{"en", "es", "fr", "de", "pt", "it"}

var (
	anOnce sync.Once
	an     *analyze.Analyzer
	anErr  error
)

func analyzer(t *testing.T) *analyze.Analyzer {
	t.Helper()
	anOnce.Do(func() {
		dir, err := models.Dir("")
		if err != nil {
			anErr = err
			return
		}
		db, err := wordnet.Open("")
		if err != nil {
			anErr = err
			return
		}
		an, anErr = analyze.New(dir, &topics.Expander{DB: db})
		if anErr == nil {
			anErr = an.SentimentErr
		}
	})
	if anErr != nil {
		t.Fatalf("%v\nThe evaluation runs the real lexicons: `make deps` installs them (clipmesh models fetch, wordnet-base).", anErr)
	}
	return an
}

// task is one scored task: gold and predicted labels per language.
type task struct {
	name       string
	gold, pred map[string][]string
}

func newTask(name string) *task {
	return &task{name: name, gold: map[string][]string{}, pred: map[string][]string{}}
}

func (k *task) add(lang, gold, pred string) {
	k.gold[lang] = append(k.gold[lang], gold)
	k.pred[lang] = append(k.pred[lang], pred)
}

// table writes the task's markdown rows and returns its scores per
// language ("all" for the whole set) with the majority baseline's.
func (k *task) table(b *strings.Builder) (map[string]Scores, map[string]Scores) {
	got, base := map[string]Scores{}, map[string]Scores{}
	var ag, ap []string
	for _, l := range append(langs, "all") {
		g, p := k.gold[l], k.pred[l]
		if l != "all" && len(g) == 0 {
			continue
		}
		if l == "all" {
			g, p = ag, ap
		} else {
			ag, ap = append(ag, g...), append(ap, p...)
		}
		s := Score(g, p)
		maj, mp := Majority(g)
		bs := Score(g, mp)
		got[l], base[l] = s, bs
		fmt.Fprintf(b, "| %s | %s | %d | %.2f | %.2f | %s | %.2f | %.2f |\n", k.name, l, s.N, s.Accuracy, s.MacroF1, maj, bs.Accuracy, bs.MacroF1)
	}
	return got, base
}

// TestNLP scores sentiment, emotions, taxonomy topics and zero-shot topics
// on testdata/nlp.tsv per language beside the majority-class baseline, and
// asserts the bounds measured when the analysers were written (a little
// below the measured values, so a regression fails, not rounding). Run
// with -v for the table the README reports.
func TestNLP(t *testing.T) {
	t.Parallel()
	a := analyzer(t)
	rows, err := ReadRows("testdata/nlp.tsv", 6)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) < 300 {
		t.Fatalf("%d rows, want ≥ 300", len(rows))
	}
	sent, emo, top, zs := newTask("sentiment"), newTask("emotion"), newTask("topic"), newTask("topic zero-shot")
	byCase := map[string][2]int{}
	for _, r := range rows {
		lang, gs, ge, gt, cs, txt := r[0], r[1], r[2], r[3], r[4], r[5]
		res, err := a.Analyze(t.Context(), analyze.Request{Segments: []analyze.Segment{{Text: txt}}, Language: lang, Labels: topics.Topics})
		if err != nil {
			t.Fatal(err)
		}
		s := res.Segments[0]
		if !s.Supported || s.Sentiment == nil {
			t.Fatalf("%s unsupported: %q", lang, txt)
		}
		ps := string(s.Sentiment.Label)
		sent.add(lang, gs, ps)
		c := byCase[cs]
		c[1]++
		if ps == gs {
			c[0]++
		}
		byCase[cs] = c
		pe := s.Emotions.Dominant.String()
		emo.add(lang, ge, pe)
		pt := "none"
		if len(s.Topics) > 0 {
			pt = s.Topics[0].Label
		}
		top.add(lang, gt, pt)
		pz := "none"
		if len(s.Labels) > 0 {
			pz = s.Labels[0].Label
		}
		if lang == "en" {
			// Caller labels are expanded through English WordNet: the
			// taxonomy's English names as labels test the zero-shot path on
			// English text only (other languages match a label's own words).
			zs.add(lang, gt, pz)
		}
		if testing.Verbose() && (ps != gs || pe != ge || pt != gt) {
			t.Logf("miss %s [%s %s %s] got [%s %s %s]: %s", lang, gs, ge, gt, ps, pe, pt, txt)
		}
	}
	var b strings.Builder
	b.WriteString("\n| task | lang | n | accuracy | macro-F1 | majority class | baseline acc | baseline macro-F1 |\n|---|---|---|---|---|---|---|---|\n")
	// Bounds (accuracy, macro-F1) per task and language, measured on this set.
	// "min" applies to every language, "all" to the whole set. Measured:
	// sentiment 0.85/0.85 (it lowest, 0.79/0.77), emotion 0.94/0.95 (it
	// 0.89/0.90), topic 0.88/0.83 (pt lowest, 0.86/0.80), zero-shot (en) 0.50/0.44.
	bounds := map[string]map[string]Scores{
		"sentiment":       {"all": {Accuracy: 0.82, MacroF1: 0.80}, "min": {Accuracy: 0.75, MacroF1: 0.72}},
		"emotion":         {"all": {Accuracy: 0.90, MacroF1: 0.90}, "min": {Accuracy: 0.85, MacroF1: 0.85}},
		"topic":           {"all": {Accuracy: 0.82, MacroF1: 0.78}, "min": {Accuracy: 0.75, MacroF1: 0.70}},
		"topic zero-shot": {"all": {Accuracy: 0.45, MacroF1: 0.40}, "min": {Accuracy: 0.45, MacroF1: 0.40}},
	}
	for _, k := range []*task{sent, emo, top, zs} {
		got, base := k.table(&b)
		for l, s := range got {
			want := bounds[k.name]["min"]
			if l == "all" {
				want = bounds[k.name]["all"]
			}
			if s.Accuracy < want.Accuracy || s.MacroF1 < want.MacroF1 {
				t.Errorf("%s %s: accuracy %.2f macro-F1 %.2f, want ≥ %.2f and ≥ %.2f", k.name, l, s.Accuracy, s.MacroF1, want.Accuracy, want.MacroF1)
			}
			if s.MacroF1 <= base[l].MacroF1 {
				t.Errorf("%s %s: macro-F1 %.2f not above the majority baseline %.2f", k.name, l, s.MacroF1, base[l].MacroF1)
			}
		}
	}
	cases := make([]string, 0, len(byCase))
	for c := range byCase {
		cases = append(cases, c)
	}
	sort.Strings(cases)
	b.WriteString("\nsentiment per case:")
	for _, c := range cases {
		fmt.Fprintf(&b, " %s %d/%d", c, byCase[c][0], byCase[c][1])
	}
	t.Log(b.String())
}

// TestEmotionHeldOut scores the English sentences that avoid every seed
// word, with the full lexicon and with its seeds alone: the difference is
// what the WordNet expansion brings.
func TestEmotionHeldOut(t *testing.T) {
	t.Parallel()
	rows, err := ReadRows("testdata/emotion_heldout.tsv", 3)
	if err != nil {
		t.Fatal(err)
	}
	full, err := emotion.Load()
	if err != nil {
		t.Fatal(err)
	}
	seeds, err := emotion.LoadSeeds()
	if err != nil {
		t.Fatal(err)
	}
	var gold, pf, ps []string
	for _, r := range rows {
		gold = append(gold, r[1])
		pf = append(pf, full.Analyze(r[0], r[2]).Dominant.String())
		ps = append(ps, seeds.Analyze(r[0], r[2]).Dominant.String())
		if testing.Verbose() && pf[len(pf)-1] != r[1] {
			t.Logf("held-out miss %s: got %s: %s", r[1], pf[len(pf)-1], r[2])
		}
	}
	f, s := Score(gold, pf), Score(gold, ps)
	t.Logf("held-out emotions (en, %d sentences without seed words): full lexicon %.2f acc / %.2f macro-F1; seeds alone %.2f / %.2f", f.N, f.Accuracy, f.MacroF1, s.Accuracy, s.MacroF1)
	// Measured: 0.79 / 0.73, seeds alone 0.07 / 0.10.
	if f.Accuracy < 0.72 || f.MacroF1 < 0.65 {
		t.Errorf("held-out: accuracy %.2f macro-F1 %.2f, want ≥ 0.72 and ≥ 0.65", f.Accuracy, f.MacroF1)
	}
	if f.Accuracy <= s.Accuracy {
		t.Errorf("the WordNet expansion adds nothing: %.2f vs seeds alone %.2f", f.Accuracy, s.Accuracy)
	}
}
