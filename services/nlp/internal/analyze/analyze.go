// Package analyze runs every text analyser of the nlp service over a
// request (plain text or timed transcript segments) and aggregates the
// results per segment and for the whole text: language (given or detected
// per segment), sentiment, emotions, taxonomy topics, caller-supplied
// labels, key phrases, names, numbers, questions, hooks and chapters.
//
// A segment whose language has no lexicons here is marked unsupported and
// gets only its language and hook cues that need no lexicon: its sentiment,
// emotions, topics and keywords are left out, never guessed.
package analyze

import (
	"context"

	"fmt"
	"math"
	"regexp"
	"runtime"
	"sort"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"golang.org/x/sync/errgroup"

	"github.com/clipmesh/clipmesh/platform/langid"
	"github.com/clipmesh/clipmesh/services/nlp/internal/chapters"
	"github.com/clipmesh/clipmesh/services/nlp/internal/emotion"
	"github.com/clipmesh/clipmesh/services/nlp/internal/keywords"
	"github.com/clipmesh/clipmesh/services/nlp/internal/sentiment"
	"github.com/clipmesh/clipmesh/services/nlp/internal/text"
	"github.com/clipmesh/clipmesh/services/nlp/internal/topics"
)

// Limits bound a request.
type Limits struct {
	// MaxTextBytes is the most bytes of text (text plus every segment).
	MaxTextBytes int
	// MaxSegments is the most segments.
	MaxSegments int
	// MaxLabels is the most caller-supplied labels.
	MaxLabels int
	// MaxLabelRunes is the longest label, in characters.
	MaxLabelRunes int
}

// DefaultLimits: 1 MiB of text is about 20 hours of speech, and the REST
// gateway's own body limit.
var DefaultLimits = Limits{MaxTextBytes: 1 << 20, MaxSegments: 100_000, MaxLabels: 32, MaxLabelRunes: 200}

// MaxKeywordsLimit is the most key phrases a caller may ask for.
const MaxKeywordsLimit = 50

// InvalidError is a request that cannot be analysed as it is.
type InvalidError struct {
	Field, Reason string
}

func (e *InvalidError) Error() string { return e.Field + ": " + e.Reason }

// Request is what to analyse.
type Request struct {
	// Text is plain text, used when Segments is empty.
	Text string
	// Language is "", "auto" or an ISO 639-1 code (a region is ignored).
	Language string
	// Segments are timed transcript segments.
	Segments []Segment
	// Labels are caller labels, "name" or "name: description".
	Labels []string
	// MaxKeywords is the number of key phrases of the whole text (0: 10).
	MaxKeywords int
}

// Segment is a piece of text, timed or not.
type Segment struct {
	Text       string
	Start, End float64
	Timed      bool
}

// Score is a label with its score.
type Score = topics.Score

// SegmentResult is the analysis of one segment.
type SegmentResult struct {
	Segment
	Language   string
	Confidence float64
	Supported  bool
	Sentiment  *sentiment.Result
	Emotions   emotion.Result
	Topics     []Score
	Labels     []Score
	Keywords   []keywords.Phrase
	Hook       keywords.Hook

	labelCounts map[string]float64 // stemmed words and their WordNet context, for labels
	embedding   []float32          // the Embedder's vector, for labels
}

// Producer names an analyser that contributed.
type Producer struct {
	Engine, Model, Version, Note string
	Fallback                     bool
}

// LanguageShare counts the segments of a language.
type LanguageShare struct {
	Language  string
	Segments  int
	Supported bool
}

// Chapter is a titled run of segments.
type Chapter struct {
	First, Count int
	Start, End   float64
	Timed        bool
	Title, Topic string
}

// Result is the analysis of a request.
type Result struct {
	Language  string
	Supported bool
	Sentiment *sentiment.Result
	Emotions  emotion.Result
	Topics    []Score
	Labels    []Score
	Keywords  []keywords.Phrase
	Names     []string
	Numbers   []string
	Questions []string
	Segments  []SegmentResult
	Chapters  []Chapter
	Languages []LanguageShare
	Producers []Producer
}

// Embedder turns a text into an L2-normalised vector
// (transformer.Embedder).
type Embedder interface {
	Embed(s string) ([]float32, error)
	Name() string
}

// Analyzer holds the loaded lexicons and models. It is safe for concurrent use.
type Analyzer struct {
	// Sentiment has an analyser per supported language.
	Sentiment map[string]sentiment.Analyzer
	// SentimentErr says why a language's sentiment lexicon is missing.
	SentimentErr error
	Emotions     *emotion.Lexicon
	Taxonomy     *topics.Taxonomy
	// Expander expands caller labels through WordNet; nil (WordNet not
	// installed) uses the label words alone, flagged in the producer.
	Expander *topics.Expander
	LangID   langid.Identifier
	// Embedder, when set (a transformer the user plugged in, see package
	// transformer), scores caller labels by embedding similarity instead
	// of the WordNet/TF-IDF zero-shot.
	Embedder Embedder
	Limits   Limits
	// Chapters tunes the chapter segmentation.
	Chapters chapters.Options

	cache *labelCache
}

// labelCache holds expanded caller labels between requests, bounded. It is
// shared by copies of an Analyzer.
type labelCache struct {
	mu sync.Mutex
	m  map[string]topics.Profile
}

// New loads what the analyser needs: the sentiment lexicons from the
// models cache dir (a missing one makes its language unsupported, and
// SentimentErr says why), the embedded emotion and topic lexicons, and
// WordNet from wordnetDir (missing: labels are not expanded).
func New(modelsDir string, wn *topics.Expander) (*Analyzer, error) {
	sa, serr := sentiment.LoadAll(modelsDir)
	emo, err := emotion.Load()
	if err != nil {
		return nil, err
	}
	tax, err := topics.LoadTaxonomy()
	if err != nil {
		return nil, err
	}
	return &Analyzer{Sentiment: sa, SentimentErr: serr, Emotions: emo, Taxonomy: tax, Expander: wn,
		LangID: langid.New(modelsDir, nil), Limits: DefaultLimits, cache: &labelCache{}}, nil
}

var langRE = regexp.MustCompile(`^[a-z]{2,3}$`)

// Supported says whether lang has every lexicon here.
func (a *Analyzer) Supported(lang string) bool {
	return a.Sentiment[lang] != nil && a.Emotions.Supported(lang) && text.Supported(lang) && a.Taxonomy.For(lang) != nil
}

func (a *Analyzer) validate(req *Request) (forced string, err error) {
	l := a.Limits
	total := len(req.Text)
	for _, s := range req.Segments {
		total += len(s.Text)
	}
	if l.MaxTextBytes > 0 && total > l.MaxTextBytes {
		return "", &InvalidError{"text", fmt.Sprintf("%d bytes of text, over the limit of %d bytes", total, l.MaxTextBytes)}
	}
	if l.MaxSegments > 0 && len(req.Segments) > l.MaxSegments {
		return "", &InvalidError{"segments", fmt.Sprintf("%d segments, over the limit of %d", len(req.Segments), l.MaxSegments)}
	}
	if !utf8.ValidString(req.Text) {
		return "", &InvalidError{"text", "not valid UTF-8"}
	}
	for i, s := range req.Segments {
		f := fmt.Sprintf("segments[%d]", i)
		if !utf8.ValidString(s.Text) {
			return "", &InvalidError{f + ".text", "not valid UTF-8"}
		}
		if s.Timed && (math.IsNaN(s.Start) || math.IsNaN(s.End) || math.IsInf(s.Start, 0) || math.IsInf(s.End, 0) || s.Start < 0 || s.End < s.Start) {
			return "", &InvalidError{f + ".range", fmt.Sprintf("invalid time range [%v, %v)", s.Start, s.End)}
		}
	}
	if l.MaxLabels > 0 && len(req.Labels) > l.MaxLabels {
		return "", &InvalidError{"labels", fmt.Sprintf("%d labels, over the limit of %d", len(req.Labels), l.MaxLabels)}
	}
	seen := map[string]bool{}
	for i, lb := range req.Labels {
		f := fmt.Sprintf("labels[%d]", i)
		if !utf8.ValidString(lb) {
			return "", &InvalidError{f, "not valid UTF-8"}
		}
		if n := utf8.RuneCountInString(lb); l.MaxLabelRunes > 0 && n > l.MaxLabelRunes {
			return "", &InvalidError{f, fmt.Sprintf("%d characters, over the limit of %d", n, l.MaxLabelRunes)}
		}
		name := labelName(lb)
		if name == "" {
			return "", &InvalidError{f, "empty label name"}
		}
		if seen[name] {
			return "", &InvalidError{f, fmt.Sprintf("duplicate label %q", name)}
		}
		seen[name] = true
	}
	if req.MaxKeywords < 0 || req.MaxKeywords > MaxKeywordsLimit {
		return "", &InvalidError{"max_keywords", fmt.Sprintf("%d is outside [0, %d]", req.MaxKeywords, MaxKeywordsLimit)}
	}
	lang := strings.ToLower(strings.TrimSpace(req.Language))
	if lang == "" || lang == "auto" {
		return "", nil
	}
	lang, _, _ = strings.Cut(strings.ReplaceAll(lang, "_", "-"), "-")
	if !langRE.MatchString(lang) {
		return "", &InvalidError{"language", fmt.Sprintf("%q is not \"auto\" or a language code such as \"en\"", req.Language)}
	}
	return lang, nil
}

func labelName(l string) string {
	name, _, _ := strings.Cut(l, ":")
	return strings.ToLower(strings.TrimSpace(name))
}

// minTopicScore is the least cosine for a topic to be reported on a
// segment: one shared low-weight term scores less.
const minTopicScore = 0.05

// switchConfidence is the detector confidence a segment needs to be given
// a language other than the whole text's: short English lines are often
// guessed Norwegian or Dutch at 0.2-0.4, while a real switch scores ≥ 0.7.
const switchConfidence = 0.5

// detectMinWords is the length from which a segment's own detected
// language is believed over the whole text's.
const detectMinWords = 8

// Analyze analyses req.
func (a *Analyzer) Analyze(ctx context.Context, req Request) (*Result, error) {
	forced, err := a.validate(&req)
	if err != nil {
		return nil, err
	}
	segs := req.Segments
	if len(segs) == 0 {
		if strings.TrimSpace(req.Text) == "" {
			return &Result{Language: langid.Und}, nil
		}
		for _, s := range keywords.Sentences(req.Text) {
			segs = append(segs, Segment{Text: s})
		}
	}
	res := &Result{Segments: make([]SegmentResult, len(segs))}
	docLang, docConf := forced, 1.0
	type guess struct {
		lang string
		conf float64
	}
	guesses := make([]guess, len(segs))
	if forced == "" {
		// The text's language is the one of most words among the segments
		// the detector is sure of; the whole text's guess when none is.
		err := parallel(ctx, len(segs), func(i int) error {
			if len(strings.Fields(segs[i].Text)) >= detectMinWords {
				l, c := a.LangID.Identify(segs[i].Text)
				guesses[i] = guess{l, c}
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		words := map[string]int{}
		confs := map[string][2]float64{} // sum, count
		for i, g := range guesses {
			if g.lang != "" && g.lang != langid.Und && g.conf >= switchConfidence {
				words[g.lang] += len(strings.Fields(segs[i].Text))
				c := confs[g.lang]
				confs[g.lang] = [2]float64{c[0] + g.conf, c[1] + 1}
			}
		}
		best := 0
		for l, n := range words {
			if n > best || n == best && l < docLang {
				docLang, best = l, n
			}
		}
		if best > 0 {
			// A segment that takes the text's language takes the mean
			// confidence of the segments that decided it.
			docConf = confs[docLang][0] / confs[docLang][1]
		} else {
			var b strings.Builder
			for _, s := range segs {
				if b.Len() > 20000 {
					break
				}
				b.WriteString(s.Text)
				b.WriteByte(' ')
			}
			docLang, docConf = a.LangID.Identify(b.String())
		}
		res.Producers = append(res.Producers, Producer{Engine: "langid", Model: a.LangID.Engine()})
	}
	var labelCls func(string) *topics.Classifier
	var labelVecs [][]float32
	var labelNames []string
	var labelNote string
	if a.Embedder != nil && len(req.Labels) > 0 {
		labelNames, labelVecs, err = a.embedLabels(req.Labels)
		labelNote = "labels scored by embedding similarity: " + a.Embedder.Name()
	} else {
		labelCls, labelNote, err = a.labelClassifiers(req.Labels)
	}
	if err != nil {
		return nil, err
	}
	err = parallel(ctx, len(segs), func(i int) error {
		s := segs[i]
		sr := SegmentResult{Segment: s, Language: docLang, Confidence: docConf}
		if strings.TrimSpace(s.Text) == "" {
			sr.Language, sr.Confidence = langid.Und, 0
		} else if g := guesses[i]; g.lang != "" && g.lang != langid.Und && (g.lang == docLang || g.conf >= switchConfidence) {
			sr.Language, sr.Confidence = g.lang, g.conf
		}
		sr.Supported = sr.Language != langid.Und && a.Supported(sr.Language)
		if !sr.Supported {
			sr.Hook = keywords.HookScore(s.Text, sr.Language, 0)
			res.Segments[i] = sr
			return nil
		}
		st := a.Sentiment[sr.Language].Analyze(s.Text)
		sr.Sentiment = &st
		sr.Emotions = a.Emotions.Analyze(sr.Language, s.Text)
		terms := text.Terms(sr.Language, s.Text)
		for _, t := range a.Taxonomy.For(sr.Language).ClassifyTerms(terms) {
			if t.Score >= minTopicScore && len(sr.Topics) < 3 {
				sr.Topics = append(sr.Topics, t)
			}
		}
		var err error
		if labelVecs != nil {
			if sr.embedding, err = a.Embedder.Embed(s.Text); err != nil {
				return fmt.Errorf("embed segment %d: %w", i, err)
			}
			sr.Labels = similar(sr.embedding, labelVecs, labelNames)
		} else if labelCls != nil {
			if sr.labelCounts, err = a.labelCounts(sr.Language, s.Text, terms); err != nil {
				return err
			}
			for _, t := range labelCls(sr.Language).ClassifyWeighted(sr.labelCounts) {
				if t.Score > 0 {
					sr.Labels = append(sr.Labels, t)
				}
			}
		}
		sr.Keywords, _ = keywords.Extract(s.Text, sr.Language, 5)
		// The hook's emotion cue is the stronger of the sentiment's and the
		// emotions' intensity: "I was terrified" is a hook whatever its polarity.
		sr.Hook = keywords.HookScore(s.Text, sr.Language, max(math.Abs(st.Compound), sr.Emotions.Intensity))
		res.Segments[i] = sr
		return nil
	})
	if err != nil {
		return nil, err
	}
	count := map[string]int{}
	used := map[string]bool{}
	for _, sr := range res.Segments {
		count[sr.Language]++
		if sr.Supported {
			used[sr.Language] = true
		}
	}
	for l, n := range count {
		res.Languages = append(res.Languages, LanguageShare{Language: l, Segments: n, Supported: l != langid.Und && a.Supported(l)})
	}
	sort.Slice(res.Languages, func(i, j int) bool {
		if res.Languages[i].Segments != res.Languages[j].Segments {
			return res.Languages[i].Segments > res.Languages[j].Segments
		}
		return res.Languages[i].Language < res.Languages[j].Language
	})
	res.Language = docLang
	if len(res.Languages) > 0 && forced == "" {
		res.Language = res.Languages[0].Language
	}
	a.aggregate(res, req, labelCls)
	if labelVecs != nil {
		res.Labels = meanSimilar(res.Segments, labelVecs, labelNames)
	}
	a.chapters(res)
	a.producers(res, used, req.Labels, labelNote)
	return res, nil
}

// chunk is the number of segments a worker takes at a time.
const chunk = 32

// parallel runs f(0..n-1) on GOMAXPROCS goroutines, in chunks, stopping at
// the first error or when ctx is done; the segments of one long transcript
// are independent until aggregation.
func parallel(ctx context.Context, n int, f func(i int) error) error {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(runtime.GOMAXPROCS(0))
	for lo := 0; lo < n; lo += chunk {
		if gctx.Err() != nil {
			break
		}
		g.Go(func() error {
			for i := lo; i < min(n, lo+chunk); i++ {
				if err := gctx.Err(); err != nil {
					return err
				}
				if err := f(i); err != nil {
					return err
				}
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	return ctx.Err()
}

// aggregate fills the whole-text results from the supported segments.
func (a *Analyzer) aggregate(res *Result, req Request, labelCls func(string) *topics.Classifier) {
	var raw emotion.Scores
	var wsum, csum float64
	terms := map[string]map[string]float64{}
	lcounts := map[string]map[string]float64{}
	texts := map[string]*strings.Builder{}
	var all strings.Builder
	main, mainN := "", 0
	for _, s := range res.Segments {
		all.WriteString(s.Text)
		all.WriteString("\n")
		if !s.Supported {
			continue
		}
		res.Supported = true
		raw.Add(s.Emotions.Raw)
		w := float64(max(1, len(strings.Fields(s.Text))))
		wsum += w
		csum += w * s.Sentiment.Compound
		if terms[s.Language] == nil {
			terms[s.Language], lcounts[s.Language] = map[string]float64{}, map[string]float64{}
		}
		for _, t := range text.Terms(s.Language, s.Text) {
			terms[s.Language][t]++
		}
		for t, f := range s.labelCounts {
			lcounts[s.Language][t] += f
		}
		if texts[s.Language] == nil {
			texts[s.Language] = &strings.Builder{}
		}
		texts[s.Language].WriteString(s.Text)
		texts[s.Language].WriteString("\n")
	}
	for _, l := range res.Languages {
		if l.Supported && l.Segments > mainN {
			main, mainN = l.Language, l.Segments
		}
	}
	res.Numbers = keywords.Numbers(all.String())
	res.Questions = keywords.Questions(all.String())
	res.Names = keywords.Names(all.String(), res.Language)
	if !res.Supported {
		return
	}
	c := csum / wsum
	st := sentiment.Result{Compound: c, Label: sentiment.Neutral, Language: main}
	if c >= sentiment.Threshold {
		st.Label = sentiment.Positive
	} else if c <= -sentiment.Threshold {
		st.Label = sentiment.Negative
	}
	res.Sentiment = &st
	res.Emotions = emotion.FromRaw(raw)
	res.Topics = combine(terms, func(l string) *topics.Classifier { return a.Taxonomy.For(l) })
	if labelCls != nil {
		res.Labels = combine(lcounts, labelCls)
	}
	max := req.MaxKeywords
	if max == 0 {
		max = 10
	}
	res.Keywords, _ = keywords.Extract(texts[main].String(), main, max)
}

// combine classifies each language's term counts and averages the scores
// weighted by the number of terms; labels scoring 0 are left out.
func combine(terms map[string]map[string]float64, cls func(string) *topics.Classifier) []Score {
	sum := map[string]float64{}
	var order []string
	total := 0.0
	langs := make([]string, 0, len(terms))
	for l := range terms {
		langs = append(langs, l)
	}
	sort.Strings(langs)
	size := map[string]float64{}
	for _, l := range langs {
		for _, f := range terms[l] {
			size[l] += f
		}
		total += size[l]
	}
	if total == 0 {
		return nil
	}
	for _, l := range langs {
		for _, s := range cls(l).ClassifyWeighted(terms[l]) {
			if _, ok := sum[s.Label]; !ok {
				order = append(order, s.Label)
			}
			sum[s.Label] += s.Score * size[l] / total
		}
	}
	var out []Score
	for _, l := range order {
		if sum[l] > 0 {
			out = append(out, Score{Label: l, Score: sum[l]})
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Score > out[j].Score })
	return out
}

// chapters splits the segments into titled chapters.
func (a *Analyzer) chapters(res *Result) {
	units := make([]chapters.Unit, len(res.Segments))
	for i, s := range res.Segments {
		units[i] = chapters.Unit{Terms: text.Terms(s.Language, s.Text), Start: s.Start, End: s.End, Timed: s.Timed}
	}
	for _, c := range chapters.Split(units, a.Chapters) {
		segs := res.Segments[c.First : c.First+c.Count]
		ch := Chapter{First: c.First, Count: c.Count, Start: segs[0].Start, End: segs[len(segs)-1].End,
			Timed: segs[0].Timed && segs[len(segs)-1].Timed}
		var b strings.Builder
		terms := map[string]map[string]float64{}
		lang := ""
		for _, s := range segs {
			b.WriteString(s.Text)
			b.WriteString("\n")
			if s.Supported {
				if terms[s.Language] == nil {
					terms[s.Language] = map[string]float64{}
				}
				for _, t := range text.Terms(s.Language, s.Text) {
					terms[s.Language][t]++
				}
				lang = s.Language
			}
		}
		if lang != "" {
			if ts := combine(terms, func(l string) *topics.Classifier { return a.Taxonomy.For(l) }); len(ts) > 0 {
				ch.Topic = ts[0].Label
			}
		}
		ch.Title = title(b.String(), lang)
		res.Chapters = append(res.Chapters, ch)
	}
}

// title is the chapter's two best key phrases, or its first words.
func title(s, lang string) string {
	if ps, err := keywords.Extract(s, lang, 2); err == nil && len(ps) > 0 {
		parts := []string{ps[0].Text}
		if len(ps) > 1 && len(strings.Fields(ps[0].Text))+len(strings.Fields(ps[1].Text)) <= 6 {
			parts = append(parts, ps[1].Text)
		}
		return capitalize(strings.Join(parts, ", "))
	}
	f := strings.Fields(s)
	if len(f) > 6 {
		f = f[:6]
	}
	return strings.TrimRightFunc(strings.Join(f, " "), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
}

func capitalize(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	if n == 0 {
		return s
	}
	return string(unicode.ToUpper(r)) + s[n:]
}

// labelClassifiers expands the caller's labels once and returns a
// classifier per language (built lazily), or nil without labels.
func (a *Analyzer) labelClassifiers(labels []string) (func(string) *topics.Classifier, string, error) {
	if len(labels) == 0 {
		return nil, "", nil
	}
	names := make([]string, len(labels))
	profiles := make([]topics.Profile, len(labels))
	note := "labels expanded through WordNet 3.0 (English): synonyms, derivations, hyponyms, domain members, glosses"
	for i, l := range labels {
		name, desc, _ := strings.Cut(l, ":")
		names[i] = strings.TrimSpace(name)
		p, err := a.expand(strings.ToLower(strings.TrimSpace(name)), strings.ToLower(desc))
		if err != nil {
			return nil, "", err
		}
		profiles[i] = p
	}
	if !a.Expander.Available() {
		note = "WordNet not installed: labels matched by their own words only"
	}
	var mu sync.Mutex
	byLang := map[string]*topics.Classifier{}
	return func(lang string) *topics.Classifier {
		mu.Lock()
		defer mu.Unlock()
		if c := byLang[lang]; c != nil {
			return c
		}
		ps := profiles
		if lang != "en" {
			// WordNet is English: other languages match the label's own words.
			ps = make([]topics.Profile, len(labels))
			for i, l := range labels {
				name, desc, _ := strings.Cut(strings.ToLower(l), ":")
				ps[i] = topics.Profile{}
				for _, w := range strings.FieldsFunc(name+" "+desc, splitWords) {
					ps[i].Add(w, topics.WeightName)
				}
			}
		}
		c := topics.NewClassifier(lang, names, ps)
		byLang[lang] = c
		return c
	}, note, nil
}

func splitWords(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '-' }

// labelCounts are the stemmed terms of a segment for label scoring; in
// English, with WordNet, each content word also brings its context
// (hypernyms, domains: topics.Expander.Context) at a fractional count.
func (a *Analyzer) labelCounts(lang, s string, terms []string) (map[string]float64, error) {
	m := make(map[string]float64, len(terms))
	for _, t := range terms {
		m[t]++
	}
	if lang != "en" || !a.Expander.Available() {
		return m, nil
	}
	for _, tok := range text.Tokenize(s) {
		if text.IsStopWord("en", tok.Lower) || len(tok.Lower) < 3 {
			continue
		}
		ctx, err := a.Expander.Context(tok.Lower)
		if err != nil {
			return nil, fmt.Errorf("label context of %q: %w", tok.Lower, err)
		}
		for _, c := range ctx {
			for _, t := range text.Terms("en", strings.ReplaceAll(c.Word, "_", " ")) {
				m[t] += c.Weight
			}
		}
	}
	return m, nil
}

// embedLabels embeds each label as "name description".
func (a *Analyzer) embedLabels(labels []string) ([]string, [][]float32, error) {
	names := make([]string, len(labels))
	vecs := make([][]float32, len(labels))
	for i, l := range labels {
		name, desc, _ := strings.Cut(l, ":")
		names[i] = strings.TrimSpace(name)
		v, err := a.Embedder.Embed(strings.TrimSpace(name + " " + desc))
		if err != nil {
			return nil, nil, fmt.Errorf("embed label %q: %w", names[i], err)
		}
		vecs[i] = v
	}
	return names, vecs, nil
}

// similar scores v against each label vector (cosine, negatives dropped),
// best first.
func similar(v []float32, labels [][]float32, names []string) []Score {
	var out []Score
	for i, l := range labels {
		dot := 0.0
		for j := range min(len(v), len(l)) {
			dot += float64(v[j]) * float64(l[j])
		}
		if dot > 0 {
			out = append(out, Score{Label: names[i], Score: min(dot, 1)})
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Score > out[j].Score })
	return out
}

// meanSimilar scores the word-weighted mean of the supported segments'
// embeddings against the labels.
func meanSimilar(segs []SegmentResult, labels [][]float32, names []string) []Score {
	var mean []float64
	for _, s := range segs {
		if s.embedding == nil {
			continue
		}
		if mean == nil {
			mean = make([]float64, len(s.embedding))
		}
		w := float64(max(1, len(strings.Fields(s.Text))))
		for j, x := range s.embedding {
			if j < len(mean) {
				mean[j] += w * float64(x)
			}
		}
	}
	if mean == nil {
		return nil
	}
	norm := 0.0
	for _, x := range mean {
		norm += x * x
	}
	v := make([]float32, len(mean))
	for j, x := range mean {
		v[j] = float32(x / math.Sqrt(max(norm, 1e-12)))
	}
	return similar(v, labels, names)
}

// maxLabelCache bounds the expanded labels kept between requests.
const maxLabelCache = 4096

// expand returns the English profile of a label, cached.
func (a *Analyzer) expand(name, desc string) (topics.Profile, error) {
	key := name + "\x00" + desc
	c := a.cache
	if c == nil { // an Analyzer not made by New: no cache
		c = &labelCache{}
	}
	c.mu.Lock()
	if p, ok := c.m[key]; ok {
		c.mu.Unlock()
		return p, nil
	}
	c.mu.Unlock()
	p := topics.Profile{}
	words := strings.FieldsFunc(name, splitWords)
	if err := a.Expander.ExpandWord(p, strings.Join(words, "_"), true); err != nil {
		return nil, fmt.Errorf("expand label %q: %w", name, err)
	}
	for _, w := range words {
		if err := a.Expander.ExpandWord(p, w, true); err != nil {
			return nil, fmt.Errorf("expand label %q: %w", name, err)
		}
	}
	for _, w := range strings.FieldsFunc(desc, splitWords) {
		if text.IsStopWord("en", w) {
			continue
		}
		p.Add(w, topics.WeightName)
		sub := topics.Profile{}
		if err := a.Expander.ExpandWord(sub, w, false); err != nil {
			return nil, fmt.Errorf("expand label %q: %w", name, err)
		}
		for t, wt := range sub {
			p.Add(t, wt*0.6)
		}
	}
	delete(p, strings.Join(words, "_"))
	for _, w := range words {
		p.Add(w, topics.WeightName)
	}
	c.mu.Lock()
	if c.m == nil || len(c.m) >= maxLabelCache {
		c.m = map[string]topics.Profile{}
	}
	c.m[key] = p
	c.mu.Unlock()
	return p, nil
}

func (a *Analyzer) producers(res *Result, used map[string]bool, labels []string, labelNote string) {
	langs := make([]string, 0, len(used))
	for l := range used {
		langs = append(langs, l)
	}
	sort.Strings(langs)
	for _, l := range langs {
		st := a.Sentiment[l].Analyze("")
		res.Producers = append(res.Producers, Producer{Engine: "sentiment/" + l, Model: st.Lexicon, Note: st.Rules})
	}
	if len(langs) > 0 {
		res.Producers = append(res.Producers,
			Producer{Engine: "emotion", Model: emotion.Name, Note: "seed words + WordNet expansion, negation and intensity cues"},
			Producer{Engine: "topics", Model: topics.Name},
			Producer{Engine: "keywords", Model: "RAKE (Rose et al. 2010)", Note: "hooks: questions, numbers, claims, imperatives, emotion"})
		if len(labels) > 0 {
			p := Producer{Engine: "labels", Model: "zero-shot TF-IDF over expanded label profiles", Note: labelNote, Fallback: !a.Expander.Available()}
			if a.Embedder != nil {
				p = Producer{Engine: "labels", Model: a.Embedder.Name(), Note: labelNote}
			}
			res.Producers = append(res.Producers, p)
		}
	}
	res.Producers = append(res.Producers, Producer{Engine: "chapters", Model: "TextTiling (Hearst 1997) lexical cohesion"})
	var unsupported []string
	for _, l := range res.Languages {
		if !l.Supported {
			unsupported = append(unsupported, fmt.Sprintf("%s (%d segments)", l.Language, l.Segments))
		}
	}
	if len(unsupported) > 0 {
		note := "unsupported language, no sentiment, emotions, topics or keywords for: " + strings.Join(unsupported, ", ")
		if a.SentimentErr != nil {
			note += "; " + a.SentimentErr.Error()
		}
		res.Producers = append(res.Producers, Producer{Engine: "languages", Note: note})
	}
}
