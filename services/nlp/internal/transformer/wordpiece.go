// Package transformer is the plug-in path for a transformer text model a
// user has (no registry this project can reach ships one): a BERT-style
// WordPiece tokenizer over the model's vocab.txt, and ONNX Runtime runners
// (through platform/ort) for a sentence-embedding model (Embedder: token
// states mean-pooled over the attention mask, or an already pooled output)
// and a sequence classifier (Classifier: logits, softmaxed). The nlp
// service uses an Embedder, when one is configured, to score caller labels
// by embedding similarity instead of its WordNet/TF-IDF zero-shot.
//
// The tests exercise it end to end on a small graph generated with Debian's
// python3-onnx, checked against numpy's result for the same inputs.
package transformer

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// Tokenizer is a BERT WordPiece tokenizer.
type Tokenizer struct {
	vocab              map[string]int64
	unk, cls, sep, pad int64
	// Lower lower-cases and strips accents (uncased models), the default.
	Lower bool
	// MaxLen is the most tokens per text, [CLS] and [SEP] included (512).
	MaxLen int
}

// LoadVocab reads a vocab.txt (one token a line, id = line number).
func LoadVocab(path string) (*Tokenizer, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("transformer vocab: %w", err)
	}
	defer f.Close()
	t := &Tokenizer{vocab: map[string]int64{}, Lower: true, MaxLen: 512}
	sc := bufio.NewScanner(f)
	var id int64
	for sc.Scan() {
		t.vocab[strings.TrimRight(sc.Text(), "\r")] = id
		id++
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("transformer vocab %s: %w", path, err)
	}
	var ok bool
	for _, sp := range []struct {
		tok string
		dst *int64
	}{{"[UNK]", &t.unk}, {"[CLS]", &t.cls}, {"[SEP]", &t.sep}, {"[PAD]", &t.pad}} {
		if *sp.dst, ok = t.vocab[sp.tok]; !ok {
			return nil, fmt.Errorf("transformer vocab %s: no %s token", path, sp.tok)
		}
	}
	return t, nil
}

// maxWordChars is BERT's limit above which a word is [UNK].
const maxWordChars = 100

// Encode returns the token ids of s: [CLS], the WordPiece pieces of its
// words (greedy longest match, "##" continuations, [UNK] for a word that
// cannot be pieced), [SEP], truncated to MaxLen.
func (t *Tokenizer) Encode(s string) []int64 {
	ids := []int64{t.cls}
	for _, w := range t.words(s) {
		ids = append(ids, t.pieces(w)...)
	}
	if t.MaxLen > 1 && len(ids) > t.MaxLen-1 {
		ids = ids[:t.MaxLen-1]
	}
	return append(ids, t.sep)
}

// words splits s on white space and around punctuation, lower-cased and
// accent-stripped for an uncased vocabulary.
func (t *Tokenizer) words(s string) []string {
	if t.Lower {
		var b strings.Builder
		for _, r := range norm.NFD.String(strings.ToLower(s)) {
			if !unicode.Is(unicode.Mn, r) {
				b.WriteRune(r)
			}
		}
		s = b.String()
	}
	var out []string
	var cur []rune
	flush := func() {
		if len(cur) > 0 {
			out = append(out, string(cur))
			cur = cur[:0]
		}
	}
	for _, r := range s {
		switch {
		case unicode.IsSpace(r) || unicode.IsControl(r):
			flush()
		case unicode.IsPunct(r) || unicode.IsSymbol(r):
			flush()
			out = append(out, string(r))
		default:
			cur = append(cur, r)
		}
	}
	flush()
	return out
}

func (t *Tokenizer) pieces(w string) []int64 {
	rs := []rune(w)
	if len(rs) > maxWordChars {
		return []int64{t.unk}
	}
	var out []int64
	for start := 0; start < len(rs); {
		end := len(rs)
		found := int64(-1)
		for ; end > start; end-- {
			sub := string(rs[start:end])
			if start > 0 {
				sub = "##" + sub
			}
			if id, ok := t.vocab[sub]; ok {
				found = id
				break
			}
		}
		if found < 0 {
			return []int64{t.unk}
		}
		out = append(out, found)
		start = end
	}
	return out
}

// ErrConfig is returned for a model configuration that cannot work.
var ErrConfig = errors.New("transformer: bad configuration")
