package analyze

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/clipmesh/clipmesh/platform/models"
	"github.com/clipmesh/clipmesh/platform/ort"
	"github.com/clipmesh/clipmesh/platform/ort/orttest"
	"github.com/clipmesh/clipmesh/services/nlp/internal/emotion"
	"github.com/clipmesh/clipmesh/services/nlp/internal/topics"
	"github.com/clipmesh/clipmesh/services/nlp/internal/transformer"
	"github.com/clipmesh/clipmesh/services/nlp/internal/transformer/transformertest"
	"github.com/clipmesh/clipmesh/services/nlp/internal/wordnet"
)

var (
	anOnce sync.Once
	an     *Analyzer
	anErr  error
)

func analyzer(t *testing.T) *Analyzer {
	t.Helper()
	anOnce.Do(func() {
		dir, err := models.Dir("")
		if err != nil {
			anErr = err
			return
		}
		db, err := wordnet.Open("")
		if err != nil {
			anErr = err
			return
		}
		an, anErr = New(dir, &topics.Expander{DB: db})
		if anErr == nil {
			anErr = an.SentimentErr
		}
	})
	if anErr != nil {
		t.Fatalf("%v\nThe tests run the real lexicons: `make deps` installs them (clipmesh models fetch, wordnet-base).", anErr)
	}
	return an
}

// pools are sentences of three topics; transcripts are drawn from them at
// random, so the chapter test does not depend on one hand-placed text.
var pools = map[string][]string{
	"food": {
		"Chop the onions and the garlic and fry them in olive oil.",
		"Add the tomatoes, a pinch of salt and let the sauce simmer.",
		"Meanwhile boil the pasta in plenty of salted water.",
		"This recipe comes from my grandmother's kitchen.",
		"Taste the sauce and add fresh basil and pepper.",
		"Drain the spaghetti and mix it with the sauce in the pan.",
		"Grate some parmesan cheese on top before serving the dish.",
		"Bake the bread in the oven until the crust is golden.",
	},
	"sports": {
		"The striker scored a goal in the last minute of the match.",
		"The coach changed the team's tactics at half time.",
		"Our goalkeeper saved a penalty in the second half.",
		"The league championship will be decided next weekend.",
		"The players trained in the stadium all week.",
		"The referee gave a red card to the defender.",
		"Football fans filled the stadium for the derby.",
		"The team won the tournament after extra time.",
	},
	"science": {
		"The telescope observed a distant galaxy and its stars.",
		"Astronomers measured the light of the planet's atmosphere.",
		"The rocket carried the satellite into orbit around the earth.",
		"Physicists study how gravity bends the light of stars.",
		"The space probe sent images of the moon's surface.",
		"Scientists found water ice in a crater on Mars.",
		"The universe expands and galaxies move away from each other.",
		"The laboratory experiment tested the theory of the researchers.",
	},
}

// transcript draws per topic n segments of 6 seconds each.
func transcript(rng *rand.Rand, order []string, n int) ([]Segment, []int) {
	var segs []Segment
	var bounds []int
	t := 0.0
	for k, topic := range order {
		if k > 0 {
			bounds = append(bounds, len(segs))
		}
		for range n {
			p := pools[topic]
			segs = append(segs, Segment{Text: p[rng.IntN(len(p))], Start: t, End: t + 6, Timed: true})
			t += 6
		}
	}
	return segs, bounds
}

func TestChapters(t *testing.T) {
	t.Parallel()
	a := analyzer(t)
	order := []string{"food", "sports", "science"}
	for seed := range uint64(5) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			t.Parallel()
			rng := rand.New(rand.NewPCG(seed, 42))
			segs, bounds := transcript(rng, order, 15)
			res, err := a.Analyze(t.Context(), Request{Segments: segs, Language: "auto"})
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Chapters) != len(order) {
				t.Fatalf("%d chapters, want %d: %+v", len(res.Chapters), len(order), res.Chapters)
			}
			wantTopic := []string{"food", "sports", "science"}
			for i, c := range res.Chapters {
				if i > 0 {
					if d := c.First - bounds[i-1]; d < -2 || d > 2 {
						t.Errorf("chapter %d starts at segment %d, the topic changes at %d", i, c.First, bounds[i-1])
					}
					if prev := res.Chapters[i-1]; prev.First+prev.Count != c.First || prev.End != c.Start {
						t.Errorf("chapters %d and %d do not meet: %+v %+v", i-1, i, prev, c)
					}
				}
				if c.Start != segs[c.First].Start || c.End != segs[c.First+c.Count-1].End || !c.Timed {
					t.Errorf("chapter %d range [%v,%v) not aligned on its segments", i, c.Start, c.End)
				}
				if c.Title == "" || c.Topic != wantTopic[i] {
					t.Errorf("chapter %d: title %q topic %q, want topic %s", i, c.Title, c.Topic, wantTopic[i])
				}
			}
		})
	}
}

func TestEmotionCues(t *testing.T) {
	t.Parallel()
	a := analyzer(t)
	tests := []struct {
		lang, text string
		want       emotion.Emotion // -1: none
	}{
		{"en", "I am so happy today.", emotion.Joy},
		{"en", "I am not happy today.", emotion.Sadness},    // negation moves it to the opposite
		{"en", "I am not afraid anymore.", emotion.Calm},    // likewise
		{"en", "The meeting is on Tuesday.", -1},            // nothing
		{"de", "Ich bin nicht glücklich.", emotion.Sadness}, // pre-negation
		{"de", "Ich war glücklich nicht.", emotion.Sadness}, // German post-negation
		{"es", "Estoy muy triste y solo.", emotion.Sadness},
		{"fr", "Quelle surprise ?!", emotion.Surprise},
		{"it", "Sono così arrabbiato!", emotion.Anger},
		{"pt", "Estou tranquilo e relaxado.", emotion.Calm},
	}
	for _, tt := range tests {
		r := a.Emotions.Analyze(tt.lang, tt.text)
		if r.Dominant != tt.want {
			t.Errorf("%s %q: dominant %v (%v), want %v", tt.lang, tt.text, r.Dominant, r.Dist, tt.want)
		}
	}
	plain := a.Emotions.Analyze("en", "I am happy.").Intensity
	for _, s := range []string{"I am very happy.", "I am HAPPY, you know.", "I am happy!!!"} {
		if got := a.Emotions.Analyze("en", s).Intensity; got <= plain {
			t.Errorf("%q intensity %.3f not above plain %.3f", s, got, plain)
		}
	}
	if got := a.Emotions.Analyze("en", "I am slightly happy.").Intensity; got >= plain {
		t.Errorf("dampened intensity %.3f not below plain %.3f", got, plain)
	}
	if r := a.Emotions.Analyze("nl", "Ik ben blij."); r.Dominant != -1 || r.Intensity != 0 {
		t.Errorf("unsupported language scored: %+v", r)
	}
}

func TestCancel(t *testing.T) {
	t.Parallel()
	a := analyzer(t)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := a.Analyze(ctx, Request{Text: "Some text. And more."})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled context: %v", err)
	}
}

func TestMixedAndUnsupported(t *testing.T) {
	t.Parallel()
	a := analyzer(t)
	res, err := a.Analyze(t.Context(), Request{Segments: []Segment{
		{Text: "Это очень хороший и интересный фильм, который мне понравился."},
		{Text: "Это очень хороший и интересный фильм, который мне понравился."},
		{Text: "This film was very good and really interesting, I loved it."},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Segments[0].Language != "ru" || res.Segments[0].Supported || res.Segments[0].Sentiment != nil {
		t.Errorf("russian segment: %+v", res.Segments[0])
	}
	if res.Segments[2].Language != "en" || !res.Segments[2].Supported || res.Sentiment == nil || res.Sentiment.Label != "positive" {
		t.Errorf("english segment %+v, video sentiment %+v", res.Segments[2], res.Sentiment)
	}
	if res.Language != "ru" || !res.Supported || res.Sentiment.Language != "en" {
		t.Errorf("language %q supported %v: the majority is ru, the analysis from en", res.Language, res.Supported)
	}
}

// TestEmbedderLabels plugs the ONNX embedder (a graph generated for the
// test) in for the caller labels.
func TestEmbedderLabels(t *testing.T) {
	t.Parallel()
	orttest.Init(t)
	dir := transformertest.Graph(t)
	emb, err := transformer.NewEmbedder(transformer.Config{Model: filepath.Join(dir, "model.onnx"), Vocab: filepath.Join(dir, "vocab.txt"),
		Output: "last_hidden_state", Options: ort.Options{IntraOpThreads: 1}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = emb.Close() })
	a := *analyzer(t) // a copy with the embedder; lexicons and caches are shared
	a.Embedder = emb
	res, err := a.Analyze(t.Context(), Request{Language: "en", Labels: []string{"pets: dog, cat", "cars: engine, drive"},
		Segments: []Segment{{Text: "My dog is sleeping."}, {Text: "The engine is loud."}, {Text: "My cat is sleeping, the dog too."}}})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"pets", "cars", "pets"}
	for i, s := range res.Segments {
		if len(s.Labels) == 0 || s.Labels[0].Label != want[i] {
			t.Errorf("segment %d labels %v, want %s first", i, s.Labels, want[i])
		}
	}
	if len(res.Labels) == 0 || res.Labels[0].Label != "pets" {
		t.Errorf("video labels %v, want pets first", res.Labels)
	}
	var named bool
	for _, p := range res.Producers {
		named = named || p.Engine == "labels" && strings.Contains(p.Model, "model.onnx")
	}
	if !named {
		t.Errorf("producers do not name the ONNX model: %+v", res.Producers)
	}
}

// TestLabelsWithoutWordNet: a missing WordNet leaves caller labels to their
// own words, and the result says so.
func TestLabelsWithoutWordNet(t *testing.T) {
	t.Parallel()
	a := *analyzer(t) // a copy with another expander; lexicons are shared
	a.Expander = topics.LazyExpander(t.TempDir())
	a.cache = &labelCache{}
	res, err := a.Analyze(t.Context(), Request{Language: "en", Labels: []string{"pets: dog", "space"},
		Segments: []Segment{{Text: "My dog is asleep on the sofa."}, {Text: "The rocket flew to the moon."}}})
	if err != nil {
		t.Fatal(err)
	}
	if l := res.Segments[0].Labels; len(l) != 1 || l[0].Label != "pets" {
		t.Errorf("dog: %v, want pets by the label's own word", l)
	}
	if l := res.Segments[1].Labels; len(l) != 0 {
		t.Errorf("rocket: %v, want nothing without WordNet", l)
	}
	var flagged bool
	for _, p := range res.Producers {
		flagged = flagged || p.Engine == "labels" && p.Fallback && strings.Contains(p.Note, "WordNet not installed")
	}
	if !flagged {
		t.Errorf("the fallback is not flagged: %+v", res.Producers)
	}
}
