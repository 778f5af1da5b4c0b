// Package selection chooses which parts of a video become clips: the top N
// scored moments that do not overlap, each fitted to a length range and
// with its boundaries snapped to sentence ends and scene cuts (a clip never
// starts or ends inside a word, and avoids starting or ending a sliver away
// from a cut), and describes each clip: its transcript, a title from the
// keywords it contains, hashtags from its topics, and the factors behind
// its score.
package selection

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"unicode"

	"github.com/clipmesh/clipmesh/services/clips/internal/inputerr"
)

// Defaults of Options.
const (
	DefaultCount = 3
	DefaultMin   = 15.0
	DefaultMax   = 60.0
	// DefaultSnap is how far (seconds) a boundary may move to reach a
	// sentence boundary or a scene cut.
	DefaultSnap = 4.0
	// maxHashtags is the most hashtags suggested per clip.
	maxHashtags = 5
)

// Word is one transcribed word, in source seconds.
type Word struct {
	Start, End float64
	Text       string
}

// Factor is one reason behind a clip's score.
type Factor struct {
	// Name identifies the factor, e.g. "moment_score", "speech_coverage".
	Name string
	// Value is the factor's value, in [0, 1] unless Detail says otherwise.
	Value float64
	// Detail explains the value in plain words.
	Detail string
}

// Moment is a scored candidate from analytics, in source seconds.
type Moment struct {
	Start, End, Score float64
	// Factors are the analytics factors behind Score, if it gave them.
	Factors []Factor
}

// Keyword is a key phrase from text analysis. Start/End, when End > Start,
// is where it was found; otherwise it applies to the whole video.
type Keyword struct {
	Text       string
	Score      float64
	Start, End float64
}

// Topic is a topic label from text analysis, timed like Keyword.
type Topic struct {
	Label      string
	Score      float64
	Start, End float64
}

// Input is what selection works from.
type Input struct {
	// Duration is the video's length in seconds (required).
	Duration float64
	// Moments are the scored candidates.
	Moments []Moment
	// Words are the transcript's words in time order (may be empty).
	Words []Word
	// Cuts are scene boundaries (the start of every scene after the
	// first), in seconds.
	Cuts     []float64
	Keywords []Keyword
	Topics   []Topic
}

// Options shape the selection. Zero fields take the defaults.
type Options struct {
	// Count is the most clips returned.
	Count int
	// Min and Max bound a clip's length in seconds.
	Min, Max float64
	// Snap is how far a boundary may move to a better place.
	Snap float64
}

// Clip is a chosen clip.
type Clip struct {
	Start, End float64
	// Score is the score of the moment it came from (0 for a given range).
	Score   float64
	Factors []Factor
	// Title is a short suggested title.
	Title string
	// Transcript is the words inside the clip.
	Transcript string
	// Hashtags are suggestions such as "#MachineLearning".
	Hashtags []string
}

// Length returns End-Start.
func (c Clip) Length() float64 { return c.End - c.Start }

func (o Options) withDefaults() Options {
	if o.Count <= 0 {
		o.Count = DefaultCount
	}
	if o.Min <= 0 {
		o.Min = DefaultMin
	}
	if o.Max <= 0 {
		o.Max = DefaultMax
	}
	if o.Snap <= 0 {
		o.Snap = DefaultSnap
	}
	return o
}

// Validate checks o; a bad field is an *inputerr.Error naming the request
// field (options.min_seconds, options.max_seconds, options.count).
func (o Options) Validate() error {
	switch {
	case o.Count < 0:
		return inputerr.New("options.count", fmt.Sprint(o.Count), "must not be negative")
	case math.IsNaN(o.Min) || math.IsInf(o.Min, 0) || o.Min < 0:
		return inputerr.New("options.min_seconds", fmt.Sprint(o.Min), "must be a non-negative number")
	case math.IsNaN(o.Max) || math.IsInf(o.Max, 0) || o.Max < 0:
		return inputerr.New("options.max_seconds", fmt.Sprint(o.Max), "must be a non-negative number")
	}
	d := o.withDefaults()
	if d.Max < d.Min {
		return inputerr.New("options.max_seconds", fmt.Sprint(d.Max), fmt.Sprintf("shorter than min_seconds (%g)", d.Min))
	}
	return nil
}

// Select returns up to opt.Count non-overlapping clips, best moment first.
// Each moment is fitted into [Min, Max] (extended around its centre when
// short, cut after Max when long), its start snapped to a sentence start
// and its end to a sentence end within Snap seconds, and both moved onto a
// scene cut that lies within Snap of them inside the clip, as long as the
// length stays in range. A boundary is always in a gap between words. A
// video shorter than Min yields at most one clip, the whole video.
func Select(in Input, opt Options) ([]Clip, error) {
	if err := opt.Validate(); err != nil {
		return nil, err
	}
	if math.IsNaN(in.Duration) || in.Duration <= 0 {
		return nil, inputerr.New("duration", fmt.Sprint(in.Duration), "must be positive")
	}
	opt = opt.withDefaults()
	b := newBounds(in)
	b.snap = opt.Snap
	moments := make([]Moment, 0, len(in.Moments))
	for _, m := range in.Moments {
		if m.End > m.Start && m.Start < in.Duration && m.End > 0 && !math.IsNaN(m.Score) {
			moments = append(moments, m)
		}
	}
	sort.SliceStable(moments, func(i, j int) bool { return moments[i].Score > moments[j].Score })
	var out []Clip
	for _, m := range moments {
		if len(out) >= opt.Count {
			break
		}
		start, end, how := b.fit(m.Start, m.End, opt)
		if end-start <= 0 || overlaps(out, start, end) {
			continue
		}
		c := Describe(in, start, end)
		c.Score = m.Score
		c.Factors = append(append([]Factor{{Name: "moment_score", Value: m.Score, Detail: "analytics score of the moment"}},
			m.Factors...), append(how, c.Factors...)...)
		out = append(out, c)
	}
	return out, nil
}

func overlaps(cs []Clip, start, end float64) bool {
	for _, c := range cs {
		if start < c.End && c.Start < end {
			return true
		}
	}
	return false
}

// bounds knows where a clip may start and end.
type bounds struct {
	dur    float64
	snap   float64
	words  []Word
	cuts   []float64
	starts []cand // good start points, sorted by time
	ends   []cand // good end points, sorted by time
}

// cand is a boundary candidate: its time and how good a boundary it is.
type cand struct {
	t        float64
	sentence bool
	cut      bool
}

// bonus is how many seconds of distance a candidate's quality is worth,
// for a snapping radius snap: any sentence boundary within reach beats any
// other boundary, a cut comes next.
func (c cand) bonus(snap float64) float64 {
	b := 0.0
	if c.sentence {
		b += 2 * snap
	}
	if c.cut {
		b += snap
	}
	return b
}

// sentenceGap is a pause long enough to count as a sentence boundary even
// without punctuation (ASR output often has none).
const sentenceGap = 0.7

// lead is how much silence a clip keeps before its first word and after its
// last, when the gap allows.
const lead = 0.15

func newBounds(in Input) *bounds {
	b := &bounds{dur: in.Duration}
	for _, w := range in.Words {
		if w.End >= w.Start && strings.TrimSpace(w.Text) != "" && !math.IsNaN(w.Start) {
			b.words = append(b.words, w)
		}
	}
	sort.SliceStable(b.words, func(i, j int) bool { return b.words[i].Start < b.words[j].Start })
	for _, c := range in.Cuts {
		if c > 0 && c < in.Duration {
			b.cuts = append(b.cuts, c)
		}
	}
	sort.Float64s(b.cuts)
	// The video's own ends are as good as a sentence boundary, but no
	// better: they must not pull a clip away from its moment.
	b.starts = append(b.starts, cand{t: 0, sentence: true})
	b.ends = append(b.ends, cand{t: in.Duration, sentence: true})
	for i, w := range b.words {
		prevEnd, nextStart := 0.0, in.Duration
		if i > 0 {
			prevEnd = b.words[i-1].End
		}
		if i+1 < len(b.words) {
			nextStart = b.words[i+1].Start
		}
		// Every word start and end is a safe boundary; sentence ones are
		// good ones.
		b.starts = append(b.starts, cand{t: max(prevEnd, w.Start-lead, 0), sentence: i == 0 || endsSentence(b.words[i-1].Text) || w.Start-prevEnd >= sentenceGap})
		b.ends = append(b.ends, cand{t: min(nextStart, w.End+lead, in.Duration), sentence: endsSentence(w.Text) || nextStart-w.End >= sentenceGap || i == len(b.words)-1})
	}
	for _, c := range b.cuts {
		if b.safe(c) {
			b.starts = append(b.starts, cand{t: c, cut: true, sentence: b.sentenceAt(c)})
			b.ends = append(b.ends, cand{t: c, cut: true, sentence: b.sentenceAt(c)})
		}
	}
	sort.SliceStable(b.starts, func(i, j int) bool { return b.starts[i].t < b.starts[j].t })
	sort.SliceStable(b.ends, func(i, j int) bool { return b.ends[i].t < b.ends[j].t })
	return b
}

func endsSentence(s string) bool {
	s = strings.TrimRightFunc(strings.TrimSpace(s), func(r rune) bool { return r == '"' || r == '\'' || r == ')' || r == '”' || r == '’' })
	return s != "" && strings.ContainsRune(".!?…", []rune(s)[len([]rune(s))-1])
}

// safe reports whether t is not inside a word.
func (b *bounds) safe(t float64) bool {
	const eps = 1e-6
	i := sort.Search(len(b.words), func(i int) bool { return b.words[i].End > t+eps })
	return i == len(b.words) || b.words[i].Start >= t-eps
}

// sentenceAt reports whether t lies in a gap between sentences (or before
// the first word or after the last).
func (b *bounds) sentenceAt(t float64) bool {
	i := sort.Search(len(b.words), func(i int) bool { return b.words[i].Start >= t })
	if i == 0 || i == len(b.words) {
		return true
	}
	return endsSentence(b.words[i-1].Text) || b.words[i].Start-b.words[i-1].End >= sentenceGap
}

// pick returns the candidate in [lo, hi] that best replaces want: nearest,
// less its quality bonus. Without words or cuts every time is safe, so want
// itself (clamped) competes as a plain candidate.
func (b *bounds) pick(cands []cand, want, lo, hi float64, isStart bool) (cand, bool) {
	best, bestCost, found := cand{}, math.Inf(1), false
	consider := func(c cand) {
		if c.t < lo-1e-9 || c.t > hi+1e-9 {
			return
		}
		cost := math.Abs(c.t-want) - c.bonus(b.snap)
		if b.fragment(c.t, isStart) {
			// Worse than any other choice in reach.
			cost += 4 * b.snap
		}
		if cost < bestCost {
			best, bestCost, found = c, cost, true
		}
	}
	i := sort.Search(len(cands), func(i int) bool { return cands[i].t >= lo-1e-9 })
	for ; i < len(cands) && cands[i].t <= hi+1e-9; i++ {
		consider(cands[i])
	}
	if w := min(max(want, lo), hi); len(b.words) == 0 && b.safe(w) {
		consider(cand{t: w})
	}
	return best, found
}

// fragment reports whether a clip starting (isStart) or ending at t would
// show less than a second of a shot before (after) a cut.
func (b *bounds) fragment(t float64, isStart bool) bool {
	for _, c := range b.cuts {
		if isStart && c > t+1e-6 && c < t+1 || !isStart && c < t-1e-6 && c > t-1 {
			return true
		}
	}
	return false
}

// fit turns a moment into a clip range and says how its boundaries were
// chosen (as factors).
func (b *bounds) fit(ms, me float64, opt Options) (start, end float64, how []Factor) {
	lo, hi := opt.Min, opt.Max
	if b.dur < lo {
		lo = b.dur
	}
	hi = min(hi, b.dur)
	ms, me = max(ms, 0), min(me, b.dur)
	// Fit the moment's length into [lo, hi]: grow around its centre, or
	// keep its opening (the hook) and cut the tail.
	if l := me - ms; l < lo {
		c := (ms + me) / 2
		ms = min(max(c-lo/2, 0), b.dur-lo)
		me = ms + lo
	} else if l > hi {
		me = ms + hi
	}
	sc, ok := b.pick(b.starts, ms, max(ms-opt.Snap, 0), min(ms+opt.Snap, b.dur-lo), true)
	if !ok {
		// No safe start nearby (one very long word?): the nearest safe one.
		sc, _ = b.pick(b.starts, ms, 0, b.dur-lo, true)
	}
	start = sc.t
	want := min(max(me, start+lo), start+hi)
	ec, ok := b.pick(b.ends, want, max(want-opt.Snap, start+lo), min(want+opt.Snap, start+hi), false)
	if !ok {
		ec, ok = b.pick(b.ends, want, start+lo, start+hi, false)
	}
	if !ok {
		// No safe end in range (a word straddles every point of it): the
		// last safe end before the range's top.
		ec, _ = b.pick(b.ends, start+hi, start+1e-3, start+hi, false)
	}
	end = ec.t
	how = []Factor{
		{Name: "starts_at_sentence", Value: bool01(sc.sentence), Detail: "the clip opens at a sentence start"},
		{Name: "ends_at_sentence", Value: bool01(ec.sentence), Detail: "the clip closes at a sentence end"},
		{Name: "shot_aligned", Value: b.shotAlignment(start, end), Detail: "no shot fragment under 1 s at either end"},
	}
	return start, end, how
}

// shotAlignment is 1 when neither end of [start, end) leaves a fragment of
// a shot shorter than a second, 0.5 when one does, 0 when both do.
func (b *bounds) shotAlignment(start, end float64) float64 {
	return 1 - 0.5*bool01(b.fragment(start, true)) - 0.5*bool01(b.fragment(end, false))
}

func bool01(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// Describe builds the clip [start, end) with no score: its transcript
// (the words wholly inside it), title, hashtags and the factors that follow
// from its content (speech coverage, keywords).
func Describe(in Input, start, end float64) Clip {
	c := Clip{Start: start, End: end}
	var words []Word
	speech := 0.0
	for _, w := range in.Words {
		if w.Start >= start-1e-6 && w.End <= end+1e-6 && strings.TrimSpace(w.Text) != "" {
			words = append(words, w)
			speech += w.End - w.Start
		}
	}
	texts := make([]string, len(words))
	for i, w := range words {
		texts[i] = strings.TrimSpace(w.Text)
	}
	c.Transcript = strings.Join(texts, " ")
	lower := " " + normalize(c.Transcript) + " "

	var kws []Keyword
	for _, k := range in.Keywords {
		n := normalize(k.Text)
		if n == "" || (k.End > k.Start && (k.End <= start || k.Start >= end)) {
			continue
		}
		if strings.Contains(lower, " "+n+" ") {
			kws = append(kws, k)
		}
	}
	sort.SliceStable(kws, func(i, j int) bool { return kws[i].Score > kws[j].Score })
	var topics []Topic
	for _, t := range in.Topics {
		if strings.TrimSpace(t.Label) == "" || (t.End > t.Start && (t.End <= start || t.Start >= end)) {
			continue
		}
		topics = append(topics, t)
	}
	sort.SliceStable(topics, func(i, j int) bool { return topics[i].Score > topics[j].Score })

	c.Title = title(words, kws, start)
	c.Hashtags = hashtags(topics, kws)
	cover := 0.0
	if end > start {
		cover = min(speech/(end-start), 1)
	}
	c.Factors = []Factor{
		{Name: "speech_coverage", Value: cover, Detail: "share of the clip with speech"},
		{Name: "keywords", Value: float64(len(kws)), Detail: fmt.Sprintf("%d key phrases inside the clip (count)", len(kws))},
	}
	return c
}

// normalize lowercases s and keeps letters and digits, one space between
// words, so keywords match transcript words regardless of punctuation.
func normalize(s string) string {
	return strings.Join(strings.FieldsFunc(strings.ToLower(s), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '\''
	}), " ")
}

// maxTitle is the longest title in characters.
const maxTitle = 70

// title is the clip's sentence that holds its best keyword, when short
// enough; else its best keywords in title case; else its first words;
// else its start time.
func title(words []Word, kws []Keyword, start float64) string {
	sentences := splitSentences(words)
	if len(kws) > 0 {
		n := normalize(kws[0].Text)
		for _, s := range sentences {
			if len([]rune(s)) <= maxTitle && strings.Contains(" "+normalize(s)+" ", " "+n+" ") {
				return strings.TrimRight(s, ".!?…,;: ")
			}
		}
		var parts []string
		for _, k := range kws[:min(len(kws), 3)] {
			parts = append(parts, titleCase(k.Text))
		}
		return truncate(strings.Join(parts, " · "), maxTitle)
	}
	if len(sentences) > 0 {
		return truncate(strings.TrimRight(sentences[0], ".!?…,;: "), maxTitle)
	}
	m, s := int(start)/60, int(start)%60
	return fmt.Sprintf("Clip at %d:%02d", m, s)
}

func splitSentences(words []Word) []string {
	var out []string
	var cur []string
	for i, w := range words {
		cur = append(cur, strings.TrimSpace(w.Text))
		gap := i+1 < len(words) && words[i+1].Start-w.End >= sentenceGap
		if endsSentence(w.Text) || gap || i == len(words)-1 {
			out = append(out, strings.Join(cur, " "))
			cur = nil
		}
	}
	return out
}

func titleCase(s string) string {
	f := strings.Fields(s)
	for i, w := range f {
		r := []rune(w)
		r[0] = unicode.ToUpper(r[0])
		f[i] = string(r)
	}
	return strings.Join(f, " ")
}

// truncate cuts s at a word boundary to at most n runes, with an ellipsis.
func truncate(s string, n int) string {
	if len([]rune(s)) <= n {
		return s
	}
	r := []rune(s)[:n-1]
	if i := strings.LastIndex(string(r), " "); i > n/2 {
		return strings.TrimRight(string(r)[:i], ",;:· ") + "…"
	}
	return string(r) + "…"
}

// hashtags turns topics (best first) and then keywords into CamelCase
// hashtags, without duplicates.
func hashtags(topics []Topic, kws []Keyword) []string {
	seen := map[string]bool{}
	var out []string
	add := func(s string) {
		tag := hashtag(s)
		if tag == "" || seen[strings.ToLower(tag)] || len(out) >= maxHashtags {
			return
		}
		seen[strings.ToLower(tag)] = true
		out = append(out, tag)
	}
	for _, t := range topics {
		add(t.Label)
	}
	for _, k := range kws {
		add(k.Text)
	}
	return out
}

// hashtag makes "machine learning" "#MachineLearning"; "" if nothing is
// left of s.
func hashtag(s string) string {
	var b strings.Builder
	for _, w := range strings.FieldsFunc(s, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }) {
		r := []rune(w)
		r[0] = unicode.ToUpper(r[0])
		b.WriteString(string(r))
	}
	if b.Len() == 0 {
		return ""
	}
	return "#" + b.String()
}
