package runner_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go/jetstream"
	"gocloud.dev/blob/memblob"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	jobsv1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/jobs/v1"
	"github.com/clipmesh/clipmesh/platform/natsx"
	"github.com/clipmesh/clipmesh/platform/store"
	"github.com/clipmesh/clipmesh/platform/store/storetest"
	"github.com/clipmesh/clipmesh/services/jobs/internal/catalog"
	"github.com/clipmesh/clipmesh/services/jobs/internal/jobstore"
	"github.com/clipmesh/clipmesh/services/jobs/internal/pipeline"
	"github.com/clipmesh/clipmesh/services/jobs/internal/runner"
)

const tenant = "acme"

// execFunc is an Executor made of a function.
type execFunc func(ctx context.Context, tenant string, job *jobsv1.Job, report pipeline.Reporter) error

func (f execFunc) Run(ctx context.Context, tenant string, job *jobsv1.Job, report pipeline.Reporter) error {
	return f(ctx, tenant, job, report)
}

// testRunner is a runner on embedded NATS JetStream and a SQLite store,
// with fast retries and polling.
type testRunner struct {
	*runner.Runner
	db *store.DB
}

func newTestRunner(t *testing.T, exec runner.Executor, workers int) *testRunner {
	t.Helper()
	logger := slog.New(slog.DiscardHandler)
	nc, err := natsx.Connect(t.Context(), natsx.Options{StoreDir: t.TempDir(), Name: "runner-test", Logger: logger})
	if err != nil {
		t.Fatalf("natsx.Connect: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = nc.Close(ctx)
	})
	db := storetest.SQLite(t)
	r := &runner.Runner{
		Store: &jobstore.Store{DB: db.DB}, Pipeline: exec, NC: nc.NC, JS: nc.JS,
		Concurrency: workers, Logger: logger,
		MaxAttempts: 3, RetryBackoff: 20 * time.Millisecond, MaxBackoff: 100 * time.Millisecond,
		PollInterval: 20 * time.Millisecond,
	}
	if err := r.Setup(t.Context()); err != nil {
		t.Fatalf("Setup: %v", err)
	}
	return &testRunner{Runner: r, db: db}
}

// start runs the workers until the test ends.
func (tr *testRunner) start(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := tr.Start(ctx); err != nil {
			t.Errorf("Start: %v", err)
		}
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
}

// submit stores and queues a job.
func (tr *testRunner) submit(t *testing.T, job *jobsv1.Job) *jobsv1.Job {
	t.Helper()
	if job.Id == "" {
		job.Id = "job_" + strings.ReplaceAll(uuid.NewString(), "-", "")
	}
	if job.VideoId == "" {
		job.VideoId = "vid_0123456789abcdef0123456789abcdef"
	}
	job.State = jobsv1.JobState_JOB_STATE_QUEUED
	job, _, err := tr.Store.Create(t.Context(), tenant, job, "")
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	if err := tr.Enqueue(t.Context(), tenant, job); err != nil {
		t.Fatalf("Enqueue: %v", err)
	}
	return job
}

// waitFinal polls the store until the job is final.
func (tr *testRunner) waitFinal(t *testing.T, id string) *jobsv1.Job {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		job, err := tr.Store.Get(t.Context(), tenant, id)
		if err != nil {
			t.Fatalf("Get: %v", err)
		}
		if jobstore.Final(job.GetState()) {
			return job
		}
		if time.Now().After(deadline) {
			t.Fatalf("job %s not final after 30s: %v", id, job)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestBackoff(t *testing.T) {
	t.Parallel()
	r := &runner.Runner{RetryBackoff: time.Second, MaxBackoff: 10 * time.Second}
	for attempt, want := range map[int]time.Duration{1: time.Second, 2: 2 * time.Second, 3: 4 * time.Second, 4: 8 * time.Second, 5: 10 * time.Second, 40: 10 * time.Second} {
		if got := r.Backoff(attempt); got != want {
			t.Errorf("Backoff(%d) = %s, want %s", attempt, got, want)
		}
	}
	if got := (&runner.Runner{}).Backoff(1); got != runner.DefaultRetryBackoff {
		t.Errorf("default Backoff(1) = %s, want %s", got, runner.DefaultRetryBackoff)
	}
}

// TestHighPriorityStartsNext queues 100 normal jobs and one high one behind
// them while the only worker is busy: the high one runs next.
func TestHighPriorityStartsNext(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var started []string
	release := make(chan struct{})
	first := make(chan struct{})
	tr := newTestRunner(t, execFunc(func(ctx context.Context, _ string, job *jobsv1.Job, _ pipeline.Reporter) error {
		mu.Lock()
		started = append(started, job.GetId())
		n := len(started)
		mu.Unlock()
		if n == 1 {
			close(first)
			<-release
		}
		return nil
	}), 1)
	tr.start(t)

	var normal []string
	for i := range 100 {
		normal = append(normal, tr.submit(t, &jobsv1.Job{Id: fmt.Sprintf("job_normal_%03d", i), Priority: jobsv1.Priority_PRIORITY_NORMAL}).GetId())
		if i == 0 {
			<-first // the worker is now busy with the first one
		}
	}
	low := tr.submit(t, &jobsv1.Job{Id: "job_low", Priority: jobsv1.Priority_PRIORITY_LOW}).GetId()
	high := tr.submit(t, &jobsv1.Job{Id: "job_high", Priority: jobsv1.Priority_PRIORITY_HIGH}).GetId()
	close(release)
	tr.waitFinal(t, low)

	mu.Lock()
	defer mu.Unlock()
	if len(started) != 102 {
		t.Fatalf("%d jobs started, want 102", len(started))
	}
	if started[0] != normal[0] || started[1] != high {
		t.Errorf("first starts = %v, want [%s %s]", started[:2], normal[0], high)
	}
	if started[101] != low {
		t.Errorf("last start = %s, want the low-priority %s", started[101], low)
	}
	for i, id := range started[2:101] {
		if id != normal[i+1] {
			t.Fatalf("start %d = %s, want %s (normal jobs in order)", i+2, id, normal[i+1])
		}
	}
}

// TestSetupReplacesUnfilteredConsumer: a stream set up by an earlier
// version, with its one unfiltered consumer, takes the priority consumers,
// and a job queued then still runs.
func TestSetupReplacesUnfilteredConsumer(t *testing.T) {
	t.Parallel()
	ran := make(chan string, 1)
	tr := newTestRunner(t, execFunc(func(_ context.Context, _ string, job *jobsv1.Job, _ pipeline.Reporter) error {
		ran <- job.GetId()
		return nil
	}), 1)
	ctx := t.Context()
	for _, p := range []string{"high", "normal", "low"} {
		if err := tr.JS.DeleteConsumer(ctx, runner.StreamName, runner.ConsumerName+"-"+p); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := tr.JS.CreateOrUpdateConsumer(ctx, runner.StreamName, jetstream.ConsumerConfig{Durable: runner.ConsumerName, AckPolicy: jetstream.AckExplicitPolicy}); err != nil {
		t.Fatalf("create old consumer: %v", err)
	}
	job := tr.submit(t, &jobsv1.Job{})
	if err := tr.Setup(ctx); err != nil {
		t.Fatalf("Setup over the old consumer: %v", err)
	}
	if err := tr.Setup(ctx); err != nil {
		t.Fatalf("Setup again: %v", err)
	}
	tr.start(t)
	if got := tr.waitFinal(t, job.GetId()); got.GetState() != jobsv1.JobState_JOB_STATE_SUCCEEDED {
		t.Errorf("state = %s, want SUCCEEDED", got.GetState())
	}
	if id := <-ran; id != job.GetId() {
		t.Errorf("ran %s, want %s", id, job.GetId())
	}
}

func TestRetries(t *testing.T) {
	t.Parallel()
	errStore := errors.New("probe: database is locked")
	tests := []struct {
		name         string
		failures     int   // runs that fail before one succeeds
		err          error // what they fail with
		wantState    jobsv1.JobState
		wantAttempts int32
		wantError    string
	}{
		{"succeeds at once", 0, nil, jobsv1.JobState_JOB_STATE_SUCCEEDED, 1, ""},
		{"retried until it succeeds", 2, errStore, jobsv1.JobState_JOB_STATE_SUCCEEDED, 3, ""},
		{"dead letter after max attempts", 100, errStore, jobsv1.JobState_JOB_STATE_DEAD_LETTER, 3, "gave up after 3 attempts: probe: database is locked"},
		{"unknown video fails at once", 100, fmt.Errorf("probe: %w: vid_x", catalog.ErrNotFound), jobsv1.JobState_JOB_STATE_FAILED, 1, "probe: video not found: vid_x"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var mu sync.Mutex
			var runs []time.Time
			tr := newTestRunner(t, execFunc(func(_ context.Context, _ string, _ *jobsv1.Job, _ pipeline.Reporter) error {
				mu.Lock()
				defer mu.Unlock()
				runs = append(runs, time.Now())
				if len(runs) <= tc.failures {
					return tc.err
				}
				return nil
			}), 2)
			tr.start(t)
			job := tr.waitFinal(t, tr.submit(t, &jobsv1.Job{}).GetId())
			if job.GetState() != tc.wantState || job.GetAttempts() != tc.wantAttempts || job.GetError() != tc.wantError {
				t.Errorf("job = %s, attempts %d, error %q; want %s, %d, %q",
					job.GetState(), job.GetAttempts(), job.GetError(), tc.wantState, tc.wantAttempts, tc.wantError)
			}
			mu.Lock()
			defer mu.Unlock()
			if len(runs) != int(tc.wantAttempts) {
				t.Errorf("ran %d times, want %d", len(runs), tc.wantAttempts)
			}
			// Each retry waits at least its backoff (20 ms, then 40 ms).
			for i := 1; i < len(runs); i++ {
				if gap, min := runs[i].Sub(runs[i-1]), tr.Backoff(i); gap < min {
					t.Errorf("retry %d came after %s, want at least %s", i, gap, min)
				}
			}
		})
	}
}

// TestDeadLetterWithRealPipeline runs the real pipeline over a catalog
// whose database is gone: every probe fails with a store error, which is
// retried, then dead-lettered with that error on the job.
func TestDeadLetterWithRealPipeline(t *testing.T) {
	t.Parallel()
	catalogDB, err := store.Open(t.Context(), "", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if err := catalogDB.Close(); err != nil {
		t.Fatal(err)
	}
	pl := newRealPipeline(t, catalogDB)
	tr := newTestRunner(t, pl, 1)
	tr.start(t)
	job := tr.waitFinal(t, tr.submit(t, &jobsv1.Job{}).GetId())
	if job.GetState() != jobsv1.JobState_JOB_STATE_DEAD_LETTER || job.GetAttempts() != 3 {
		t.Errorf("job = %s after %d attempts, want DEAD_LETTER after 3", job.GetState(), job.GetAttempts())
	}
	if !strings.Contains(job.GetError(), "gave up after 3 attempts: probe:") || !strings.Contains(job.GetError(), "database is closed") {
		t.Errorf("error = %q, want the probe's store error", job.GetError())
	}
}

// TestUnknownVideoWithRealPipeline: the real pipeline's not-found is not
// retried.
func TestUnknownVideoWithRealPipeline(t *testing.T) {
	t.Parallel()
	tr := newTestRunner(t, newRealPipeline(t, storetest.SQLite(t)), 1)
	tr.start(t)
	job := tr.waitFinal(t, tr.submit(t, &jobsv1.Job{}).GetId())
	if job.GetState() != jobsv1.JobState_JOB_STATE_FAILED || job.GetAttempts() != 1 || !strings.Contains(job.GetError(), "video not found") {
		t.Errorf("job = %s, attempts %d, error %q; want FAILED after 1 with video not found", job.GetState(), job.GetAttempts(), job.GetError())
	}
}

// TestLostWorkersDeadLetter: a job whose every run was lost with its worker
// (attempts already at the maximum when it is delivered again) is
// dead-lettered without running again.
func TestLostWorkersDeadLetter(t *testing.T) {
	t.Parallel()
	ran := make(chan struct{}, 1)
	tr := newTestRunner(t, execFunc(func(context.Context, string, *jobsv1.Job, pipeline.Reporter) error {
		ran <- struct{}{}
		return nil
	}), 1)
	tr.start(t)
	job := tr.waitFinal(t, tr.submit(t, &jobsv1.Job{Attempts: 3}).GetId())
	if job.GetState() != jobsv1.JobState_JOB_STATE_DEAD_LETTER || job.GetAttempts() != 3 ||
		job.GetError() != "gave up after 3 attempts: worker lost during the last attempt" {
		t.Errorf("job = %s, attempts %d, error %q", job.GetState(), job.GetAttempts(), job.GetError())
	}
	select {
	case <-ran:
		t.Error("the job ran again")
	default:
	}
}

// newRealPipeline is the production pipeline over a catalog on db whose
// services cannot be reached.
func newRealPipeline(t *testing.T, db *store.DB) *pipeline.Pipeline {
	t.Helper()
	cc, err := grpc.NewClient("passthrough:///nowhere",
		grpc.WithContextDialer(func(context.Context, string) (net.Conn, error) { return nil, errors.New("no mesh in this test") }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cc.Close() })
	lib := &catalog.Library{DB: db.DB, Blob: memblob.OpenBucket(nil), TempDir: t.TempDir()}
	p, err := pipeline.New(lib, func(string) (grpc.ClientConnInterface, error) { return cc, nil })
	if err != nil {
		t.Fatal(err)
	}
	return p
}
