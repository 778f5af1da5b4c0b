package fasttext

import (
	"bufio"
	"container/heap"
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"slices"
	"strings"
)

const (
	magic   = 793712314
	version = 12
	eos     = "</s>"
	ksub    = 256 // centroids per product-quantiser subspace
)

// Loss functions of fastText's args (enum loss_name).
const (
	lossHS      = 1
	lossNS      = 2
	lossSoftmax = 3
	lossOVA     = 4
)

// Prediction is one label and its probability.
type Prediction struct {
	Label       string // without the "__label__" prefix
	Probability float64
}

// Model is a loaded supervised fastText model. It is safe for concurrent
// use (prediction only reads it).
type Model struct {
	dim, minn, maxn, bucket, wordNgrams, loss int
	nwords                                    int
	words                                     map[string]int // word -> id
	labels                                    []string       // label i is dictionary entry nwords+i
	labelCounts                               []int64
	prune                                     map[int32]int32 // n-gram bucket -> row, when pruned
	pruned                                    bool
	input                                     matrix
	output                                    matrix
	tree                                      []node // hierarchical softmax
}

type node struct {
	left, right int
	count       int64
}

// matrix is a dense or product-quantised row matrix.
type matrix interface {
	rows() int
	addRow(dst []float32, i int)
	dot(v []float32, i int) float32
}

// Load reads a model file.
func Load(path string) (*Model, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("fasttext: %w", err)
	}
	defer f.Close()
	m, err := Read(bufio.NewReaderSize(f, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("fasttext: %s: %w", path, err)
	}
	return m, nil
}

type reader struct {
	r   *bufio.Reader
	err error
}

func (r *reader) read(v any) {
	if r.err == nil {
		r.err = binary.Read(r.r, binary.LittleEndian, v)
	}
}

func (r *reader) i32() int32 {
	var v int32
	r.read(&v)
	return v
}

func (r *reader) i64() int64 {
	var v int64
	r.read(&v)
	return v
}

func (r *reader) boolean() bool {
	var v uint8
	r.read(&v)
	return v != 0
}

func (r *reader) cstring() string {
	if r.err != nil {
		return ""
	}
	s, err := r.r.ReadString(0)
	if err != nil {
		r.err = err
		return ""
	}
	return s[:len(s)-1]
}

// Read reads a model from r.
func Read(br *bufio.Reader) (*Model, error) {
	r := &reader{r: br}
	if mg, v := r.i32(), r.i32(); r.err == nil && (mg != magic || v != version) {
		return nil, fmt.Errorf("not a fastText model of version %d (magic %d, version %d)", version, mg, v)
	}
	var args [12]int32
	r.read(&args)
	var t float64
	r.read(&t)
	m := &Model{dim: int(args[0]), wordNgrams: int(args[5]), loss: int(args[6]), bucket: int(args[8]), minn: int(args[9]), maxn: int(args[10])}
	if model := args[7]; r.err == nil && model != 3 {
		return nil, fmt.Errorf("model type %d: only supervised models (3) predict labels", model)
	}
	size, nwords, nlabels := r.i32(), r.i32(), r.i32()
	_ = r.i64() // ntokens
	pruneSize := r.i64()
	if r.err != nil {
		return nil, r.err
	}
	if size < 0 || nwords < 0 || nlabels <= 0 || size != nwords+nlabels {
		return nil, fmt.Errorf("dictionary of %d entries, %d words, %d labels", size, nwords, nlabels)
	}
	m.nwords = int(nwords)
	m.words = make(map[string]int, nwords)
	for i := range int(size) {
		w := r.cstring()
		count := r.i64()
		var typ int8
		r.read(&typ)
		if r.err != nil {
			return nil, fmt.Errorf("dictionary: %w", r.err)
		}
		if typ == 0 {
			m.words[w] = i
		} else {
			m.labels = append(m.labels, strings.TrimPrefix(w, "__label__"))
			m.labelCounts = append(m.labelCounts, count)
		}
	}
	if len(m.labels) != int(nlabels) {
		return nil, fmt.Errorf("dictionary has %d labels, header says %d", len(m.labels), nlabels)
	}
	if pruneSize >= 0 {
		m.pruned = true
		m.prune = make(map[int32]int32, pruneSize)
		for range pruneSize {
			k, v := r.i32(), r.i32()
			m.prune[k] = v
		}
	}
	var err error
	if m.input, err = readMatrix(r); err != nil {
		return nil, fmt.Errorf("input matrix: %w", err)
	}
	if m.output, err = readMatrix(r); err != nil {
		return nil, fmt.Errorf("output matrix: %w", err)
	}
	switch m.loss {
	case lossHS:
		m.buildTree()
		if m.output.rows() < len(m.labels)-1 {
			return nil, fmt.Errorf("output matrix has %d rows for %d labels", m.output.rows(), len(m.labels))
		}
	case lossSoftmax, lossOVA, lossNS:
		if m.output.rows() != len(m.labels) {
			return nil, fmt.Errorf("output matrix has %d rows for %d labels", m.output.rows(), len(m.labels))
		}
	default:
		return nil, fmt.Errorf("unknown loss %d", m.loss)
	}
	return m, nil
}

type dense struct {
	m, n int
	data []float32
}

func (d *dense) rows() int { return d.m }

func (d *dense) addRow(dst []float32, i int) {
	for k, v := range d.data[i*d.n : (i+1)*d.n] {
		dst[k] += v
	}
}

func (d *dense) dot(v []float32, i int) float32 {
	var s float32
	for k, w := range d.data[i*d.n : (i+1)*d.n] {
		s += w * v[k]
	}
	return s
}

// pq is a product quantiser (fastText's ProductQuantizer).
type pq struct {
	dim, nsubq, dsub, lastdsub int
	centroids                  []float32
}

func readPQ(r *reader) (*pq, error) {
	p := &pq{dim: int(r.i32()), nsubq: int(r.i32()), dsub: int(r.i32()), lastdsub: int(r.i32())}
	if r.err != nil {
		return nil, r.err
	}
	if p.dim <= 0 || p.nsubq <= 0 || p.dim > 1<<16 {
		return nil, fmt.Errorf("product quantiser dim %d, %d subquantisers", p.dim, p.nsubq)
	}
	p.centroids = make([]float32, p.dim*ksub)
	r.read(p.centroids)
	return p, r.err
}

func (p *pq) centroid(m int, code uint8) []float32 {
	if m == p.nsubq-1 {
		o := m*ksub*p.dsub + int(code)*p.lastdsub
		return p.centroids[o : o+p.lastdsub]
	}
	o := (m*ksub + int(code)) * p.dsub
	return p.centroids[o : o+p.dsub]
}

type quant struct {
	m, n      int
	codes     []uint8
	p         *pq
	normCodes []uint8
	npq       *pq
}

func (q *quant) rows() int { return q.m }

func (q *quant) addRow(dst []float32, i int) {
	norm := float32(1)
	if q.npq != nil {
		norm = q.npq.centroid(0, q.normCodes[i])[0]
	}
	code := q.codes[i*q.p.nsubq : (i+1)*q.p.nsubq]
	for s := range q.p.nsubq {
		for k, c := range q.p.centroid(s, code[s]) {
			dst[s*q.p.dsub+k] += norm * c
		}
	}
}

func (q *quant) dot(v []float32, i int) float32 {
	row := make([]float32, q.n)
	q.addRow(row, i)
	var s float32
	for k := range row {
		s += row[k] * v[k]
	}
	return s
}

func readMatrix(r *reader) (matrix, error) {
	if !r.boolean() {
		m, n := r.i64(), r.i64()
		if r.err != nil {
			return nil, r.err
		}
		if m <= 0 || n <= 0 || m*n > 1<<31 {
			return nil, fmt.Errorf("dense matrix %dx%d", m, n)
		}
		d := &dense{m: int(m), n: int(n), data: make([]float32, m*n)}
		r.read(d.data)
		return d, r.err
	}
	qnorm := r.boolean()
	m, n := r.i64(), r.i64()
	codeSize := r.i32()
	if r.err != nil {
		return nil, r.err
	}
	if m <= 0 || n <= 0 || codeSize <= 0 || int64(codeSize) > 1<<31 {
		return nil, fmt.Errorf("quantised matrix %dx%d, %d codes", m, n, codeSize)
	}
	q := &quant{m: int(m), n: int(n), codes: make([]uint8, codeSize)}
	r.read(q.codes)
	var err error
	if q.p, err = readPQ(r); err != nil {
		return nil, err
	}
	if q.p.dim != q.n || len(q.codes) != q.m*q.p.nsubq {
		return nil, fmt.Errorf("quantiser of dim %d and %d codes for a %dx%d matrix", q.p.dim, len(q.codes), q.m, q.n)
	}
	if qnorm {
		q.normCodes = make([]uint8, m)
		r.read(q.normCodes)
		if q.npq, err = readPQ(r); err != nil {
			return nil, err
		}
	}
	return q, r.err
}

// hash is fastText's FNV-1a variant (bytes sign-extended, as C++ char).
func hash(s string) uint32 {
	h := uint32(2166136261)
	for i := 0; i < len(s); i++ {
		h ^= uint32(int32(int8(s[i])))
		h *= 16777619
	}
	return h
}

// ids returns the input rows of a line: each word's id and its subword
// n-grams (or only the n-grams of a word not in the dictionary), the end
// of line, and word n-grams when the model uses them.
func (m *Model) ids(text string) []int {
	var ids []int
	var hashes []uint32
	tokens := append(strings.FieldsFunc(text, func(r rune) bool {
		return r == ' ' || r == '\n' || r == '\r' || r == '\t' || r == '\v' || r == '\f' || r == 0
	}), eos)
	for _, tok := range tokens {
		if strings.HasPrefix(tok, "__label__") {
			continue
		}
		id, ok := m.words[tok]
		if ok {
			ids = append(ids, id)
		}
		if tok != eos {
			ids = m.subwords(ids, "<"+tok+">")
		}
		hashes = append(hashes, hash(tok))
	}
	// fastText keeps word hashes as int32 and widens them to uint64 with
	// sign extension.
	wide := func(h uint32) uint64 { return uint64(int64(int32(h))) }
	for i := range hashes {
		h := wide(hashes[i])
		for j := i + 1; j < len(hashes) && j < i+m.wordNgrams; j++ {
			h = h*116049371 + wide(hashes[j])
			ids = m.push(ids, int64(h%uint64(m.bucket)))
		}
	}
	return ids
}

// subwords appends the character n-grams (minn..maxn runes) of word.
func (m *Model) subwords(ids []int, word string) []int {
	for i := 0; i < len(word); i++ {
		if word[i]&0xC0 == 0x80 {
			continue
		}
		j := i
		for n := 1; j < len(word) && n <= m.maxn; n++ {
			j++
			for j < len(word) && word[j]&0xC0 == 0x80 {
				j++
			}
			if n >= m.minn && !(n == 1 && (i == 0 || j == len(word))) {
				ids = m.push(ids, int64(hash(word[i:j])%uint32(m.bucket)))
			}
		}
	}
	return ids
}

func (m *Model) push(ids []int, bucket int64) []int {
	if m.pruned {
		row, ok := m.prune[int32(bucket)]
		if !ok {
			return ids
		}
		bucket = int64(row)
	}
	return append(ids, m.nwords+int(bucket))
}

// Predict returns the k most likely labels of text (one line; newlines are
// read as spaces) with a probability of at least threshold, best first.
// A blank text, or one with no known word or n-gram, has no prediction
// (fastText itself would answer from the end-of-line token alone).
func (m *Model) Predict(text string, k int, threshold float64) []Prediction {
	if strings.TrimSpace(text) == "" || k <= 0 {
		return nil
	}
	ids := m.ids(strings.ReplaceAll(text, "\n", " "))
	if len(ids) <= 1 { // the end of line only
		return nil
	}
	hidden := make([]float32, m.dim)
	for _, id := range ids {
		if id < m.input.rows() {
			m.input.addRow(hidden, id)
		}
	}
	for i := range hidden {
		hidden[i] /= float32(len(ids))
	}
	h := &predHeap{}
	switch m.loss {
	case lossHS:
		m.dfs(k, math.Log(threshold+1e-5), len(m.tree)-1, 0, h, hidden)
	default:
		scores := make([]float64, len(m.labels))
		var maxv, sum float64 = math.Inf(-1), 0
		for i := range scores {
			scores[i] = float64(m.output.dot(hidden, i))
			maxv = max(maxv, scores[i])
		}
		for i := range scores {
			if m.loss == lossSoftmax {
				scores[i] = math.Exp(scores[i] - maxv)
				sum += scores[i]
			} else {
				scores[i] = 1 / (1 + math.Exp(-scores[i]))
			}
		}
		for i, s := range scores {
			if m.loss == lossSoftmax {
				s /= sum
			}
			if s >= threshold {
				h.offer(k, math.Log(s+1e-5), i)
			}
		}
	}
	out := make([]Prediction, len(*h))
	for i, p := range *h {
		out[i] = Prediction{Label: m.labels[p.label], Probability: math.Min(1, math.Exp(p.score))}
	}
	slices.SortFunc(out, func(a, b Prediction) int {
		switch {
		case a.Probability > b.Probability:
			return -1
		case a.Probability < b.Probability:
			return 1
		}
		return strings.Compare(a.Label, b.Label)
	})
	return out
}

// buildTree builds fastText's Huffman tree over the label counts (sorted
// by decreasing count in the dictionary).
func (m *Model) buildTree() {
	n := len(m.labels)
	m.tree = make([]node, 2*n-1)
	for i := range m.tree {
		m.tree[i] = node{left: -1, right: -1, count: 1e15}
	}
	for i := range n {
		m.tree[i].count = m.labelCounts[i]
	}
	leaf, next := n-1, n
	for i := n; i < 2*n-1; i++ {
		var mini [2]int
		for j := range mini {
			if leaf >= 0 && m.tree[leaf].count < m.tree[next].count {
				mini[j] = leaf
				leaf--
			} else {
				mini[j] = next
				next++
			}
		}
		m.tree[i].left, m.tree[i].right = mini[0], mini[1]
		m.tree[i].count = m.tree[mini[0]].count + m.tree[mini[1]].count
	}
}

func (m *Model) dfs(k int, logThreshold float64, n int, score float64, h *predHeap, hidden []float32) {
	if score < logThreshold || (len(*h) == k && score < (*h)[0].score) {
		return
	}
	nd := m.tree[n]
	if nd.left == -1 && nd.right == -1 {
		h.offer(k, score, n)
		return
	}
	f := 1 / (1 + math.Exp(-float64(m.output.dot(hidden, n-len(m.labels)))))
	m.dfs(k, logThreshold, nd.left, score+math.Log(1-f+1e-5), h, hidden)
	m.dfs(k, logThreshold, nd.right, score+math.Log(f+1e-5), h, hidden)
}

type pred struct {
	score float64
	label int
}

// predHeap is a min-heap of the k best predictions.
type predHeap []pred

func (h predHeap) Len() int           { return len(h) }
func (h predHeap) Less(i, j int) bool { return h[i].score < h[j].score }
func (h predHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *predHeap) Push(x any)        { *h = append(*h, x.(pred)) }
func (h *predHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

func (h *predHeap) offer(k int, score float64, label int) {
	heap.Push(h, pred{score, label})
	if h.Len() > k {
		heap.Pop(h)
	}
}
