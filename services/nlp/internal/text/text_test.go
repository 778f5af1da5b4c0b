package text

import (
	"slices"
	"testing"
)

func TestTokenize(t *testing.T) {
	t.Parallel()
	toks := Tokenize("L'hiver, c'est GÉNIAL! 😍 don't well-known")
	var got []string
	for _, tk := range toks {
		got = append(got, tk.Lower)
	}
	if want := []string{"l", "hiver", "c", "est", "génial", "😍", "don", "t", "well-known"}; !slices.Equal(got, want) {
		t.Errorf("Tokenize = %q, want %q", got, want)
	}
	if !toks[1].ClauseEnd || !toks[4].Caps || toks[4].Text != "GÉNIAL" || toks[0].Caps {
		t.Errorf("flags: %+v", toks)
	}
}

func TestStemAndTerms(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ lang, a, b string }{
		{"en", "running", "runs"}, {"es", "canciones", "canción"}, {"fr", "chanteuses", "chanteuse"},
		{"de", "Spielern", "Spieler"}, {"pt", "jogadores", "jogador"}, {"it", "giocatori", "giocatore"},
	} {
		if x, y := Stem(tc.lang, Tokenize(tc.a)[0].Lower), Stem(tc.lang, Tokenize(tc.b)[0].Lower); x != y {
			t.Errorf("%s: %s → %s, %s → %s; want one stem", tc.lang, tc.a, x, tc.b, y)
		}
	}
	if got := Terms("en", "The 3 players and a coach!"); !slices.Equal(got, []string{"player", "coach"}) {
		t.Errorf("Terms = %q", got)
	}
	if Stem("xx", "word") != "word" || Supported("xx") || !Supported("pt") {
		t.Errorf("unknown language handling")
	}
}
