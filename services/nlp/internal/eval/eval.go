// Package eval holds the labelled evaluation sets of the nlp service
// (testdata/) and the metrics its tests report: accuracy and macro-F1 per
// language beside a majority-class baseline.
//
// testdata/nlp.tsv: 336 sentences (56 situations, each written in en, es,
// fr, de, pt and it) written for clipmesh, each with a gold sentiment,
// emotion (or none) and topic, and the case it exercises; nlp_test.go
// scores sentiment, emotions, taxonomy topics and zero-shot topics (the
// taxonomy's names given as caller labels) on it.
//
// testdata/emotion_heldout.tsv: 28 English sentences that avoid every
// emotion seed word, scored with the full emotion lexicon and with its
// seeds alone, to measure the WordNet expansion.
//
// testdata/sentiment.tsv: 120 sentences (20 per language: en, es, fr, de,
// pt, it) written for clipmesh, each with a gold sentiment label and the
// case it exercises (plain, negation, contrast, intensifier, caps, emoji,
// punct). The same situations are written in every language, so the
// per-language scores compare the lexicons and rules, not the sentences.
package eval

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

// Item is one labelled sentence.
type Item struct {
	Lang, Label, Case, Text string
}

// ReadTSV reads lines "lang<TAB>label<TAB>case<TAB>text"; blank lines and
// lines starting with # are skipped.
func ReadTSV(path string) ([]Item, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return parseTSV(f)
}

func parseTSV(r io.Reader) ([]Item, error) {
	var out []Item
	sc := bufio.NewScanner(r)
	n := 0
	for sc.Scan() {
		n++
		line := sc.Text()
		if strings.TrimSpace(line) == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.SplitN(line, "\t", 4)
		if len(f) != 4 {
			return nil, fmt.Errorf("line %d: want 4 tab-separated fields, got %d", n, len(f))
		}
		out = append(out, Item{Lang: f[0], Label: f[1], Case: f[2], Text: f[3]})
	}
	return out, sc.Err()
}

// Row is one line of a labelled set with any number of columns.
type Row []string

// ReadRows reads tab-separated lines of exactly n fields; blank lines and
// lines starting with # are skipped.
func ReadRows(path string, n int) ([]Row, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var out []Row
	for i, line := range strings.Split(string(b), "\n") {
		if strings.TrimSpace(line) == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Split(line, "\t")
		if len(f) != n {
			return nil, fmt.Errorf("%s:%d: want %d tab-separated fields, got %d", path, i+1, n, len(f))
		}
		out = append(out, Row(f))
	}
	return out, nil
}

// Scores are the metrics of a set of predictions.
type Scores struct {
	N        int
	Accuracy float64
	MacroF1  float64
}

// Score computes accuracy and macro-F1 (the mean of per-class F1 over the
// classes present in gold or pred) of pred against gold.
func Score(gold, pred []string) Scores {
	if len(gold) != len(pred) {
		panic("eval: gold and pred differ in length")
	}
	classes := map[string]bool{}
	ok := 0
	for i := range gold {
		classes[gold[i]] = true
		classes[pred[i]] = true
		if gold[i] == pred[i] {
			ok++
		}
	}
	s := Scores{N: len(gold)}
	if len(gold) == 0 {
		return s
	}
	s.Accuracy = float64(ok) / float64(len(gold))
	var f1s float64
	for c := range classes {
		var tp, fp, fn float64
		for i := range gold {
			switch {
			case gold[i] == c && pred[i] == c:
				tp++
			case pred[i] == c:
				fp++
			case gold[i] == c:
				fn++
			}
		}
		if tp > 0 {
			p, r := tp/(tp+fp), tp/(tp+fn)
			f1s += 2 * p * r / (p + r)
		}
	}
	s.MacroF1 = f1s / float64(len(classes))
	return s
}

// Majority returns the most frequent label of gold (ties broken by name)
// and gold's predictions by that majority-class baseline.
func Majority(gold []string) (string, []string) {
	count := map[string]int{}
	for _, g := range gold {
		count[g]++
	}
	labels := make([]string, 0, len(count))
	for l := range count {
		labels = append(labels, l)
	}
	sort.Slice(labels, func(i, j int) bool {
		if count[labels[i]] != count[labels[j]] {
			return count[labels[i]] > count[labels[j]]
		}
		return labels[i] < labels[j]
	})
	pred := make([]string, len(gold))
	if len(labels) == 0 {
		return "", pred
	}
	for i := range pred {
		pred[i] = labels[0]
	}
	return labels[0], pred
}
