package emotion

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

func TestLexicon(t *testing.T) {
	t.Parallel()
	lx, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range Languages {
		if n := lx.Size(l); n < 100 {
			t.Errorf("%s: %d entries", l, n)
		}
	}
	if lx.Size("en") < 3*lx.Size("es") {
		t.Errorf("WordNet expansion missing: en %d entries, es %d", lx.Size("en"), lx.Size("es"))
	}
	// Expansions, not seeds: WordNet brought them.
	for w, e := range map[string]Emotion{"gleeful": Joy, "despondent": Sadness, "irate": Anger, "apprehensive": Fear, "flabbergasted": Surprise, "exhilaration": Excitement, "tranquillity": Calm} {
		if r := lx.Analyze("en", w); r.Dominant != e {
			t.Errorf("%s: %v, want %v", w, r.Dominant, e)
		}
	}
	// Inflected forms find their entry through the stemmer.
	if r := lx.Analyze("es", "tristes"); r.Dominant != Sadness {
		t.Errorf("tristes: %v", r.Dominant)
	}
	if _, err := parse("en\tx\tnostalgia\t1\tseed\n", nil); err == nil {
		t.Errorf("unknown emotion accepted")
	}
}

// TestGenerated regenerates the lexicon from the seeds and WordNet and
// compares it with the committed file: the method is reproducible.
func TestGenerated(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the generator")
	}
	t.Parallel()
	out := filepath.Join(t.TempDir(), "lexicon.tsv")
	cmd := exec.Command("go", "run", "./gen", "-seeds", "gen/seeds.txt", "-out", out)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go run ./gen: %v\n%s", err, b)
	}
	got, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile("lexicon.tsv")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("lexicon.tsv differs from the generator's output: run `go generate ./internal/emotion`")
	}
}
