// Command collab measures the collaboration path end to end on loopback:
// edit-to-delivery latency (p50, p99, max) with N concurrent WebSocket
// clients, and the operations per second one project sustains. The stack
// is the real one: two collab replicas sharing one database and one NATS
// (an embedded JetStream server with a TCP listener), each with its own
// gRPC server and a gateway in front; clients are split over the two
// gateways, and the editor sits on replica A, so half the deliveries cross
// NATS.
//
// The peer, run in the same process on the same NATS, is the floor of any
// fan-out over it: one core NATS publish per edit to N plain subscribers
// (no SQL, no gRPC, no WebSocket). Run it through bench/collab/run.sh.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/coder/websocket"
	"github.com/nats-io/nats.go"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/clipmesh/clipmesh/gateway"
	"github.com/clipmesh/clipmesh/platform/app"
	"github.com/clipmesh/clipmesh/platform/auth"
	"github.com/clipmesh/clipmesh/platform/natsx"
	platformserver "github.com/clipmesh/clipmesh/platform/server"
	"github.com/clipmesh/clipmesh/platform/store"
	"github.com/clipmesh/clipmesh/services/collab"
)

func main() {
	var (
		clientsFlag = flag.String("clients", "10,100,1000", "comma-separated numbers of concurrent WebSocket clients")
		edits       = flag.Int("edits", 200, "edits measured per client count")
		interval    = flag.Duration("interval", 50*time.Millisecond, "time between two measured edits")
		seconds     = flag.Float64("seconds", 5, "length of the ops/s measurement")
		writers     = flag.Int("writers", 8, "clients editing at once in the ops/s measurement")
		dbURL       = flag.String("db", "", "database URL (postgres://…); empty: SQLite in a temporary directory")
		cpuProfile  = flag.String("cpuprofile", "", "write a CPU profile of the whole run to this file")
		blockProf   = flag.String("blockprofile", "", "write a goroutine blocking profile of the whole run to this file")
		mutexProf   = flag.String("mutexprofile", "", "write a mutex contention profile of the whole run to this file")
	)
	flag.Parse()
	if *blockProf != "" {
		runtime.SetBlockProfileRate(int(10 * time.Microsecond)) // blocking events of 10 µs and more
		defer writeProfile("block", *blockProf)
	}
	if *mutexProf != "" {
		runtime.SetMutexProfileFraction(10)
		defer writeProfile("mutex", *mutexProf)
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err == nil {
			err = pprof.StartCPUProfile(f)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "collab bench:", err)
			os.Exit(1)
		}
		defer pprof.StopCPUProfile()
	}
	var counts []int
	for _, s := range strings.Split(*clientsFlag, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 {
			fmt.Fprintf(os.Stderr, "collab bench: bad -clients %q\n", *clientsFlag)
			os.Exit(2)
		}
		counts = append(counts, n)
	}
	if err := run(counts, *edits, *interval, time.Duration(*seconds*float64(time.Second)), *writers, *dbURL); err != nil {
		pprof.StopCPUProfile()
		fmt.Fprintln(os.Stderr, "collab bench:", err)
		os.Exit(1)
	}
}

// writeProfile writes the named runtime profile to path; a failure is
// reported and the run's results stand.
func writeProfile(name, path string) {
	f, err := os.Create(path)
	if err == nil {
		err = pprof.Lookup(name).WriteTo(f, 0)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "collab bench:", name, "profile:", err)
	}
}

func run(counts []int, edits int, interval, dur time.Duration, writers int, dbURL string) error {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	quiet := slog.New(slog.DiscardHandler)
	dir, err := os.MkdirTemp("", "clipmesh-bench-collab-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	db, err := store.Open(ctx, dbURL, dir)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := db.Migrate(ctx); err != nil {
		return err
	}
	na, err := natsx.Connect(ctx, natsx.Options{StoreDir: dir + "/nats", ListenAddr: "127.0.0.1:0", Name: "collab-a", Logger: quiet})
	if err != nil {
		return err
	}
	defer na.Close(context.Background())
	nb, err := natsx.Connect(ctx, natsx.Options{URL: na.ClientURL(), Name: "collab-b", Logger: quiet})
	if err != nil {
		return err
	}
	defer nb.Close(context.Background())
	keys := auth.NewKeys(db.DB)
	_, key, err := keys.Create(ctx, "bench", auth.RoleEditor, "bench")
	if err != nil {
		return err
	}
	var urls [2]string
	for i, nc := range []*natsx.Conn{na, nb} {
		if urls[i], err = replica(ctx, db, keys, nc, quiet); err != nil {
			return err
		}
	}
	fmt.Printf("collab bench: %s, 2 replicas + 2 gateways, %d edits every %s; peer: core NATS fan-out to the same number of subscribers\n\n",
		db.Dialect, edits, interval)
	fmt.Println("| clients | deliveries | p50 ms | p99 ms | max ms | CPU µs/delivery | peer p50 ms | peer p99 ms | peer CPU µs/delivery | p99 ratio |")
	fmt.Println("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
	for _, n := range counts {
		lat, cpu, err := latency(ctx, urls, key, n, edits, interval)
		if err != nil {
			return fmt.Errorf("%d clients: %w", n, err)
		}
		c1 := cpuTime()
		peer, err := natsPeer(na.NC, nb.NC, n, edits, interval)
		if err != nil {
			return fmt.Errorf("%d clients, peer: %w", n, err)
		}
		c2 := cpuTime()
		p50, p99, pmax := stats(lat)
		q50, q99, _ := stats(peer)
		fmt.Printf("| %d | %d | %.2f | %.2f | %.2f | %.0f | %.3f | %.3f | %.1f | %.1f× |\n", n, len(lat), ms(p50), ms(p99), ms(pmax),
			perDelivery(cpu, len(lat)), ms(q50), ms(q99), perDelivery(c2-c1, len(peer)), float64(p99)/float64(max(q99, 1)))
	}
	fmt.Println("\nCPU µs/delivery is the whole process's user+system CPU (servers, gateways and the measuring clients) from the first measured edit to the last delivery, dialling and joining left out, over the deliveries: a figure the machine's load does not change, unlike the latencies.")
	ops, err := throughput(ctx, urls, key, writers, dur)
	if err != nil {
		return fmt.Errorf("ops/s: %w", err)
	}
	fmt.Printf("\nops/s for one project: %.0f (%d writers over both replicas, one edit in flight each, caption inserts from stale bases, %s)\n",
		ops, writers, dur)
	return nil
}

// replica starts a collab service, its gRPC server and a gateway on
// loopback, and returns the gateway's WebSocket URL base (http://…).
func replica(ctx context.Context, db *store.DB, keys *auth.Keys, nc *natsx.Conn, log *slog.Logger) (string, error) {
	svc, err := collab.New(ctx, &app.Env{Name: "collab", DB: db, NATS: nc, Logger: log})
	if err != nil {
		return "", err
	}
	go func() { _ = svc.Start(ctx) }()
	gs := platformserver.NewGRPCServer(platformserver.Options{Auth: auth.NewAuthenticator(keys, false, "bench"), Logger: log})
	svc.Register(gs)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	go func() { _ = gs.Serve(lis) }()
	context.AfterFunc(ctx, gs.Stop)
	cc, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return "", err
	}
	h, err := gateway.New(ctx, cc, gateway.Options{Logger: log, CollabRate: 1000, CollabBurst: 1000})
	if err != nil {
		return "", err
	}
	hl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	hs := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = hs.Serve(hl) }()
	context.AfterFunc(ctx, func() { _ = hs.Close() })
	return "http://" + hl.Addr().String(), nil
}

func createProject(ctx context.Context, base, key string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/v1/projects", strings.NewReader(`{"name":"bench"}`))
	if err != nil {
		return "", err
	}
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var out struct{ Project struct{ ID string } }
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || out.Project.ID == "" {
		return "", fmt.Errorf("create project: status %d, %v", resp.StatusCode, err)
	}
	return out.Project.ID, nil
}

type frame struct {
	Kind     string `json:"kind"`
	Sequence int64  `json:"sequence"`
	Payload  struct {
		Op struct {
			OpID string `json:"op_id"`
		} `json:"op"`
	} `json:"payload"`
	Error string `json:"error"`
}

// dial opens a WebSocket to base's collaboration endpoint and joins
// project; it returns the connection and the joined head.
func dial(ctx context.Context, base, key, project string) (*websocket.Conn, int64, error) {
	c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(base, "http")+"/v1/collaborate",
		&websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer " + key}}})
	if err != nil {
		return nil, 0, err
	}
	c.SetReadLimit(1 << 20)
	b, _ := json.Marshal(map[string]any{"action": "join_project", "project_id": project})
	if err := c.Write(ctx, websocket.MessageText, b); err != nil {
		return nil, 0, err
	}
	for {
		_, data, err := c.Read(ctx)
		if err != nil {
			return nil, 0, err
		}
		var f frame
		if err := json.Unmarshal(data, &f); err != nil {
			return nil, 0, err
		}
		switch f.Kind {
		case "joined":
			return c, f.Sequence, nil
		case "error":
			return nil, 0, fmt.Errorf("join: %s", f.Error)
		}
	}
}

// latency joins n clients to a new project and measures, for each of
// edits edits made by one more client on replica A, the time from sending
// it to its arrival at each of the n clients.
//
// It also returns the process's CPU time over the edits and their
// deliveries only: dialling and joining the clients is left out.
func latency(ctx context.Context, urls [2]string, key string, n, edits int, interval time.Duration) ([]time.Duration, time.Duration, error) {
	project, err := createProject(ctx, urls[0], key)
	if err != nil {
		return nil, 0, err
	}
	var sent sync.Map // op id → time.Time
	out := make(chan time.Duration, n*edits)
	var wg sync.WaitGroup
	conns := make([]*websocket.Conn, 0, n)
	defer func() {
		for _, c := range conns {
			_ = c.CloseNow()
		}
		wg.Wait()
	}()
	var got atomic.Int64
	// The readers stop when their connection closes (CloseNow above), so
	// they read under a context that is never done: coder/websocket
	// registers every read on a cancellable context (context.AfterFunc),
	// and a thousand readers sharing one would queue on its mutex — the
	// measuring clients would then be the bottleneck they measure.
	readCtx := context.WithoutCancel(ctx)
	for i := range n {
		c, _, err := dial(ctx, urls[i%2], key, project)
		if err != nil {
			return nil, 0, fmt.Errorf("client %d: %w", i, err)
		}
		conns = append(conns, c)
		wg.Go(func() {
			for {
				_, data, err := c.Read(readCtx)
				now := time.Now()
				if err != nil {
					return
				}
				// A scan for the op id rather than a full decode: the
				// clients share the CPU with the servers they measure.
				id := opIDOf(data)
				if !strings.HasPrefix(id, "lat-") {
					continue
				}
				if t0, ok := sent.Load(id); ok {
					out <- now.Sub(t0.(time.Time))
					got.Add(1)
				}
			}
		})
	}
	editor, head, err := dial(ctx, urls[0], key, project)
	if err != nil {
		return nil, 0, err
	}
	conns = append(conns, editor)
	wg.Go(func() { // the editor reads its own copies
		for {
			if _, _, err := editor.Read(readCtx); err != nil {
				return
			}
		}
	})
	send := func(op map[string]any, id string) error {
		op["op_id"] = id
		b, _ := json.Marshal(map[string]any{"action": "edit", "last_seen_sequence": head, "payload": op})
		sent.Store(id, time.Now())
		return editor.Write(ctx, websocket.MessageText, b)
	}
	if err := send(map[string]any{"type": "add_clip", "clip_id": "c"}, "setup"); err != nil {
		return nil, 0, err
	}
	head++
	time.Sleep(100 * time.Millisecond)
	c0 := cpuTime()
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for i := range edits {
		<-tick.C
		// Set ops never depend on the base, so the editor need not wait.
		if err := send(map[string]any{"type": "set", "clip_id": "c", "field": "title", "value": fmt.Sprint("t", i)}, fmt.Sprint("lat-", i)); err != nil {
			return nil, 0, err
		}
	}
	want := int64(n * edits)
	deadline := time.Now().Add(30 * time.Second)
	for got.Load() < want && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if got.Load() < want {
		return nil, 0, fmt.Errorf("%d of %d deliveries arrived", got.Load(), want)
	}
	cpu := cpuTime() - c0
	res := make([]time.Duration, 0, n*edits)
	for range want {
		res = append(res, <-out)
	}
	return res, cpu, nil
}

// natsPeer measures the same fan-out over bare core NATS: n subscribers on
// connection b, one publisher on a.
func natsPeer(a, b *nats.Conn, n, edits int, interval time.Duration) ([]time.Duration, error) {
	subject := fmt.Sprintf("bench.peer.%d", time.Now().UnixNano())
	out := make(chan time.Duration, n*edits)
	var subs []*nats.Subscription
	defer func() {
		for _, s := range subs {
			_ = s.Unsubscribe()
		}
	}()
	for range n {
		s, err := b.Subscribe(subject, func(m *nats.Msg) {
			t0, err := strconv.ParseInt(string(m.Data), 10, 64)
			if err == nil {
				out <- time.Since(time.Unix(0, t0))
			}
		})
		if err != nil {
			return nil, err
		}
		subs = append(subs, s)
	}
	if err := b.Flush(); err != nil {
		return nil, err
	}
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for range edits {
		<-tick.C
		if err := a.Publish(subject, []byte(strconv.FormatInt(time.Now().UnixNano(), 10))); err != nil {
			return nil, err
		}
	}
	res := make([]time.Duration, 0, n*edits)
	timeout := time.After(30 * time.Second)
	for len(res) < n*edits {
		select {
		case d := <-out:
			res = append(res, d)
		case <-timeout:
			return nil, fmt.Errorf("%d of %d deliveries arrived", len(res), n*edits)
		}
	}
	return res, nil
}

// throughput has w writers, split over the replicas, each keep one caption
// insert in flight on one project for dur, and returns accepted ops/s.
func throughput(ctx context.Context, urls [2]string, key string, w int, dur time.Duration) (float64, error) {
	project, err := createProject(ctx, urls[0], key)
	if err != nil {
		return 0, err
	}
	setup, head, err := dial(ctx, urls[0], key, project)
	if err != nil {
		return 0, err
	}
	defer setup.CloseNow()
	b, _ := json.Marshal(map[string]any{"action": "edit", "last_seen_sequence": head, "payload": map[string]any{"type": "add_clip", "clip_id": "c"}})
	if err := setup.Write(ctx, websocket.MessageText, b); err != nil {
		return 0, err
	}
	for { // the clip exists before anyone edits it
		_, data, err := setup.Read(ctx)
		if err != nil {
			return 0, err
		}
		var f frame
		if json.Unmarshal(data, &f) == nil && f.Kind == "operation" {
			break
		}
		if f.Kind == "error" {
			return 0, fmt.Errorf("add_clip: %s", f.Error)
		}
	}
	var total atomic.Int64
	stop := time.Now().Add(dur)
	errs := make(chan error, w)
	var wg sync.WaitGroup
	for i := range w {
		wg.Go(func() {
			c, seen, err := dial(ctx, urls[i%2], key, project)
			if err != nil {
				errs <- err
				return
			}
			defer c.CloseNow()
			for k := 0; time.Now().Before(stop); k++ {
				id := fmt.Sprintf("w%d-%d", i, k)
				b, _ := json.Marshal(map[string]any{"action": "edit", "last_seen_sequence": max(seen, 1),
					"payload": map[string]any{"type": "insert_text", "clip_id": "c", "pos": 0, "text": "x", "op_id": id}})
				if err := c.Write(ctx, websocket.MessageText, b); err != nil {
					errs <- err
					return
				}
				for {
					_, data, err := c.Read(ctx)
					if err != nil {
						errs <- err
						return
					}
					var f frame
					if json.Unmarshal(data, &f) != nil {
						continue
					}
					if f.Kind == "error" {
						errs <- fmt.Errorf("edit refused: %s", f.Error)
						return
					}
					if f.Kind == "operation" {
						seen = f.Sequence
						if f.Payload.Op.OpID == id {
							total.Add(1)
							break
						}
					}
				}
			}
		})
	}
	start := time.Now()
	wg.Wait()
	elapsed := time.Since(start)
	close(errs)
	for err := range errs {
		return 0, err
	}
	return float64(total.Load()) / elapsed.Seconds(), nil
}

// opIDOf returns the op_id of an operation frame, "" if it has none.
func opIDOf(data []byte) string {
	const key = `"op_id":"`
	i := bytes.Index(data, []byte(key))
	if i < 0 || !bytes.HasPrefix(data, []byte(`{"kind":"operation"`)) {
		return ""
	}
	rest := data[i+len(key):]
	j := bytes.IndexByte(rest, '"')
	if j < 0 {
		return ""
	}
	return string(rest[:j])
}

func stats(ds []time.Duration) (p50, p99, pmax time.Duration) {
	if len(ds) == 0 {
		return 0, 0, 0
	}
	slices.Sort(ds)
	at := func(q float64) time.Duration { return ds[min(len(ds)-1, int(q*float64(len(ds))))] }
	return at(0.50), at(0.99), ds[len(ds)-1]
}

// cpuTime is the process's user + system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func perDelivery(cpu time.Duration, n int) float64 {
	return float64(cpu) / float64(time.Microsecond) / float64(max(n, 1))
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
