package topics

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/clipmesh/clipmesh/services/nlp/internal/wordnet"
)

func TestTaxonomy(t *testing.T) {
	t.Parallel()
	tax, err := LoadTaxonomy()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct{ lang, text, want string }{
		{"en", "The new smartphone has a faster processor and a better battery.", "technology"},
		{"en", "The referee stopped the match after a penalty.", "sports"},
		{"en", "The senator lost the election to the mayor.", "politics"}, // "senator" is a seed; "mayor" too
		{"en", "An old oak grows near the volcano.", "nature"},            // only through WordNet hyponyms
		{"es", "El equipo ganó el partido con un gol.", "sports"},
		{"de", "Eine Klaviermelodie am Abend.", "music"},         // compound: head
		{"de", "Die Serienfinale von gestern.", "entertainment"}, // compound: modifier
		{"fr", "La recette demande du beurre et de la farine, puis le four.", "food"},
		{"de", "Die Aktien an der Börse sind gefallen.", "business"},
		{"pt", "O médico receitou um remédio para a dor.", "health"},
		{"it", "Abbiamo prenotato l'albergo vicino all'aeroporto.", "travel"},
	}
	for _, tt := range tests {
		got := tax.For(tt.lang).Classify(tt.text)
		if got[0].Label != tt.want || got[0].Score <= 0 || got[0].Score > 1 {
			t.Errorf("%s %q: %v first, want %s", tt.lang, tt.text, got[:3], tt.want)
		}
	}
	if got := tax.For("en").Classify("the and of it"); got[0].Score != 0 {
		t.Errorf("stop words scored %v", got[0])
	}
	if tax.For("nl") != nil {
		t.Errorf("a classifier for a language without profiles")
	}
}

func TestExpander(t *testing.T) {
	t.Parallel()
	db, err := wordnet.Open("")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	e := &Expander{DB: db}
	p := Profile{}
	if err := e.ExpandWord(p, "pets", true); err != nil {
		t.Fatal(err)
	}
	if p["pets"] != WeightName || p["animal"] == 0 {
		t.Errorf("pets profile lacks its name or gloss: %v", p)
	}
	ctx, err := e.Context("dogs")
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, c := range ctx {
		found = found || c.Word == "canine"
	}
	if !found {
		t.Errorf("context of dogs lacks canine: %v", ctx)
	}
	c := NewClassifier("en", []string{"pets", "cars"}, []Profile{p, {"car": 1, "engine": 0.8}})
	if got := c.Classify("the engine of my car"); got[0].Label != "cars" {
		t.Errorf("Classify: %v", got)
	}
	// Nil expander: the word alone.
	var none *Expander
	q := Profile{}
	if err := none.ExpandWord(q, "cooking", true); err != nil || len(q) != 1 {
		t.Errorf("nil expander: %v %v", q, err)
	}
}

// TestGenerated regenerates taxonomy.tsv and compares it with the
// committed file.
func TestGenerated(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the generator")
	}
	t.Parallel()
	out := filepath.Join(t.TempDir(), "taxonomy.tsv")
	if b, err := exec.Command("go", "run", "./gen", "-seeds", "gen/seeds.txt", "-out", out).CombinedOutput(); err != nil {
		t.Fatalf("go run ./gen: %v\n%s", err, b)
	}
	got, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile("taxonomy.tsv")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("taxonomy.tsv differs from the generator's output: run `go generate ./internal/topics`")
	}
}
