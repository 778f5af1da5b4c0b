package fasttext_test

import (
	"bufio"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/clipmesh/clipmesh/platform/models"
	"github.com/clipmesh/clipmesh/platform/models/fasttext"
)

func lid(t testing.TB) *fasttext.Model {
	t.Helper()
	dir, err := models.Dir("")
	if err != nil {
		t.Fatal(err)
	}
	p, err := models.Path(dir, "lid-176")
	if err != nil {
		t.Fatal(err)
	}
	m, err := fasttext.Load(p)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestLanguages(t *testing.T) {
	m := lid(t)
	for want, text := range map[string]string{
		"en": "The weather is lovely today and we are going to the beach.",
		"es": "El tiempo es precioso hoy y vamos a ir a la playa.",
		"fr": "Il fait très beau aujourd'hui et nous allons à la plage.",
		"de": "Das Wetter ist heute herrlich und wir gehen an den Strand.",
		"it": "Il tempo è bellissimo oggi e andiamo in spiaggia.",
		"pt": "O tempo está lindo hoje e vamos à praia.",
		"ru": "Сегодня прекрасная погода, и мы идём на пляж.",
		"ja": "今日はとても良い天気なので、海に行きます。",
	} {
		got := m.Predict(text, 3, 0)
		if len(got) == 0 || got[0].Label != want {
			t.Errorf("%q: %+v, want %s first", text, got, want)
			continue
		}
		t.Logf("%s: %+v", want, got)
		if got[0].Probability < 0.5 || got[0].Probability > 1 {
			t.Errorf("%s: probability %v", want, got[0].Probability)
		}
		if len(got) > 1 && got[1].Probability > got[0].Probability {
			t.Errorf("not sorted: %+v", got)
		}
	}
	if got := m.Predict("   ", 1, 0); len(got) != 0 {
		t.Errorf("blank text: %+v", got)
	}
}

// TestShortTexts measures accuracy on platform/langid's short sentences
// (the set whatlanggo and lingua-go were measured on).
func TestShortTexts(t *testing.T) {
	m := lid(t)
	f, err := os.Open("../../langid/testdata/short.tsv")
	if err != nil {
		t.Fatalf("langid test data: %v", err)
	}
	defer f.Close()
	n, ok, okRaw := 0, 0, 0
	sc := bufio.NewScanner(f)
	start := time.Now()
	for sc.Scan() {
		lang, text, found := strings.Cut(sc.Text(), "\t")
		if !found || strings.HasPrefix(lang, "#") {
			continue
		}
		n++
		// The manifest's contract: lower-cased text.
		if got := m.Predict(strings.ToLower(text), 1, 0); len(got) == 1 && got[0].Label == lang {
			ok++
		}
		if got := m.Predict(text, 1, 0); len(got) == 1 && got[0].Label == lang {
			okRaw++
		}
	}
	per := time.Since(start) / time.Duration(2*max(1, n))
	acc := float64(ok) / float64(n)
	t.Logf("lid.176 accuracy on %d short texts: %.3f lower-cased, %.3f as written; %v per text", n, acc, float64(okRaw)/float64(n), per)
	if n < 100 || acc < 0.9 {
		t.Errorf("accuracy %.3f on %d texts, want >= 0.9", acc, n)
	}
}

func TestLoadErrors(t *testing.T) {
	if _, err := fasttext.Load(t.TempDir() + "/none.ftz"); err == nil {
		t.Error("missing file loaded")
	}
	p := t.TempDir() + "/bad.ftz"
	if err := os.WriteFile(p, []byte("not a model at all"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := fasttext.Load(p); err == nil || !strings.Contains(err.Error(), "not a fastText model") {
		t.Errorf("bad file: %v", err)
	}
}

func TestHeap(t *testing.T) {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	m := lid(t)
	runtime.GC()
	runtime.ReadMemStats(&after)
	t.Logf("lid.176 loaded: %.1f MB of heap", float64(after.HeapAlloc-before.HeapAlloc)/1e6)
	runtime.KeepAlive(m)
}
