package langid

import (
	"bufio"
	"os"
	"strings"
	"testing"

	"github.com/abadojack/whatlanggo"
)

type sample struct{ lang, text string }

func loadShort(t testing.TB) []sample {
	t.Helper()
	f, err := os.Open("testdata/short.tsv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []sample
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		lang, text, ok := strings.Cut(line, "\t")
		if !ok {
			t.Fatalf("bad line %q", line)
		}
		out = append(out, sample{lang, text})
	}
	return out
}

// accuracy runs id on the labelled short sentences and checks the overall
// accuracy against min and each supported language against 80%.
func accuracy(t *testing.T, id Identifier, min float64) {
	t.Helper()
	samples := loadShort(t)
	per := map[string][2]int{}
	ok := 0
	for _, s := range samples {
		got, p := id.Identify(s.text)
		if p < 0 || p > 1 {
			t.Errorf("Identify(%q) prob %v outside [0,1]", s.text, p)
		}
		c := per[s.lang]
		c[1]++
		if got == s.lang {
			ok++
			c[0]++
		} else {
			t.Logf("miss: %s taken for %s (%.2f): %q", s.lang, got, p, s.text)
		}
		per[s.lang] = c
	}
	if len(samples) < 120 {
		t.Fatalf("only %d samples", len(samples))
	}
	acc := float64(ok) / float64(len(samples))
	t.Logf("%s: accuracy %.3f (%d/%d), per language %v", id.Engine(), acc, ok, len(samples), per)
	if acc < min {
		t.Errorf("accuracy %.3f < %.3f", acc, min)
	}
	for _, l := range Supported {
		if c := per[l]; float64(c[0]) < 0.8*float64(c[1]) {
			t.Errorf("%s: %d/%d right, want ≥ 80%%", l, c[0], c[1])
		}
	}
}

// TestAccuracy measures both engines on the labelled short sentences and
// asserts what they scored when measured (package comment): Whatlang
// 0.932, FastText 0.985.
func TestAccuracy(t *testing.T) {
	t.Parallel()
	t.Run("whatlang", func(t *testing.T) {
		t.Parallel()
		accuracy(t, NewWhatlang(nil), 0.92)
	})
	t.Run("fasttext", func(t *testing.T) {
		t.Parallel()
		accuracy(t, fastTextFor(t, nil), 0.97)
	})
}

func TestTellsApart(t *testing.T) {
	t.Parallel()
	ids := map[string]Identifier{"whatlang": NewWhatlang(nil), "fasttext": fastTextFor(t, nil)}
	tests := []struct{ want, text string }{
		{"en", "The weather is lovely today and we are going to the beach."},
		{"es", "El tiempo está precioso hoy y vamos a ir a la playa."},
		{"fr", "Il fait très beau aujourd'hui et nous allons à la plage."},
		{"de", "Das Wetter ist heute herrlich und wir gehen an den Strand."},
		{"en", "I really think this video deserves more views."},
		{"es", "Creo que este vídeo merece muchas más visitas, la verdad."},
		{"fr", "Je pense vraiment que cette vidéo mérite plus de vues."},
		{"de", "Ich finde wirklich, dass dieses Video mehr Aufrufe verdient."},
		{"nl", "Ik denk echt dat deze video veel meer weergaven verdient, want hij is heel goed gemaakt."},
		{"ru", "Я действительно думаю, что это видео заслуживает больше просмотров."},
		{Und, "12:30 — 4,5 %!"},
		{Und, ""},
	}
	for name, id := range ids {
		for _, tt := range tests {
			t.Run(name+"/"+tt.want+"/"+tt.text, func(t *testing.T) {
				got, p := id.Identify(tt.text)
				if got != tt.want {
					if name == "whatlang" {
						t.Logf("all: %+v", whatlanggo.Detect(tt.text))
					}
					t.Errorf("Identify(%q) = %s (%.2f), want %s", tt.text, got, p, tt.want)
				}
			})
		}
	}
}

func TestEngineNamed(t *testing.T) {
	var id Identifier = NewWhatlang([]string{"en", "es"})
	if id.Engine() == "" {
		t.Fatal("empty engine name")
	}
	if got, _ := id.Identify("¿Dónde está la estación de tren?"); got != "es" {
		t.Errorf("got %s, want es", got)
	}
}
