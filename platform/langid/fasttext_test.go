package langid

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/clipmesh/clipmesh/platform/models"
)

// modelPath is lid-176 in the models cache (`clipmesh models fetch`).
func modelPath(t testing.TB) string {
	t.Helper()
	p, err := findModel()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func findModel() (string, error) {
	dir, err := models.Dir("")
	if err != nil {
		return "", err
	}
	return models.Path(dir, ModelName)
}

// loaded is lid-176, loaded once for the package's tests (the model is
// read-only).
var loaded struct {
	once sync.Once
	id   *FastText
	err  error
}

// fastTextFor returns a FastText preferring prefer, on the shared model.
func fastTextFor(t testing.TB, prefer []string) *FastText {
	t.Helper()
	loaded.once.Do(func() {
		p, err := findModel()
		if err != nil {
			loaded.err = err
			return
		}
		loaded.id, loaded.err = NewFastText(p, nil)
	})
	if loaded.err != nil {
		t.Fatal(loaded.err)
	}
	return &FastText{model: loaded.id.model, prefer: preferSet(prefer)}
}

func TestNewUsesFastText(t *testing.T) {
	t.Parallel()
	dir := filepath.Dir(filepath.Dir(modelPath(t)))
	id := New(dir, nil)
	if _, ok := id.(*FastText); !ok {
		t.Fatalf("New(%s) = %T (%s), want *FastText", dir, id, id.Engine())
	}
	if e := id.Engine(); !strings.Contains(e, "fastText") || strings.Contains(e, "fallback") {
		t.Errorf("engine %q", e)
	}
}

// TestFallback: with no model, or a damaged one, New still identifies
// languages (whatlanggo), and says so in Engine and Err.
func TestFallback(t *testing.T) {
	t.Parallel()
	man, err := models.Load()
	if err != nil {
		t.Fatal(err)
	}
	e, ok := man.Entry(ModelName)
	if !ok {
		t.Fatalf("no %s in the manifest", ModelName)
	}
	corrupt := t.TempDir()
	p := models.FilePath(corrupt, e, e.MainFile())
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte("not a model"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name, dir string
		err       error
		why       string
	}{
		{"missing", t.TempDir(), models.ErrMissing, "not installed"},
		{"corrupt", corrupt, models.ErrChecksum, "checksum mismatch"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			id := New(tt.dir, []string{"en", "es"})
			fb, ok := id.(*Fallback)
			if !ok {
				t.Fatalf("New = %T, want *Fallback", id)
			}
			if !errors.Is(fb.Err, tt.err) {
				t.Errorf("Err = %v, want %v", fb.Err, tt.err)
			}
			if e := id.Engine(); !strings.Contains(e, "whatlanggo") || !strings.Contains(e, "fallback: "+ModelName+" "+tt.why) {
				t.Errorf("engine %q does not say it is whatlanggo as a fallback (%s)", e, tt.why)
			}
			if got, p := id.Identify("¿Dónde está la estación de tren?"); got != "es" || p <= 0 || p > 1 {
				t.Errorf("fallback identified %s (%.2f), want es", got, p)
			}
		})
	}
}

func TestNewFastTextErrors(t *testing.T) {
	t.Parallel()
	bad := filepath.Join(t.TempDir(), "bad.ftz")
	if err := os.WriteFile(bad, []byte("not a model at all"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{bad, filepath.Join(t.TempDir(), "none.ftz")} {
		if id, err := NewFastText(p, nil); err == nil || !strings.HasPrefix(err.Error(), "langid: ") {
			t.Errorf("NewFastText(%s) = %v, %v; want a langid error", p, id, err)
		}
	}
}

// TestFastTextPrefer: a short text the model is unsure about is given the
// best preferred language, and what the preferred set is changes it; a
// clear text outside the set keeps its language.
func TestFastTextPrefer(t *testing.T) {
	t.Parallel()
	// lid.176 on this Portuguese line: gl 0.37, es 0.33, pt 0.22.
	const unsure = "Vire à esquerda no segundo semáforo."
	for _, tt := range []struct {
		prefer []string
		text   string
		want   string
	}{
		{[]string{}, unsure, "gl"},
		{[]string{"pt"}, unsure, "pt"},
		{[]string{"es", "pt"}, unsure, "es"},
		{[]string{"en"}, "Ik denk echt dat deze video beter is.", "nl"},
		{[]string{"en"}, "Я думаю, это хорошее видео.", "ru"},
		{[]string{"en"}, "12:30 — 4,5 %!", Und},
	} {
		got, p := fastTextFor(t, tt.prefer).Identify(tt.text)
		if got != tt.want || p < 0 || p > 1 || (got != Und && p == 0) {
			t.Errorf("prefer %v: Identify(%q) = %s (%.2f), want %s", tt.prefer, tt.text, got, p, tt.want)
		}
	}
}

// TestFastTextConcurrent: one FastText serves concurrent requests (run
// with -race).
func TestFastTextConcurrent(t *testing.T) {
	t.Parallel()
	id := fastTextFor(t, nil)
	samples := loadShort(t)
	want := make([]string, len(samples))
	for i, s := range samples {
		want[i], _ = id.Identify(s.text)
	}
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := g; i < len(samples); i += 4 {
				if got, _ := id.Identify(samples[i].text); got != want[i] {
					t.Errorf("concurrent Identify(%q) = %s, alone %s", samples[i].text, got, want[i])
				}
			}
		})
	}
	wg.Wait()
}
