// Package wordnet reads the Princeton WordNet 3.0 database files as Debian's
// wordnet-base package installs them (/usr/share/wordnet): the index files
// are loaded into memory (lemma → synset offsets, about 15 MB), and a
// synset's line is read from its data file by byte offset when asked for,
// as WordNet's own library does, so opening costs under a second and little
// memory.
//
// The nlp service uses it to build its emotion lexicon (the generator under
// internal/emotion/gen) and to expand caller-supplied topic labels (synonyms,
// hyponyms, topic-domain members and glosses).
package wordnet

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// DefaultDir is where Debian's wordnet-base installs the database.
const DefaultDir = "/usr/share/wordnet"

// ErrMissing is returned by Open when the database is not installed.
var ErrMissing = errors.New("wordnet: database not installed (apt-get install wordnet-base)")

// POS is a part of speech: 'n', 'v', 'a' (adjective, satellites included)
// or 'r' (adverb).
type POS byte

// The parts of speech.
const (
	Noun POS = 'n'
	Verb POS = 'v'
	Adj  POS = 'a'
	Adv  POS = 'r'
)

var posNames = map[POS]string{Noun: "noun", Verb: "verb", Adj: "adj", Adv: "adv"}

// POSes are the parts of speech in index order.
var POSes = []POS{Noun, Verb, Adj, Adv}

// Pointer is a relation from one synset to another.
type Pointer struct {
	// Symbol is WordNet's pointer symbol: "@" hypernym, "~" hyponym, "+"
	// derivationally related form, "&" similar to, ";c" topic domain, "-c"
	// member of this topic domain, "\\" pertainym, "=" attribute, …
	Symbol string
	// Offset and POS name the target synset.
	Offset int64
	POS    POS
}

// Synset is one set of synonyms.
type Synset struct {
	Offset   int64
	POS      POS
	Words    []string // lemmas, lower case, "_" between the words of a phrase
	Pointers []Pointer
	Gloss    string
}

// DB is an open WordNet database. It is safe for concurrent use.
type DB struct {
	dir   string
	index map[POS]map[string][]int64
	exc   map[POS]map[string]string // irregular form → base form
	data  map[POS]*os.File
}

// Open loads the index of the database in dir (DefaultDir when empty).
func Open(dir string) (*DB, error) {
	if dir == "" {
		dir = DefaultDir
	}
	db := &DB{dir: dir, index: map[POS]map[string][]int64{}, exc: map[POS]map[string]string{}, data: map[POS]*os.File{}}
	for _, p := range POSes {
		idx, err := readIndex(filepath.Join(dir, "index."+posNames[p]))
		if err != nil {
			_ = db.Close()
			return nil, err
		}
		db.index[p] = idx
		if db.exc[p], err = readExc(filepath.Join(dir, excNames[p]+".exc")); err != nil {
			_ = db.Close()
			return nil, err
		}
		f, err := os.Open(filepath.Join(dir, "data."+posNames[p]))
		if err != nil {
			_ = db.Close()
			return nil, fmt.Errorf("wordnet: %w", err)
		}
		db.data[p] = f
	}
	return db, nil
}

// Dir is the database directory.
func (db *DB) Dir() string { return db.dir }

// Close closes the data files.
func (db *DB) Close() error {
	var errs []error
	for _, f := range db.data {
		errs = append(errs, f.Close())
	}
	return errors.Join(errs...)
}

func readIndex(path string) (map[string][]int64, error) {
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%w: %s", ErrMissing, path)
		}
		return nil, fmt.Errorf("wordnet: %w", err)
	}
	defer f.Close()
	idx := map[string][]int64{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, " ") {
			continue // licence header
		}
		// lemma pos synset_cnt p_cnt [ptr_symbol...] sense_cnt tagsense_cnt synset_offset...
		f := strings.Fields(line)
		if len(f) < 6 {
			continue
		}
		n, err1 := strconv.Atoi(f[2])
		p, err2 := strconv.Atoi(f[3])
		if err1 != nil || err2 != nil || len(f) < 6+p+n-1 {
			return nil, fmt.Errorf("wordnet: %s: bad index line %q", path, line)
		}
		offs := make([]int64, 0, n)
		for _, s := range f[len(f)-n:] {
			o, err := strconv.ParseInt(s, 10, 64)
			if err != nil {
				return nil, fmt.Errorf("wordnet: %s: bad offset in %q", path, line)
			}
			offs = append(offs, o)
		}
		idx[f[0]] = offs
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("wordnet: %s: %w", path, err)
	}
	return idx, nil
}

var excNames = map[POS]string{Noun: "noun", Verb: "verb", Adj: "adj", Adv: "adv"}

func readExc(path string) (map[string]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("wordnet: %w", err)
	}
	m := map[string]string{}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 {
			m[f[0]] = f[1]
		}
	}
	return m, nil
}

// detachments are WordNet's morphy suffix rules per part of speech.
var detachments = map[POS][][2]string{
	Noun: {{"s", ""}, {"ses", "s"}, {"xes", "x"}, {"zes", "z"}, {"ches", "ch"}, {"shes", "sh"}, {"men", "man"}, {"ies", "y"}},
	Verb: {{"s", ""}, {"ies", "y"}, {"es", "e"}, {"es", ""}, {"ed", "e"}, {"ed", ""}, {"ing", "e"}, {"ing", ""}},
	Adj:  {{"er", ""}, {"est", ""}, {"er", "e"}, {"est", "e"}},
}

// Base returns the base form of word as pos that is in the database, as
// WordNet's morphy finds it (the word itself, an irregular form from the
// exception lists, or a detached suffix: dogs → dog, ran → run), or "".
func (db *DB) Base(word string, pos POS) string {
	w := strings.ReplaceAll(strings.ToLower(word), " ", "_")
	if _, ok := db.index[pos][w]; ok {
		return w
	}
	if b, ok := db.exc[pos][w]; ok {
		if _, ok := db.index[pos][b]; ok {
			return b
		}
	}
	for _, d := range detachments[pos] {
		if strings.HasSuffix(w, d[0]) {
			b := w[:len(w)-len(d[0])] + d[1]
			if _, ok := db.index[pos][b]; ok {
				return b
			}
		}
	}
	return ""
}

// Lookup returns the synset offsets of lemma (lower case, words joined by
// "_") as pos, most frequent sense first.
func (db *DB) Lookup(lemma string, pos POS) []int64 {
	return db.index[pos][strings.ReplaceAll(strings.ToLower(lemma), " ", "_")]
}

// SenseCount is the number of senses of lemma over every part of speech
// (of its base form per part of speech): a measure of how ambiguous it is.
func (db *DB) SenseCount(lemma string) int {
	n := 0
	for _, p := range POSes {
		n += len(db.LookupBase(lemma, p))
	}
	return n
}

// LookupBase is Lookup of lemma's base form (Base).
func (db *DB) LookupBase(lemma string, pos POS) []int64 {
	if b := db.Base(lemma, pos); b != "" {
		return db.index[pos][b]
	}
	return nil
}

// Senses returns the synsets of lemma (or of its base form: Base) as pos,
// most frequent first, at most
// max of them (all when max ≤ 0).
func (db *DB) Senses(lemma string, pos POS, max int) ([]*Synset, error) {
	offs := db.LookupBase(lemma, pos)
	if max > 0 && len(offs) > max {
		offs = offs[:max]
	}
	out := make([]*Synset, 0, len(offs))
	for _, o := range offs {
		s, err := db.Synset(pos, o)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

// Synset reads the synset at offset in pos's data file.
func (db *DB) Synset(pos POS, offset int64) (*Synset, error) {
	if pos == 's' {
		pos = Adj
	}
	f, ok := db.data[pos]
	if !ok {
		return nil, fmt.Errorf("wordnet: unknown part of speech %q", pos)
	}
	buf := make([]byte, 4096)
	var line []byte
	for off := offset; ; off += int64(len(buf)) {
		n, err := f.ReadAt(buf, off)
		if i := bytes.IndexByte(buf[:n], '\n'); i >= 0 {
			line = append(line, buf[:i]...)
			break
		}
		line = append(line, buf[:n]...)
		if err != nil {
			break
		}
	}
	s, err := parseSynset(string(line))
	if err != nil || s.Offset != offset {
		return nil, fmt.Errorf("wordnet: no synset at %s offset %d", posNames[pos], offset)
	}
	return s, nil
}

// parseSynset parses a data line: synset_offset lex_filenum ss_type w_cnt
// word lex_id [word lex_id...] p_cnt [ptr...] [frames...] | gloss.
func parseSynset(line string) (*Synset, error) {
	head, gloss, _ := strings.Cut(line, " | ")
	f := strings.Fields(head)
	if len(f) < 5 {
		return nil, errors.New("short line")
	}
	off, err := strconv.ParseInt(f[0], 10, 64)
	if err != nil {
		return nil, err
	}
	s := &Synset{Offset: off, POS: POS(f[2][0]), Gloss: strings.TrimSpace(gloss)}
	if s.POS == 's' {
		s.POS = Adj
	}
	wc, err := strconv.ParseInt(f[3], 16, 32)
	if err != nil || len(f) < 4+2*int(wc)+1 {
		return nil, errors.New("bad word count")
	}
	i := 4
	for range wc {
		w := strings.ToLower(f[i])
		if j := strings.IndexByte(w, '('); j > 0 { // adjective markers: (a) (p) (ip)
			w = w[:j]
		}
		s.Words = append(s.Words, w)
		i += 2
	}
	pc, err := strconv.Atoi(f[i])
	if err != nil || len(f) < i+1+4*pc {
		return nil, errors.New("bad pointer count")
	}
	i++
	for range pc {
		o, err := strconv.ParseInt(f[i+1], 10, 64)
		if err != nil {
			return nil, err
		}
		p := POS(f[i+2][0])
		if p == 's' {
			p = Adj
		}
		s.Pointers = append(s.Pointers, Pointer{Symbol: f[i], Offset: o, POS: p})
		i += 4
	}
	return s, nil
}

// Related returns the synsets s points to with symbol.
func (db *DB) Related(s *Synset, symbol string) ([]*Synset, error) {
	var out []*Synset
	for _, p := range s.Pointers {
		if p.Symbol != symbol {
			continue
		}
		t, err := db.Synset(p.POS, p.Offset)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, nil
}
