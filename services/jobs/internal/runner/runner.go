// Package runner runs jobs from a NATS JetStream work queue: a submitted job
// is stored, then queued; a worker acks its message only after the job's
// final state is stored, so a worker killed mid-job leaves the message to
// be redelivered and the job to be run again.
package runner

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	commonv1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/common/v1"
	jobsv1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/jobs/v1"
	"github.com/clipmesh/clipmesh/platform/auth"
	"github.com/clipmesh/clipmesh/platform/natsx"
	"github.com/clipmesh/clipmesh/services/jobs/internal/jobstore"
	"github.com/clipmesh/clipmesh/services/jobs/internal/pipeline"
)

// NATS names of the jobs service.
const (
	StreamName      = "CLIPMESH_JOBS"
	ConsumerName    = "jobs-workers"
	WorkSubject     = "clipmesh.jobs.v1.work"
	ProgressSubject = "clipmesh.jobs.v1.progress"
	CancelSubject   = "clipmesh.jobs.v1.cancel"
)

// Runner queues and runs jobs.
type Runner struct {
	Store       *jobstore.Store
	Pipeline    *pipeline.Pipeline
	NC          *nats.Conn
	JS          jetstream.JetStream
	Concurrency int
	Logger      *slog.Logger

	mu      sync.Mutex
	running map[string]context.CancelFunc
}

// Setup creates the work-queue stream and the shared durable consumer
// (idempotent; every replica calls it).
func (r *Runner) Setup(ctx context.Context) error {
	_, err := r.JS.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name: StreamName, Subjects: []string{WorkSubject + ".>"},
		Retention: jetstream.WorkQueuePolicy, Storage: jetstream.FileStorage,
		Duplicates: 10 * time.Minute,
	})
	if err != nil {
		return fmt.Errorf("runner: create stream: %w", err)
	}
	_, err = r.JS.CreateOrUpdateConsumer(ctx, StreamName, jetstream.ConsumerConfig{
		Durable: ConsumerName, AckPolicy: jetstream.AckExplicitPolicy,
		AckWait: 45 * time.Second, MaxAckPending: 10000,
	})
	if err != nil {
		return fmt.Errorf("runner: create consumer: %w", err)
	}
	return nil
}

func priorityToken(p jobsv1.Priority) string {
	switch p {
	case jobsv1.Priority_PRIORITY_HIGH:
		return "high"
	case jobsv1.Priority_PRIORITY_LOW:
		return "low"
	}
	return "normal"
}

// Enqueue puts a stored job on the work queue. The message id is the job
// id, so a repeated enqueue within the dedupe window is dropped.
func (r *Runner) Enqueue(ctx context.Context, tenant string, job *jobsv1.Job) error {
	subj := WorkSubject + "." + priorityToken(job.GetPriority())
	_, err := natsx.PublishJS(ctx, r.JS, subj, &jobsv1.JobQueued{JobId: job.GetId(), Tenant: tenant}, jetstream.WithMsgID(job.GetId()))
	if err != nil {
		return fmt.Errorf("runner: enqueue %s: %w", job.GetId(), err)
	}
	return nil
}

// Cancel stops a job: a queued job is marked cancelled (its message is
// dropped when a worker sees it), a running one is told to stop wherever it
// runs.
func (r *Runner) Cancel(ctx context.Context, tenant, id string) (*jobsv1.Job, error) {
	job, err := r.Store.Get(ctx, tenant, id)
	if err != nil {
		return nil, err
	}
	if jobstore.Final(job.GetState()) {
		return job, nil
	}
	if err := natsx.Publish(ctx, r.NC, CancelSubject+"."+id, &jobsv1.JobCancelRequested{JobId: id}); err != nil {
		return nil, fmt.Errorf("runner: publish cancel: %w", err)
	}
	job.State = jobsv1.JobState_JOB_STATE_CANCELLED
	job.Error = "cancelled by request"
	if err := r.Store.UpdateUnlessFinal(ctx, tenant, job); err != nil {
		if errors.Is(err, jobstore.ErrFinal) { // it finished meanwhile
			return r.Store.Get(ctx, tenant, id)
		}
		return nil, err
	}
	r.publish(ctx, job)
	return job, nil
}

// Start consumes the work queue with Concurrency workers until ctx is done.
func (r *Runner) Start(ctx context.Context) error {
	r.mu.Lock()
	r.running = map[string]context.CancelFunc{}
	r.mu.Unlock()
	sub, err := r.NC.Subscribe(CancelSubject+".*", func(m *nats.Msg) {
		id := strings.TrimPrefix(m.Subject, CancelSubject+".")
		r.mu.Lock()
		if cancel, ok := r.running[id]; ok {
			cancel()
		}
		r.mu.Unlock()
	})
	if err != nil {
		return fmt.Errorf("runner: subscribe cancel: %w", err)
	}
	defer func() { _ = sub.Unsubscribe() }()

	cons, err := r.JS.Consumer(ctx, StreamName, ConsumerName)
	if err != nil {
		return fmt.Errorf("runner: consumer: %w", err)
	}
	n := r.Concurrency
	if n <= 0 {
		n = 2
	}
	var wg sync.WaitGroup
	defer wg.Wait()
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.work(ctx, cons)
		}()
	}
	<-ctx.Done()
	return nil
}

// work fetches one message at a time, so a busy worker never holds work
// another could run.
func (r *Runner) work(ctx context.Context, cons jetstream.Consumer) {
	for ctx.Err() == nil {
		// The pull ends with ctx, so shutdown does not wait for an idle poll.
		fctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		batch, err := cons.Fetch(1, jetstream.FetchContext(fctx))
		if err != nil {
			cancel()
			if ctx.Err() == nil {
				r.Logger.WarnContext(ctx, "fetch work", "err", err)
				time.Sleep(time.Second)
			}
			continue
		}
		for msg := range batch.Messages() {
			r.handle(ctx, msg)
		}
		cancel()
	}
}

func (r *Runner) handle(ctx context.Context, msg jetstream.Msg) {
	var q jobsv1.JobQueued
	if err := proto.Unmarshal(msg.Data(), &q); err != nil {
		r.Logger.ErrorContext(ctx, "drop malformed work message", "err", err)
		_ = msg.Term()
		return
	}
	mctx := natsx.ContextFrom(ctx, msg.Headers())
	job, err := r.Store.Get(mctx, q.GetTenant(), q.GetJobId())
	if errors.Is(err, jobstore.ErrNotFound) {
		_ = msg.Term()
		return
	}
	if err != nil {
		r.Logger.ErrorContext(mctx, "load job", "job_id", q.GetJobId(), "err", err)
		_ = msg.NakWithDelay(5 * time.Second)
		return
	}
	if jobstore.Final(job.GetState()) {
		_ = msg.Ack()
		return
	}
	jobCtx, cancel := context.WithCancel(auth.WithPrincipal(mctx, auth.Principal{Tenant: q.GetTenant(), Subject: "job:" + job.GetId(), Role: auth.RoleEditor}))
	defer cancel()
	r.mu.Lock()
	r.running[job.GetId()] = cancel
	r.mu.Unlock()
	defer func() {
		r.mu.Lock()
		delete(r.running, job.GetId())
		r.mu.Unlock()
	}()
	// Keep the message ours while the job runs longer than AckWait.
	go func() {
		t := time.NewTicker(15 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-jobCtx.Done():
				return
			case <-t.C:
				_ = msg.InProgress()
			}
		}
	}()

	job.Attempts++
	job.State = jobsv1.JobState_JOB_STATE_RUNNING
	job.Error = ""
	if err := r.Store.UpdateUnlessFinal(mctx, q.GetTenant(), job); err != nil {
		if errors.Is(err, jobstore.ErrFinal) { // cancelled before it started
			_ = msg.Ack()
			return
		}
		r.Logger.ErrorContext(mctx, "mark running", "job_id", job.GetId(), "err", err)
		_ = msg.NakWithDelay(5 * time.Second)
		return
	}
	r.publish(mctx, job)
	log := r.Logger.With("job_id", job.GetId(), "video_id", job.GetVideoId())
	log.InfoContext(mctx, "job started", "attempt", job.GetAttempts())

	var last time.Time
	var lastStage string
	runErr := r.Pipeline.Run(jobCtx, q.GetTenant(), job, func(j *jobsv1.Job) {
		// Stage changes are stored at once; fine-grained progress at most
		// a few times a second.
		stage := j.GetProgress().GetStage() + j.GetProgress().GetMessage()
		if time.Since(last) < 250*time.Millisecond && stage == lastStage {
			return
		}
		last, lastStage = time.Now(), stage
		snapshot := proto.Clone(j).(*jobsv1.Job)
		if err := r.Store.UpdateUnlessFinal(mctx, q.GetTenant(), snapshot); err != nil {
			if errors.Is(err, jobstore.ErrFinal) {
				cancel() // cancelled meanwhile, perhaps from another replica
				return
			}
			log.WarnContext(mctx, "store progress", "err", err)
		}
		r.publish(mctx, snapshot)
	})

	switch {
	case ctx.Err() != nil:
		// This worker is shutting down: leave the job to another.
		job.State = jobsv1.JobState_JOB_STATE_QUEUED
		_ = r.Store.UpdateUnlessFinal(context.WithoutCancel(mctx), q.GetTenant(), job)
		_ = msg.Nak()
		log.InfoContext(mctx, "job handed back on shutdown")
		return
	case errors.Is(runErr, context.Canceled):
		job.State, job.Error = jobsv1.JobState_JOB_STATE_CANCELLED, "cancelled by request"
	case runErr != nil:
		job.State, job.Error = jobsv1.JobState_JOB_STATE_FAILED, runErr.Error()
	default:
		job.State = jobsv1.JobState_JOB_STATE_SUCCEEDED
		job.Progress = &commonv1.Progress{Stage: "done", Fraction: 1, Message: "done", UpdateTime: timestamppb.Now()}
	}
	if err := r.Store.UpdateUnlessFinal(mctx, q.GetTenant(), job); err != nil {
		if errors.Is(err, jobstore.ErrFinal) {
			// Cancelled while running: the stored cancellation stands.
			_ = msg.Ack()
			log.InfoContext(mctx, "job was cancelled while running")
			return
		}
		log.ErrorContext(mctx, "store final state", "err", err)
		_ = msg.NakWithDelay(5 * time.Second)
		return
	}
	if err := msg.Ack(); err != nil {
		log.WarnContext(mctx, "ack", "err", err)
	}
	r.publish(mctx, job)
	log.InfoContext(mctx, "job finished", "state", job.GetState().String(), "err", job.GetError())
}

// publish announces a job change on NATS for watchers on every replica.
func (r *Runner) publish(ctx context.Context, job *jobsv1.Job) {
	slim := proto.Clone(job).(*jobsv1.Job)
	slim.Result = nil
	if err := natsx.Publish(ctx, r.NC, ProgressSubject+"."+job.GetId(), &jobsv1.JobProgressed{Job: slim}); err != nil {
		r.Logger.WarnContext(ctx, "publish progress", "job_id", job.GetId(), "err", err)
	}
}
