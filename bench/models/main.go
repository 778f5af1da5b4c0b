// Command models measures every ONNX model of the manifest on this machine:
// per-model latency and items/s at batch 1 and batched (where the model
// takes a batch), with 1 and 2 intra-op threads, the resident memory a
// session adds, and the frames/s of a whole vision pipeline (faces,
// expression, mesh and iris, objects, text detection per frame) under each
// way of spending 2 cores: one worker with 2 threads per operator, or two
// workers with 1 thread each. Run it through bench/models/run.sh.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/clipmesh/clipmesh/platform/models"
	"github.com/clipmesh/clipmesh/platform/ort"
)

type spec struct {
	name    string
	inputs  []string
	outputs []string
	shape   func(batch int) [][]int64 // per input
	int64in []bool                    // inputs that are int64
	batch   int                       // the batch measured besides 1 (0: fixed batch of 1)
	item    string
}

var specs = []spec{
	{name: "silero-vad-v5", inputs: []string{"input", "state", "sr"}, outputs: []string{"output", "stateN"},
		shape:   func(int) [][]int64 { return [][]int64{{1, 576}, {2, 1, 128}, {1}} },
		int64in: []bool{false, false, true}, item: "32 ms window"},
	{name: "blazeface-front", inputs: []string{"input:0"}, outputs: []string{"Identity:0", "Identity_1:0", "Identity_2:0", "Identity_3:0"},
		shape: func(int) [][]int64 { return [][]int64{{1, 128, 128, 3}} }, item: "frame"},
	{name: "blazeface-back", inputs: []string{"input:0"}, outputs: []string{"Identity:0", "Identity_1:0", "Identity_2:0", "Identity_3:0"},
		shape: func(int) [][]int64 { return [][]int64{{1, 256, 256, 3}} }, item: "frame"},
	{name: "human-emotion", inputs: []string{"input_1:0"}, outputs: []string{"Identity:0"},
		shape: func(b int) [][]int64 { return [][]int64{{int64(b), 64, 64, 1}} }, batch: 8, item: "face"},
	{name: "human-iris", inputs: []string{"input_1:0"}, outputs: []string{"Identity:0"},
		shape: func(b int) [][]int64 { return [][]int64{{int64(b), 64, 64, 3}} }, batch: 8, item: "eye"},
	{name: "human-facemesh", inputs: []string{"input_1:0"}, outputs: []string{"Identity:0", "Identity_1:0", "Identity_2:0"},
		shape: func(b int) [][]int64 { return [][]int64{{int64(b), 192, 192, 3}} }, batch: 4, item: "face"},
	{name: "human-faceres", inputs: []string{"input_1:0"}, outputs: []string{"age_pred/Softmax:0", "gender_pred/Sigmoid:0", "global_pooling/Mean:0"},
		shape: func(b int) [][]int64 { return [][]int64{{int64(b), 224, 224, 3}} }, batch: 4, item: "face"},
	{name: "human-nanodet", inputs: []string{"input_1:0"}, outputs: []string{"Identity:0", "Identity_1:0", "Identity_2:0", "Identity_3:0", "Identity_4:0", "Identity_5:0"},
		shape: func(int) [][]int64 { return [][]int64{{1, 3, 416, 416}} }, item: "frame"},
	{name: "ppocr-det", inputs: []string{"x"}, outputs: []string{"sigmoid_0.tmp_0"},
		shape: func(int) [][]int64 { return [][]int64{{1, 3, 544, 960}} }, item: "960x544 frame"},
	{name: "ppocr-rec", inputs: []string{"x"}, outputs: []string{"softmax_11.tmp_0"},
		shape: func(b int) [][]int64 { return [][]int64{{int64(b), 3, 48, 320}} }, batch: 8, item: "text line"},
}

func main() {
	dir := flag.String("models-dir", "", "models cache (default: models.Dir)")
	secs := flag.Float64("seconds", 1.5, "time spent per measurement (split over -rounds)")
	rounds := flag.Int("rounds", 3, "interleaved rounds per measurement; the best is kept")
	only := flag.String("only", "", "comma-separated models to measure (no pipeline); default all and the pipeline")
	memOf := flag.String("mem-of", "", "internal: print the RSS one session of this model adds, then exit")
	flag.Parse()
	var err error
	if *memOf != "" {
		err = memory(*dir, *memOf)
	} else {
		err = run(*dir, time.Duration(*secs*float64(time.Second)), max(1, *rounds), *only)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench/models:", err)
		os.Exit(1)
	}
}

func initORT(dir string) (string, error) {
	dir, err := models.Dir(dir)
	if err != nil {
		return "", err
	}
	lib, err := models.Path(dir, "onnxruntime")
	if err != nil {
		return "", err
	}
	return dir, ort.Init(lib)
}

// memory prints the resident memory that loading one session of the model
// (1 thread, batch 1) and running it 3 times adds to a process where ONNX
// Runtime is already loaded. It runs in a child process of its own, so
// memory freed by earlier sessions does not hide it.
func memory(dir, name string) error {
	dir, err := initORT(dir)
	if err != nil {
		return err
	}
	runtime.GC()
	before := rss()
	m, err := open(dir, find(name), 1, 1)
	if err != nil {
		return err
	}
	for range 3 {
		if err := m.s.Run(); err != nil {
			return err
		}
	}
	fmt.Println(rss() - before)
	return m.s.Close()
}

func sessionMemory(dir, name string) string {
	exe, err := os.Executable()
	if err != nil {
		return "?"
	}
	out, err := exec.Command(exe, "-models-dir", dir, "-mem-of", name).Output()
	if err != nil {
		return "?"
	}
	n, err := strconv.ParseInt(strings.TrimSpace(string(out)), 10, 64)
	if err != nil {
		return "?"
	}
	return fmt.Sprintf("%.0f MB", float64(n)/1e6)
}

func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	return strings.Join(strings.Fields(string(b))[:3], " ")
}

func rss() int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb * 1024
		}
	}
	return 0
}

type model struct {
	s     *ort.Session
	spec  spec
	batch int
}

func open(dir string, sp spec, threads, batch int) (*model, error) {
	p, err := models.Path(dir, sp.name)
	if err != nil {
		return nil, err
	}
	s, err := ort.NewSession(p, sp.inputs, sp.outputs, ort.Options{IntraOpThreads: threads, InterOpThreads: 1})
	if err != nil {
		return nil, err
	}
	r := rand.New(rand.NewPCG(1, 2))
	for i, shape := range sp.shape(batch) {
		if len(sp.int64in) > i && sp.int64in[i] {
			v, err := s.Int64Input(sp.inputs[i], shape...)
			if err != nil {
				return nil, err
			}
			v[0] = 16000
			continue
		}
		v, err := s.Float32Input(sp.inputs[i], shape...)
		if err != nil {
			return nil, err
		}
		for k := range v {
			v[k] = r.Float32()*2 - 1
		}
	}
	return &model{s: s, spec: sp, batch: batch}, nil
}

// measure runs the model for about d and returns the mean latency of one run.
// measure runs the model for about d and returns the mean wall time and
// the mean CPU time (all threads of the process) of one run.
func (m *model) measure(d time.Duration) (wall, cpu time.Duration, err error) {
	for range 3 { // warm up: the first runs allocate and tune
		if err := m.s.Run(); err != nil {
			return 0, 0, err
		}
	}
	n := 0
	start, cpu0 := time.Now(), cpuTime()
	for time.Since(start) < d || n < 5 {
		if err := m.s.Run(); err != nil {
			return 0, 0, err
		}
		n++
	}
	return time.Since(start) / time.Duration(n), (cpuTime() - cpu0) / time.Duration(n), nil
}

// cpuTime is the user + system CPU time of the process so far. On a
// machine shared with other work, CPU time per item is what the model
// costs, whatever the wait for a core.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func run(dir string, d time.Duration, rounds int, only string) error {
	dir, err := initORT(dir)
	if err != nil {
		return err
	}
	fmt.Printf("ONNX Runtime %s, %d CPUs, load average at start %s; best of %d interleaved rounds, %s per measurement\n\n",
		ort.Version(), runtime.NumCPU(), loadavg(), rounds, d)
	var ratios []string
	fmt.Println("| model | item | intra-op threads | batch 1 latency | batch 1 items/s | CPU ms/item | batch N | batch N latency | batch N items/s | CPU ms/item | session RSS |")
	fmt.Println("|---|---|---|---|---|---|---|---|---|---|---|")
	for _, sp := range specs {
		if only != "" && !slices.Contains(strings.Split(only, ","), sp.name) {
			continue
		}
		type config struct {
			threads, batch int
			m              *model
			best, cpu      time.Duration // of the best round
		}
		var cfgs []*config
		for _, threads := range []int{1, 2} {
			for _, batch := range []int{1, sp.batch} {
				if batch == 0 {
					continue
				}
				m, err := open(dir, sp, threads, batch)
				if err != nil {
					return fmt.Errorf("%s: %w", sp.name, err)
				}
				defer m.s.Close()
				cfgs = append(cfgs, &config{threads: threads, batch: batch, m: m})
			}
		}
		for range rounds {
			for _, c := range cfgs {
				lat, cpu, err := c.m.measure(d / time.Duration(rounds))
				if err != nil {
					return fmt.Errorf("%s: %w", sp.name, err)
				}
				if c.best == 0 || lat < c.best {
					c.best, c.cpu = lat, cpu
				}
			}
		}
		mem := sessionMemory(dir, sp.name)
		for _, c := range cfgs {
			if c.batch != 1 {
				continue
			}
			row := fmt.Sprintf("| %s | %s | %d | %.2f ms | %.1f | %.2f |", sp.name, sp.item, c.threads, ms(c.best), 1/c.best.Seconds(), ms(c.cpu))
			done := false
			for _, b := range cfgs {
				if b.threads == c.threads && b.batch != 1 {
					row += fmt.Sprintf(" %d | %.2f ms | %.1f | %.2f |", b.batch, ms(b.best), float64(b.batch)/b.best.Seconds(), ms(b.cpu)/float64(b.batch))
					done = true
				}
			}
			if !done {
				row += " fixed 1 | | | |"
			}
			fmt.Printf("%s %s |\n", row, mem)
		}
		// CPU per item relative to batch 1 with 1 thread: the cost of a
		// second thread, and what batching saves.
		var base, two, batched time.Duration
		for _, c := range cfgs {
			switch {
			case c.threads == 1 && c.batch == 1:
				base = c.cpu
			case c.threads == 2 && c.batch == 1:
				two = c.cpu
			case c.threads == 1:
				batched = c.cpu / time.Duration(c.batch)
			}
		}
		r := fmt.Sprintf("| %s | x%.2f |", sp.name, float64(two)/float64(base))
		if batched > 0 {
			r += fmt.Sprintf(" x%.2f (batch %d) |", float64(batched)/float64(base), sp.batch)
		} else {
			r += " - |"
		}
		ratios = append(ratios, r)
		for _, c := range cfgs {
			_ = c.m.s.Close()
		}
	}
	fmt.Println("\nCPU time per item against batch 1 with 1 intra-op thread:")
	fmt.Println()
	fmt.Println("| model | 2 intra-op threads | batched |")
	fmt.Println("|---|---|---|")
	for _, r := range ratios {
		fmt.Println(r)
	}
	if only != "" {
		return nil
	}
	if err := pipeline(dir, d, rounds); err != nil {
		return err
	}
	fmt.Printf("\nload average at the end: %s\n", loadavg())
	return nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// pipeline is one analysed frame: face detection, expression and mesh of
// one face, iris of both eyes (batch of 2), objects, text detection.
var pipelineModels = []struct {
	name  string
	batch int
}{{"blazeface-front", 1}, {"human-emotion", 1}, {"human-facemesh", 1}, {"human-iris", 2}, {"human-nanodet", 1}, {"ppocr-det", 1}}

func pipeline(dir string, d time.Duration, rounds int) error {
	fmt.Println("\nWhole vision pipeline per frame (" + names() + "):")
	fmt.Println()
	fmt.Println("| workers x intra-op threads | frames/s | ms per frame per worker | CPU ms per frame |")
	fmt.Println("|---|---|---|---|")
	cfgs := [][2]int{{1, 1}, {1, 2}, {2, 1}, {2, 2}, {4, 1}}
	best := make([]float64, len(cfgs))
	cpus := make([]time.Duration, len(cfgs))
	for range rounds {
		for i, cfg := range cfgs {
			fps, cpu, err := pipelineRound(dir, cfg[0], cfg[1], d/time.Duration(rounds))
			if err != nil {
				return err
			}
			if fps > best[i] {
				best[i], cpus[i] = fps, cpu
			}
		}
	}
	for i, cfg := range cfgs {
		fmt.Printf("| %d x %d | %.2f | %.0f | %.0f |\n", cfg[0], cfg[1], best[i], float64(cfg[0])*1000/best[i], ms(cpus[i]))
	}
	return nil
}

// pipelineRound runs workers goroutines, each with its own sessions of
// threads intra-op threads, for d and returns the frames/s of all.
func pipelineRound(dir string, workers, threads int, d time.Duration) (float64, time.Duration, error) {
	sets := make([][]*model, workers)
	defer func() {
		for _, set := range sets {
			for _, m := range set {
				_ = m.s.Close()
			}
		}
	}()
	for w := range sets {
		for _, pm := range pipelineModels {
			m, err := open(dir, find(pm.name), threads, pm.batch)
			if err != nil {
				return 0, 0, fmt.Errorf("%s: %w", pm.name, err)
			}
			sets[w] = append(sets[w], m)
			if err := m.s.Run(); err != nil { // warm up
				return 0, 0, err
			}
		}
	}
	var wg sync.WaitGroup
	counts := make([]int, workers)
	errs := make([]error, workers)
	start, cpu0 := time.Now(), cpuTime()
	for w := range workers {
		wg.Go(func() {
			for time.Since(start) < d {
				for _, m := range sets[w] {
					if err := m.s.Run(); err != nil {
						errs[w] = err
						return
					}
				}
				counts[w]++
			}
		})
	}
	wg.Wait()
	el, cpu := time.Since(start), cpuTime()-cpu0
	total := 0
	for w := range workers {
		if errs[w] != nil {
			return 0, 0, errs[w]
		}
		total += counts[w]
	}
	return float64(total) / el.Seconds(), cpu / time.Duration(max(1, total)), nil
}

func find(name string) spec {
	for _, s := range specs {
		if s.name == name {
			return s
		}
	}
	panic(name)
}

func names() string {
	var n []string
	for _, pm := range pipelineModels {
		s := pm.name
		if pm.batch > 1 {
			s += fmt.Sprintf(" x%d", pm.batch)
		}
		n = append(n, s)
	}
	return strings.Join(n, ", ")
}
