package sentiment

import (
	"errors"
	"strings"
	"testing"

	"github.com/clipmesh/clipmesh/platform/models"
)

// testEngine is the Spanish/German rules over a tiny lexicon, so each rule
// is tested alone.
func testEngine(lang string) *Engine {
	lex := map[string]float64{"bueno": 3, "malo": -3, "gut": 3, "schlecht": -2, "no": -1, "😍": 3, "duro": -2}
	return NewEngine(lang, lex, rulesByLang[lang], "test")
}

func TestRules(t *testing.T) {
	t.Parallel()
	es := testEngine("es")
	de := testEngine("de")
	base := es.Analyze("es bueno").Compound
	tests := []struct {
		name string
		e    *Engine
		text string
		want Label
		cmp  func(c float64) bool // relation to base, nil if none
	}{
		{"plain", es, "es bueno", Positive, nil},
		{"neutral", es, "es una mesa", Neutral, nil},
		{"inflection", es, "es buena", Positive, nil},
		{"negation", es, "no es bueno", Negative, nil},
		{"negation is not a valence", es, "no lo sé", Neutral, nil},
		{"booster", es, "es muy bueno", Positive, func(c float64) bool { return c > base }},
		{"dampener", es, "es poco bueno", Positive, func(c float64) bool { return c < base }},
		{"caps", es, "es BUENO", Positive, func(c float64) bool { return c > base }},
		{"all caps is no emphasis", es, "ES BUENO", Positive, func(c float64) bool { return c == base }},
		{"exclamation", es, "es bueno!!", Positive, func(c float64) bool { return c > base }},
		{"contrast", es, "es bueno, pero malo", Negative, nil},
		{"contrast reversed", es, "es malo, pero bueno", Positive, nil},
		{"emoji", es, "la playa 😍", Positive, nil},
		{"de post-negation", de, "Ich finde es gut nicht", Negative, nil},
		{"de pre-negation", de, "Das ist nicht schlecht", Positive, nil},
		{"de clause stops post-negation", de, "Es ist gut. Nicht wahr", Positive, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := tt.e.Analyze(tt.text)
			if r.Label != tt.want {
				t.Errorf("Analyze(%q) = %s %.3f, want %s", tt.text, r.Label, r.Compound, tt.want)
			}
			if r.Compound < -1 || r.Compound > 1 {
				t.Errorf("compound %v outside [-1,1]", r.Compound)
			}
			if tt.cmp != nil && !tt.cmp(r.Compound) {
				t.Errorf("Analyze(%q) compound %.3f, base %.3f: wrong direction", tt.text, r.Compound, base)
			}
			if r.Rules != EngineRules || r.Lexicon != "test" {
				t.Errorf("rules/lexicon not named: %+v", r)
			}
		})
	}
}

func TestNormalize(t *testing.T) {
	t.Parallel()
	tests := []struct{ x, want float64 }{{0, 0}, {1, 1 / 4.0}, {-1, -1 / 4.0}, {1e9, 1}}
	for _, tt := range tests {
		if got := normalize(tt.x); got < tt.want-1e-6 || got > tt.want+1e-6 {
			t.Errorf("normalize(%v) = %v, want %v", tt.x, got, tt.want)
		}
	}
}

func TestVader(t *testing.T) {
	t.Parallel()
	v := NewVader()
	tests := []struct {
		text string
		want Label
	}{
		{"This is great.", Positive},
		{"This is not great.", Negative},
		{"The file is twelve minutes long.", Neutral},
	}
	for _, tt := range tests {
		if r := v.Analyze(tt.text); r.Label != tt.want || r.Language != "en" || r.Lexicon == "" {
			t.Errorf("Analyze(%q) = %+v, want %s", tt.text, r, tt.want)
		}
	}
}

func TestLoadErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	_, err := Load(dir, "es")
	if !errors.Is(err, models.ErrMissing) || !strings.Contains(err.Error(), "clipmesh models fetch") {
		t.Errorf("Load with an empty cache: %v, want ErrMissing naming `clipmesh models fetch`", err)
	}
	if _, err := Load(dir, "xx"); !errors.Is(err, ErrUnsupported) {
		t.Errorf("Load(xx): %v, want ErrUnsupported", err)
	}
	if a, err := Load(dir, "en"); err != nil || a == nil {
		t.Errorf("Load(en) needs no file: %v", err)
	}
}

func TestLoadInstalled(t *testing.T) {
	t.Parallel()
	dir, err := models.Dir("")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range Languages {
		a, err := Load(dir, l)
		if err != nil {
			t.Fatalf("%v\nInstall the lexicons with `clipmesh models fetch` (part of `make deps`).", err)
		}
		if r := a.Analyze("😍"); r.Label != Positive {
			t.Errorf("%s: emoji 😍 scored %+v", l, r)
		}
	}
}
