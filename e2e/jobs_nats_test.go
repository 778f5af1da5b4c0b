//go:build unix

package e2e

import (
	"context"
	"encoding/json"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	commonv1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/common/v1"
	jobsv1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/jobs/v1"
	videosv1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/videos/v1"
	visionv1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/vision/v1"
	"github.com/clipmesh/clipmesh/platform/fixtures"
	"github.com/clipmesh/clipmesh/platform/natsx"
)

// goBuild builds pkg (a package path or ./dir, from the repository root)
// into dir and returns the binary's path.
func goBuild(t *testing.T, dir, name, pkg string) string {
	t.Helper()
	root, err := repoRoot()
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, name)
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "build", "-o", out, pkg)
	cmd.Dir = root
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", pkg, err, msg)
	}
	return out
}

// startExe runs bin with args in its own process group until the test
// ends (SIGTERM, then SIGKILL of the group).
func startExe(t *testing.T, env []string, bin string, args ...string) *proc {
	t.Helper()
	p := &proc{stdout: &syncBuffer{}, stderr: &syncBuffer{}, done: make(chan struct{})}
	p.cmd = exec.Command(bin, args...)
	p.cmd.Env = env
	p.cmd.Stdout, p.cmd.Stderr = p.stdout, p.stderr
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	p.cmd.WaitDelay = 5 * time.Second
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", bin, err)
	}
	go func() {
		p.waitErr = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		if !p.exited() {
			_ = p.cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-p.done:
			case <-time.After(shutdownTimeout + stopGrace):
				p.killGroup()
				<-p.done
			}
		}
		if t.Failed() {
			t.Logf("%s stderr (tail):\n%s", filepath.Base(bin), tailLines(p.stderr.String(), 40))
		}
	})
	return p
}

func tailLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// countingVision answers AnalyzeVideo after a pause, counting the calls
// of each job (the job's principal, job:<id>, travels in the mesh
// metadata).
type countingVision struct {
	visionv1.UnimplementedVisionServiceServer
	mu    sync.Mutex
	calls map[string]int
}

func (v *countingVision) AnalyzeVideo(_ *visionv1.AnalyzeVideoRequest, st grpc.ServerStreamingServer[visionv1.AnalyzeVideoResponse]) error {
	md, _ := metadata.FromIncomingContext(st.Context())
	subject := strings.Join(md.Get("x-clipmesh-subject"), ",")
	v.mu.Lock()
	v.calls[subject]++
	v.mu.Unlock()
	select {
	case <-st.Context().Done():
		return st.Context().Err()
	case <-time.After(300 * time.Millisecond):
	}
	return st.Send(&visionv1.AnalyzeVideoResponse{Event: &visionv1.AnalyzeVideoResponse_Result{Result: &visionv1.VisionResult{
		Producer: &commonv1.Producer{Engine: "counting-vision"}}}})
}

// TestJobsExternalNATS runs a real nats-server process (built from the
// nats-server module the embedded server comes from) and two jobs service
// processes sharing its work queue, a data dir and a database: every job of
// a burst runs once, on one of them, and both take a share.
func TestJobsExternalNATS(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs nats-server and two jobs processes; skipped with -short")
	}
	t.Parallel()
	bin := t.TempDir()
	natsBin := goBuild(t, bin, "nats-server", "github.com/nats-io/nats-server/v2")
	jobsBin := goBuild(t, bin, "jobs", "./services/jobs/cmd/jobs")

	natsPort := freePort(t, "127.0.0.1")
	natsURL := "nats://127.0.0.1:" + natsPort
	ns := startExe(t, os.Environ(), natsBin, "-js", "-a", "127.0.0.1", "-p", natsPort, "-sd", t.TempDir())
	nc, err := natsx.Connect(t.Context(), natsx.Options{URL: natsURL, Name: "e2e-jobs", Logger: slog.New(slog.DiscardHandler)})
	for i := 0; err != nil && i < 50 && !ns.exited(); i++ {
		time.Sleep(100 * time.Millisecond)
		nc, err = natsx.Connect(t.Context(), natsx.Options{URL: natsURL, Name: "e2e-jobs", Logger: slog.New(slog.DiscardHandler)})
	}
	if err != nil {
		t.Fatalf("nats-server on %s: %v\n%s", natsURL, err, ns.stderr.String())
	}
	t.Cleanup(func() { _ = nc.Close(context.Background()) })
	if nc.Embedded() {
		t.Fatal("connected to an embedded server, want the external one")
	}

	vision := &countingVision{calls: map[string]int{}}
	gs := grpc.NewServer()
	visionv1.RegisterVisionServiceServer(gs, vision)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = gs.Serve(lis) }()
	t.Cleanup(gs.Stop)

	dataDir := t.TempDir()
	env := append(childEnv(t), "CLIPMESH_NATS_URL="+natsURL, "CLIPMESH_MESH_TOKEN=e2e-mesh-token",
		"CLIPMESH_MESH_ADDR="+lis.Addr().String(), "CLIPMESH_JOBS_WORKERS=2", "CLIPMESH_JOBS_CACHE=off")
	type replica struct {
		p    *proc
		grpc string
	}
	var replicas []replica
	for range 2 {
		gp, hp := freePort(t, "127.0.0.1"), freePort(t, "127.0.0.1")
		p := startExe(t, env, jobsBin, "--data-dir", dataDir, "--grpc-addr", "127.0.0.1:"+gp, "--http-addr", "127.0.0.1:"+hp,
			"--admin-addr=", "--log-format", "json", "--shutdown-timeout", shutdownTimeout.String())
		s := &server{proc: p, URL: "http://127.0.0.1:" + hp}
		if err := s.waitReady(t); err != nil {
			t.Fatalf("jobs process: %v\n%s", err, p.stderr.String())
		}
		replicas = append(replicas, replica{p, "127.0.0.1:" + gp})
	}

	cc := dial(t, replicas[0].grpc)
	videos, jobs := videosv1.NewVideoServiceClient(cc), jobsv1.NewJobServiceClient(cc)
	raw, err := os.ReadFile(fixtures.MustPath(t, fixtures.NoAudio))
	if err != nil {
		t.Fatal(err)
	}
	up, err := videos.Upload(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if err := up.Send(&videosv1.UploadRequest{Data: &videosv1.UploadRequest_Chunk{Chunk: raw}}); err != nil {
		t.Fatal(err)
	}
	uploaded, err := up.CloseAndRecv()
	if err != nil {
		t.Fatalf("Upload: %v", err)
	}
	const n = 12
	ids := map[string]bool{}
	for i := range n {
		// Submitted to both replicas: either may queue, either may run.
		c := jobs
		if i%2 == 1 {
			c = jobsv1.NewJobServiceClient(dial(t, replicas[1].grpc))
		}
		res, err := c.Analyze(t.Context(), &jobsv1.AnalyzeRequest{VideoId: uploaded.GetVideo().GetId()})
		if err != nil {
			t.Fatalf("Analyze %d: %v", i, err)
		}
		ids[res.GetJob().GetId()] = true
	}

	deadline := time.Now().Add(2 * time.Minute)
	for id := range ids {
		for {
			res, err := jobs.GetJob(t.Context(), &jobsv1.GetJobRequest{JobId: id})
			if err != nil {
				t.Fatal(err)
			}
			j := res.GetJob()
			if terminal(j.GetState()) {
				if j.GetState() != jobsv1.JobState_JOB_STATE_SUCCEEDED || j.GetAttempts() != 1 {
					t.Errorf("job %s: %s after %d attempts (%s), want SUCCEEDED after 1", id, j.GetState(), j.GetAttempts(), j.GetError())
				}
				if e := j.GetResult().GetVision().GetProducer().GetEngine(); e != "counting-vision" {
					t.Errorf("job %s: vision engine %q, want counting-vision", id, e)
				}
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("job %s still %s after 2 minutes", id, j.GetState())
			}
			time.Sleep(50 * time.Millisecond)
		}
	}

	vision.mu.Lock()
	for id := range ids {
		if c := vision.calls["job:"+id]; c != 1 {
			t.Errorf("job %s: vision called %d times, want once", id, c)
		}
	}
	if len(vision.calls) != n {
		t.Errorf("vision called for %d jobs, want %d: %v", len(vision.calls), n, vision.calls)
	}
	vision.mu.Unlock()

	// Each job started in exactly one process, and both took some.
	started := make([]map[string]int, len(replicas))
	for i, r := range replicas {
		started[i] = map[string]int{}
		for _, line := range strings.Split(r.p.stderr.String(), "\n") {
			var rec struct {
				Msg   string `json:"msg"`
				JobID string `json:"job_id"`
			}
			if json.Unmarshal([]byte(line), &rec) == nil && rec.Msg == "job started" {
				started[i][rec.JobID]++
			}
		}
	}
	for id := range ids {
		if a, b := started[0][id], started[1][id]; a+b != 1 {
			t.Errorf("job %s started %d times in process 1 and %d in process 2, want once in all", id, a, b)
		}
	}
	if len(started[0]) == 0 || len(started[1]) == 0 {
		t.Errorf("jobs started per process: %d and %d; want both to share the queue", len(started[0]), len(started[1]))
	}
	t.Logf("jobs run per process: %d and %d", len(started[0]), len(started[1]))

	stream, err := nc.JS.Stream(t.Context(), "CLIPMESH_JOBS")
	if err != nil {
		t.Fatal(err)
	}
	info, err := stream.Info(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Msgs != 0 {
		t.Errorf("%d messages left in the work queue, want 0", info.State.Msgs)
	}
}
