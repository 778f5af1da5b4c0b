package wordnet

import (
	"errors"
	"slices"
	"testing"
)

func TestWordNet(t *testing.T) {
	t.Parallel()
	db, err := Open("")
	if err != nil {
		t.Fatalf("%v\nThe nlp tests read Debian's wordnet-base (part of `make deps`).", err)
	}
	t.Cleanup(func() { _ = db.Close() })
	happy, err := db.Senses("happy", Adj, 1)
	if err != nil || len(happy) != 1 {
		t.Fatalf("Senses(happy) = %v, %v", happy, err)
	}
	if !slices.Contains(happy[0].Words, "happy") || happy[0].Gloss == "" {
		t.Errorf("happy: %+v", happy[0])
	}
	derived, err := db.Related(happy[0], "+")
	if err != nil {
		t.Fatal(err)
	}
	var words []string
	for _, s := range derived {
		words = append(words, s.Words...)
	}
	if !slices.Contains(words, "happiness") {
		t.Errorf("derivations of happy: %v, want happiness", words)
	}
	// The topic domain of a word: "touchdown" belongs to American football.
	td, err := db.Senses("touchdown", Noun, 1)
	if err != nil || len(td) == 0 {
		t.Fatal(err)
	}
	dom, err := db.Related(td[0], ";c")
	if err != nil || len(dom) == 0 || !slices.Contains(dom[0].Words, "american_football") {
		t.Errorf("domain of touchdown: %v %v", dom, err)
	}
	if got := db.Lookup("New York", Noun); len(got) == 0 {
		t.Errorf("phrase lookup failed")
	}
	if _, err := db.Synset(Noun, 12345); err == nil {
		t.Errorf("Synset at a bad offset: no error")
	}
	if _, err := Open(t.TempDir()); !errors.Is(err, ErrMissing) {
		t.Errorf("Open(empty dir) = %v, want ErrMissing", err)
	}
}

func TestBase(t *testing.T) {
	t.Parallel()
	db, err := Open("")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	for _, tc := range []struct {
		w    string
		pos  POS
		want string
	}{{"dogs", Noun, "dog"}, {"boxes", Noun, "box"}, {"children", Noun, "child"}, {"ran", Verb, "run"}, {"cooking", Verb, "cook"}, {"happier", Adj, "happy"}, {"zzzq", Noun, ""}} {
		if got := db.Base(tc.w, tc.pos); got != tc.want {
			t.Errorf("Base(%q, %c) = %q, want %q", tc.w, tc.pos, got, tc.want)
		}
	}
}
