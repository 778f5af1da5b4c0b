package runner_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"gocloud.dev/blob/memblob"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/proto"

	audiov1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/audio/v1"
	commonv1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/common/v1"
	jobsv1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/jobs/v1"
	visionv1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/vision/v1"
	"github.com/clipmesh/clipmesh/platform/natsx"
	"github.com/clipmesh/clipmesh/platform/store"
	"github.com/clipmesh/clipmesh/services/jobs/internal/catalog"
	"github.com/clipmesh/clipmesh/services/jobs/internal/jobstore"
	"github.com/clipmesh/clipmesh/services/jobs/internal/media"
	"github.com/clipmesh/clipmesh/services/jobs/internal/pipeline"
	"github.com/clipmesh/clipmesh/services/jobs/internal/runner"
)

// Environment of a worker subprocess (see TestMain).
const (
	envWorker = "JOBS_TEST_WORKER"
	envNATS   = "JOBS_TEST_NATS_URL"
	envDB     = "JOBS_TEST_DB"
	envVision = "JOBS_TEST_VISION_ADDR"
)

// killTestAckWait is how long a killed worker's job waits to be redelivered.
const killTestAckWait = 2 * time.Second

// TestMain runs the test binary as a jobs queue worker when JOBS_TEST_WORKER
// is 1, so a test can run workers as processes and kill them.
func TestMain(m *testing.M) {
	if os.Getenv(envWorker) == "1" {
		if err := workerMain(); err != nil {
			fmt.Fprintln(os.Stderr, "worker:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// workerMain is a jobs worker as cmd/jobs wires it, over the NATS, the
// SQLite file and the vision service the environment names, until SIGTERM.
func workerMain() error {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	logger := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	nc, err := natsx.Connect(ctx, natsx.Options{URL: os.Getenv(envNATS), Name: "jobs-test-worker", Logger: logger})
	if err != nil {
		return err
	}
	defer func() { _ = nc.Close(context.Background()) }()
	db, err := store.Open(ctx, "sqlite://"+os.Getenv(envDB), "")
	if err != nil {
		return err
	}
	defer db.Close()
	cc, err := grpc.NewClient(os.Getenv(envVision), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return err
	}
	defer cc.Close()
	lib := &catalog.Library{DB: db.DB, Blob: memblob.OpenBucket(nil), TempDir: os.TempDir()}
	pl, err := pipeline.New(lib, func(string) (grpc.ClientConnInterface, error) { return cc, nil })
	if err != nil {
		return err
	}
	pl.Stages = &jobstore.Store{DB: db.DB}
	r := &runner.Runner{Store: &jobstore.Store{DB: db.DB}, Pipeline: pl, NC: nc.NC, JS: nc.JS,
		Concurrency: 1, Logger: logger, AckWait: killTestAckWait, PollInterval: 100 * time.Millisecond}
	if err := r.Setup(ctx); err != nil {
		return err
	}
	return r.Start(ctx)
}

// slowVision streams progress for a few seconds before its result.
type slowVision struct {
	visionv1.UnimplementedVisionServiceServer
	calls, results atomic.Int32
	called         chan struct{}
}

func (v *slowVision) AnalyzeVideo(_ *visionv1.AnalyzeVideoRequest, st grpc.ServerStreamingServer[visionv1.AnalyzeVideoResponse]) error {
	v.calls.Add(1)
	select {
	case v.called <- struct{}{}:
	default:
	}
	for i := 1; i <= 20; i++ {
		select {
		case <-st.Context().Done():
			return st.Context().Err()
		case <-time.After(100 * time.Millisecond):
		}
		if err := st.Send(&visionv1.AnalyzeVideoResponse{Event: &visionv1.AnalyzeVideoResponse_Progress{
			Progress: &commonv1.Progress{Fraction: float64(i) / 21}}}); err != nil {
			return err
		}
	}
	if err := st.Send(&visionv1.AnalyzeVideoResponse{Event: &visionv1.AnalyzeVideoResponse_Result{Result: &visionv1.VisionResult{
		Producer: &commonv1.Producer{Engine: "slow-vision", Version: "1"}}}}); err != nil {
		return err
	}
	v.results.Add(1)
	return nil
}

// quickAudio answers AnalyzeAudio at once, counting its calls.
type quickAudio struct {
	audiov1.UnimplementedAudioServiceServer
	calls atomic.Int32
}

func (a *quickAudio) AnalyzeAudio(_ *audiov1.AnalyzeAudioRequest, st grpc.ServerStreamingServer[audiov1.AnalyzeAudioResponse]) error {
	a.calls.Add(1)
	return st.Send(&audiov1.AnalyzeAudioResponse{Event: &audiov1.AnalyzeAudioResponse_Result{Result: &audiov1.AudioResult{
		Producer: &commonv1.Producer{Engine: "quick-audio"}, HasAudio: true}}})
}

// lockedBuffer is a bytes.Buffer safe for a process's output.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// TestWorkerKilledMidJob kills a worker process with SIGKILL while its job
// runs; another worker process gets the job after the ack wait and
// completes it, once, resuming after the stage the first one finished
// (audio is not called again).
func TestWorkerKilledMidJob(t *testing.T) {
	if testing.Short() {
		t.Skip("runs worker processes; skipped with -short")
	}
	t.Parallel()
	ctx := t.Context()
	logger := slog.New(slog.DiscardHandler)
	nc, err := natsx.Connect(ctx, natsx.Options{StoreDir: t.TempDir(), ListenAddr: "127.0.0.1:0", Name: "kill-test", Logger: logger})
	if err != nil {
		t.Fatalf("natsx.Connect: %v", err)
	}
	t.Cleanup(func() { _ = nc.Close(context.Background()) })

	dbPath := filepath.Join(t.TempDir(), "jobs.db")
	db, err := store.Open(ctx, "sqlite://"+dbPath, "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	const videoID = "vid_0123456789abcdef0123456789abcdef"
	probe, _ := json.Marshal(media.Info{DurationSeconds: 12, Engine: "ffprobe", Video: &media.VideoStream{Codec: "h264", Width: 320, Height: 240, FPS: 25},
		Audio: &media.AudioStream{Codec: "aac", Channels: 1, SampleRate: 48000}})
	if _, err := db.ExecContext(ctx, `INSERT INTO videos (tenant, id, filename, content_type, size_bytes, sha256, blob_key, probe_json, created_at)
		VALUES ($1, $2, 'v.mp4', 'video/mp4', 1, 'x', 'videos/x', $3, 1)`, tenant, videoID, string(probe)); err != nil {
		t.Fatal(err)
	}

	vision := &slowVision{called: make(chan struct{}, 1)}
	audio := &quickAudio{}
	gs := grpc.NewServer()
	visionv1.RegisterVisionServiceServer(gs, vision)
	audiov1.RegisterAudioServiceServer(gs, audio)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = gs.Serve(lis) }()
	t.Cleanup(gs.Stop)

	var succeeded atomic.Int32
	sub, err := nc.NC.Subscribe(runner.ProgressSubject+".*", func(m *nats.Msg) {
		var ev jobsv1.JobProgressed
		if proto.Unmarshal(m.Data, &ev) == nil && ev.GetJob().GetState() == jobsv1.JobState_JOB_STATE_SUCCEEDED {
			succeeded.Add(1)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sub.Unsubscribe() })

	jobs := &jobstore.Store{DB: db.DB}
	r := &runner.Runner{Store: jobs, NC: nc.NC, JS: nc.JS, Logger: logger, AckWait: killTestAckWait}
	if err := r.Setup(ctx); err != nil {
		t.Fatal(err)
	}
	job, _, err := jobs.Create(ctx, tenant, &jobsv1.Job{Id: "job_killed", VideoId: videoID, State: jobsv1.JobState_JOB_STATE_QUEUED}, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Enqueue(ctx, tenant, job); err != nil {
		t.Fatal(err)
	}

	startWorker := func(name string) *exec.Cmd {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), envWorker+"=1", envNATS+"="+nc.ClientURL(), envDB+"="+dbPath, envVision+"="+lis.Addr().String())
		out := &lockedBuffer{}
		cmd.Stdout, cmd.Stderr = out, out
		if err := cmd.Start(); err != nil {
			t.Fatalf("start %s: %v", name, err)
		}
		exited := make(chan struct{})
		go func() { _ = cmd.Wait(); close(exited) }()
		t.Cleanup(func() {
			_ = cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-exited:
			case <-time.After(15 * time.Second):
				_ = cmd.Process.Kill()
				<-exited
			}
			if t.Failed() {
				t.Logf("%s output:\n%s", name, out.String())
			}
		})
		return cmd
	}

	first := startWorker("worker 1")
	select {
	case <-vision.called:
	case <-time.After(30 * time.Second):
		t.Fatal("worker 1 never reached the vision stage")
	}
	time.Sleep(300 * time.Millisecond) // a little progress
	for deadline := time.Now().Add(30 * time.Second); ; {
		saved, err := jobs.Stages(ctx, tenant, job.GetId())
		if err != nil {
			t.Fatal(err)
		}
		if saved["audio"].State == jobsv1.StageState_STAGE_STATE_DONE {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the audio stage was never stored: %v", saved)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := first.Process.Kill(); err != nil {
		t.Fatalf("kill worker 1: %v", err)
	}
	if got, err := jobs.Get(ctx, tenant, job.GetId()); err != nil || got.GetState() != jobsv1.JobState_JOB_STATE_RUNNING {
		t.Fatalf("after the kill: job %v, %v; want it RUNNING", got.GetState(), err)
	}
	startWorker("worker 2")

	deadline := time.Now().Add(60 * time.Second)
	var got *jobsv1.Job
	for {
		if got, err = jobs.Get(ctx, tenant, job.GetId()); err != nil {
			t.Fatal(err)
		}
		if jobstore.Final(got.GetState()) || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if got.GetState() != jobsv1.JobState_JOB_STATE_SUCCEEDED || got.GetAttempts() != 2 {
		t.Fatalf("job = %s after %d attempts (error %q), want SUCCEEDED after 2", got.GetState(), got.GetAttempts(), got.GetError())
	}
	if e := got.GetResult().GetVision().GetProducer().GetEngine(); e != "slow-vision" {
		t.Errorf("stored vision result engine = %q, want slow-vision", e)
	}

	// Long enough for any stray redelivery to have run.
	time.Sleep(2 * killTestAckWait)
	if n := succeeded.Load(); n != 1 {
		t.Errorf("success announced %d times, want 1", n)
	}
	if c, res := vision.calls.Load(), vision.results.Load(); c != 2 || res != 1 {
		t.Errorf("vision called %d times with %d results, want 2 calls (one killed) and 1 result", c, res)
	}
	if c := audio.calls.Load(); c != 1 {
		t.Errorf("audio called %d times, want once (the second worker resumes after it)", c)
	}
	if e := got.GetResult().GetAudio().GetProducer().GetEngine(); e != "quick-audio" {
		t.Errorf("stored audio result engine = %q, want the first run's quick-audio", e)
	}
	stream, err := nc.JS.Stream(ctx, runner.StreamName)
	if err != nil {
		t.Fatal(err)
	}
	info, err := stream.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Msgs != 0 {
		t.Errorf("%d messages left in the work queue, want 0", info.State.Msgs)
	}
}
