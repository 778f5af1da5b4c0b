package wer

import (
	"math"
	"slices"
	"testing"
)

func TestNormalize(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want []string
	}{
		{"And so, my fellow Americans!", []string{"and", "so", "my", "fellow", "americans"}},
		{"<s> he was <sil> [NOISE] ++UH++ here </s> (utt-01)", []string{"he", "was", "here"}},
		{"Cold-hearted, isn't it?", []string{"cold", "hearted", "isn't", "it"}},
		{"'quoted' ‘words’ don’t", []string{"quoted", "words", "don't"}},
		{"Mr. Dashwood & Mrs. Smith", []string{"mister", "dashwood", "and", "missus", "smith"}},
		{"in 1811 at 3 o'clock", []string{"in", "one", "thousand", "eight", "hundred", "eleven", "at", "three", "o'clock"}},
		{"100% of 2,000", []string{"one", "hundred", "percent", "of", "two", "thousand"}},
		{"", nil},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			if got := Normalize(tt.in); !slices.Equal(got, tt.want) {
				t.Errorf("Normalize(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestNumberWords(t *testing.T) {
	t.Parallel()
	for n, want := range map[int]string{
		0: "zero", 7: "seven", 19: "nineteen", 20: "twenty", 42: "forty two", 100: "one hundred",
		105: "one hundred five", 999: "nine hundred ninety nine", 1000: "one thousand",
		21000: "twenty one thousand", 123456: "one hundred twenty three thousand four hundred fifty six",
	} {
		if got := NumberWords(n); got != want {
			t.Errorf("NumberWords(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestCompute(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, ref, hyp string
		want           Result
		wer            float64
	}{
		{"identical", "the cat sat", "The cat, sat.", Result{Ref: 3, Hyp: 3}, 0},
		{"substitution", "the cat sat", "the hat sat", Result{Ref: 3, Hyp: 3, Substitutions: 1}, 1.0 / 3},
		{"deletion", "the cat sat", "the sat", Result{Ref: 3, Hyp: 2, Deletions: 1}, 1.0 / 3},
		{"insertion", "the cat sat", "the fat cat sat", Result{Ref: 3, Hyp: 4, Insertions: 1}, 1.0 / 3},
		{"empty hyp", "a b", "", Result{Ref: 2, Deletions: 2}, 1},
		{"empty both", "", "", Result{}, 0},
		{"empty ref", "", "uh um", Result{Hyp: 2, Insertions: 2}, 2},
		{"all wrong and longer", "a b", "c d e", Result{Ref: 2, Hyp: 3, Substitutions: 2, Insertions: 1}, 1.5},
		{"mixed", "he was not an ill disposed young man", "he was not an illness those young man",
			Result{Ref: 8, Hyp: 8, Substitutions: 2}, 0.25},
		{"markup ignored", "<s> he might </s> (id)", "he <sil> might", Result{Ref: 2, Hyp: 2}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := Compute(tt.ref, tt.hyp)
			if got != tt.want {
				t.Errorf("Compute = %+v, want %+v", got, tt.want)
			}
			if math.Abs(got.WER()-tt.wer) > 1e-9 {
				t.Errorf("WER = %v, want %v", got.WER(), tt.wer)
			}
		})
	}
}

func TestAdd(t *testing.T) {
	t.Parallel()
	a := Compute("a b c d", "a x c d")
	b := Compute("e f", "")
	s := a.Add(b)
	if s.Ref != 6 || s.Errors() != 3 || math.Abs(s.WER()-0.5) > 1e-9 {
		t.Errorf("Add = %+v (WER %v), want 3 errors over 6 words", s, s.WER())
	}
}
