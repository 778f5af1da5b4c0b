// Command nlpbench measures the nlp service's analysis of a 1-hour
// transcript (720 timed segments of 5 s, about 8,000 words: speech at
// 130-150 words a minute) beside govader alone on the same segments, in the
// same run: segments per second of each, and their ratio. Run it through
// bench/nlp/run.sh.
//
// The transcript is drawn at random (fixed seed) from the English sentences
// of the evaluation set, in runs of one topic, so chapters, topics and
// keywords have real work to do. Each measurement repeats the whole
// transcript for at least -seconds and reports the median of -rounds.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/jonreiter/govader"

	"github.com/clipmesh/clipmesh/platform/models"
	"github.com/clipmesh/clipmesh/services/nlp/internal/analyze"
	"github.com/clipmesh/clipmesh/services/nlp/internal/eval"
	"github.com/clipmesh/clipmesh/services/nlp/internal/topics"
	"github.com/clipmesh/clipmesh/services/nlp/internal/wordnet"
)

func main() {
	seconds := flag.Float64("seconds", 2, "least time of one measurement")
	rounds := flag.Int("rounds", 3, "measurements of each; the median is reported")
	data := flag.String("data", "internal/eval/testdata/nlp.tsv", "evaluation set the transcript is drawn from")
	flag.Parse()
	if err := run(*seconds, *rounds, *data); err != nil {
		log.Fatal(err)
	}
}

func transcript(path string) ([]analyze.Segment, error) {
	rows, err := eval.ReadRows(path, 6)
	if err != nil {
		return nil, err
	}
	byTopic := map[string][]string{}
	for _, r := range rows {
		if r[0] == "en" {
			byTopic[r[3]] = append(byTopic[r[3]], r[5])
		}
	}
	names := make([]string, 0, len(byTopic))
	for t := range byTopic {
		names = append(names, t)
	}
	sort.Strings(names)
	rng := rand.New(rand.NewPCG(1, 2))
	var segs []analyze.Segment
	for t := 0.0; len(segs) < 720; {
		topic := names[rng.IntN(len(names))]
		for range 20 + rng.IntN(40) { // a topic lasts 100-300 s
			p := byTopic[topic]
			// One sentence (about 12 words) every 5 s: 150 words a minute.
			segs = append(segs, analyze.Segment{Text: p[rng.IntN(len(p))], Start: t, End: t + 5, Timed: true})
			t += 5
			if len(segs) == 720 {
				break
			}
		}
	}
	return segs, nil
}

// measure runs f (one pass over the transcript) for at least secs with
// workers goroutines and returns passes per second.
func measure(secs float64, workers int, f func() error) (float64, error) {
	var mu sync.Mutex
	var firstErr error
	passes := 0
	start := time.Now()
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for time.Since(start).Seconds() < secs {
				if err := f(); err != nil {
					mu.Lock()
					firstErr = err
					mu.Unlock()
					return
				}
				mu.Lock()
				passes++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return float64(passes) / time.Since(start).Seconds(), firstErr
}

func run(secs float64, rounds int, data string) error {
	segs, err := transcript(data)
	if err != nil {
		return err
	}
	words := 0
	for _, s := range segs {
		words += len(strings.Fields(s.Text))
	}
	dir, err := models.Dir("")
	if err != nil {
		return err
	}
	db, err := wordnet.Open("")
	if err != nil {
		return err
	}
	defer db.Close()
	a, err := analyze.New(dir, &topics.Expander{DB: db})
	if err != nil {
		return err
	}
	if a.SentimentErr != nil {
		return a.SentimentErr
	}
	sia := govader.NewSentimentIntensityAnalyzer()
	ctx := context.Background()
	n := float64(len(segs))
	cases := []struct {
		name string
		f    func() error
	}{
		{"govader alone (sentiment of each segment)", func() error {
			for _, s := range segs {
				_ = sia.PolarityScores(s.Text)
			}
			return nil
		}},
		{"clipmesh nlp, language given (en)", func() error {
			_, err := a.Analyze(ctx, analyze.Request{Segments: segs, Language: "en"})
			return err
		}},
		{"clipmesh nlp, language detected per segment", func() error {
			_, err := a.Analyze(ctx, analyze.Request{Segments: segs, Language: "auto"})
			return err
		}},
		{"clipmesh nlp, detected + 3 caller labels (WordNet zero-shot)", func() error {
			_, err := a.Analyze(ctx, analyze.Request{Segments: segs, Language: "auto", Labels: []string{"cooking", "football: goal, match", "space"}})
			return err
		}},
	}
	fmt.Printf("1-hour transcript: %d segments, %d words; GOMAXPROCS=%d; %s\n\n", len(segs), words, runtime.GOMAXPROCS(0), filepath.Base(data))
	fmt.Println("| analysis | workers | segments/s | 1 h transcript in | × govader |")
	fmt.Println("|---|---|---|---|---|")
	for _, workers := range []int{1, 2} {
		var base float64
		for i, c := range cases {
			var rs []float64
			for range rounds {
				r, err := measure(secs, workers, c.f)
				if err != nil {
					return fmt.Errorf("%s: %w", c.name, err)
				}
				rs = append(rs, r*n)
			}
			slices.Sort(rs)
			med := rs[len(rs)/2]
			if i == 0 {
				base = med
			}
			fmt.Printf("| %s | %d | %.0f | %.0f ms | %.2f |\n", c.name, workers, med, n/med*1000*float64(workers), med/base)
		}
	}
	fmt.Fprintln(os.Stderr, "× govader is the ratio of segments/s (1.00 = as fast as govader alone; below 1 = slower).")
	return nil
}
