// Package runner runs jobs from a NATS JetStream work queue: a submitted job
// is stored, then queued; a worker acks its message only after the job's
// final state is stored, so a worker killed mid-job leaves the message to
// be redelivered and the job to be run again.
//
// Priorities: each priority has its own durable pull consumer (filtered on
// its subject), and a free worker always asks high, then normal, then low,
// so a high-priority job waits only for a free worker, never behind queued
// normal ones.
//
// Retries: a job whose run fails with a retryable error goes back to the
// queue with an exponential delay; after MaxAttempts runs (counted in the
// stored job, so runs lost with a killed worker count too) it goes to
// JOB_STATE_DEAD_LETTER with its last error.
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
	"github.com/clipmesh/clipmesh/services/jobs/internal/callback"
	"github.com/clipmesh/clipmesh/services/jobs/internal/jobstore"
	"github.com/clipmesh/clipmesh/services/jobs/internal/pipeline"
)

// NATS names of the jobs service.
const (
	StreamName = "CLIPMESH_JOBS"
	// ConsumerName prefixes the durable consumers, one per priority:
	// jobs-workers-high, jobs-workers-normal, jobs-workers-low.
	ConsumerName    = "jobs-workers"
	WorkSubject     = "clipmesh.jobs.v1.work"
	ProgressSubject = "clipmesh.jobs.v1.progress"
	CancelSubject   = "clipmesh.jobs.v1.cancel"
)

// Defaults of the Runner's tunables.
const (
	DefaultMaxAttempts  = 5
	DefaultRetryBackoff = 10 * time.Second
	DefaultMaxBackoff   = 10 * time.Minute
	DefaultAckWait      = 45 * time.Second
	DefaultPollInterval = time.Second
)

// Executor runs one job: *pipeline.Pipeline in production. It returns an
// error only when the job as a whole fails (or is cancelled); failed stages
// are recorded in the job.
type Executor interface {
	Run(ctx context.Context, tenant string, job *jobsv1.Job, report pipeline.Reporter) error
}

// Runner queues and runs jobs.
type Runner struct {
	Store       *jobstore.Store
	Pipeline    Executor
	NC          *nats.Conn
	JS          jetstream.JetStream
	Concurrency int
	Logger      *slog.Logger

	// MaxAttempts is how many times a job runs before it is dead-lettered
	// (default DefaultMaxAttempts).
	MaxAttempts int
	// RetryBackoff is the delay before the first retry; each further retry
	// waits twice as long, up to MaxBackoff (defaults DefaultRetryBackoff,
	// DefaultMaxBackoff).
	RetryBackoff, MaxBackoff time.Duration
	// AckWait is how long a message stays with a worker that stops
	// answering before it is redelivered (default DefaultAckWait); a live
	// worker extends it every AckWait/3.
	AckWait time.Duration
	// PollInterval is how often an idle worker looks for redelivered work
	// (new work wakes it at once; default DefaultPollInterval).
	PollInterval time.Duration

	// Callbacks posts finished jobs to their callback URL (nil: never).
	Callbacks *callback.Sender
	// CallbackAttempts is how many times a callback is tried before it is
	// given up (default DefaultCallbackAttempts); CallbackBackoff the delay
	// after the first failure, doubled after each further one (default
	// DefaultCallbackBackoff).
	CallbackAttempts int
	CallbackBackoff  time.Duration

	mu      sync.Mutex
	running map[string]context.CancelFunc
}

// priorities are the queue levels, in the order workers take them.
var priorities = []string{"high", "normal", "low"}

func (r *Runner) maxAttempts() int {
	if r.MaxAttempts > 0 {
		return r.MaxAttempts
	}
	return DefaultMaxAttempts
}

func (r *Runner) ackWait() time.Duration {
	if r.AckWait > 0 {
		return r.AckWait
	}
	return DefaultAckWait
}

func (r *Runner) pollInterval() time.Duration {
	if r.PollInterval > 0 {
		return r.PollInterval
	}
	return DefaultPollInterval
}

// Backoff is the delay before the retry that follows the attempt-th run:
// RetryBackoff doubled attempt-1 times, at most MaxBackoff.
func (r *Runner) Backoff(attempt int) time.Duration {
	base, ceiling := r.RetryBackoff, r.MaxBackoff
	if base <= 0 {
		base = DefaultRetryBackoff
	}
	if ceiling <= 0 {
		ceiling = DefaultMaxBackoff
	}
	d := base
	for i := 1; i < attempt && d < ceiling; i++ {
		d *= 2
	}
	return min(d, ceiling)
}

// Setup creates the work-queue stream and the shared durable consumers, one
// per priority (idempotent; every replica calls it). The single unfiltered
// consumer of earlier versions is removed: a work-queue stream refuses
// consumers whose subjects overlap, and its unacked messages go to the new
// consumers.
func (r *Runner) Setup(ctx context.Context) error {
	_, err := r.JS.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name: StreamName, Subjects: []string{WorkSubject + ".>"},
		Retention: jetstream.WorkQueuePolicy, Storage: jetstream.FileStorage,
		Duplicates: 10 * time.Minute,
	})
	if err != nil {
		return fmt.Errorf("runner: create stream: %w", err)
	}
	if err := r.JS.DeleteConsumer(ctx, StreamName, ConsumerName); err != nil && !errors.Is(err, jetstream.ErrConsumerNotFound) {
		return fmt.Errorf("runner: remove unfiltered consumer: %w", err)
	}
	for _, p := range priorities {
		// No MaxDeliver: attempts are counted in the stored job, so a
		// hand-back on shutdown is not an attempt and a message is never
		// left stranded in the stream (see handle).
		_, err = r.JS.CreateOrUpdateConsumer(ctx, StreamName, jetstream.ConsumerConfig{
			Durable: consumerName(p), FilterSubject: WorkSubject + "." + p,
			AckPolicy: jetstream.AckExplicitPolicy, AckWait: r.ackWait(), MaxAckPending: 10000,
		})
		if err != nil {
			return fmt.Errorf("runner: create consumer %s: %w", consumerName(p), err)
		}
	}
	return r.setupCallbacks(ctx)
}

func consumerName(priority string) string { return ConsumerName + "-" + priority }

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

	var conss []jetstream.Consumer
	for _, p := range priorities {
		cons, err := r.JS.Consumer(ctx, StreamName, consumerName(p))
		if err != nil {
			return fmt.Errorf("runner: consumer %s: %w", consumerName(p), err)
		}
		conss = append(conss, cons)
	}
	n := r.Concurrency
	if n <= 0 {
		n = 2
	}
	// Every publish on the work subjects wakes an idle worker at once;
	// redeliveries (retries, lost workers) are found by polling.
	wake := make(chan struct{}, n)
	wsub, err := r.NC.Subscribe(WorkSubject+".>", func(*nats.Msg) {
		select {
		case wake <- struct{}{}:
		default:
		}
	})
	if err != nil {
		return fmt.Errorf("runner: subscribe work: %w", err)
	}
	defer func() { _ = wsub.Unsubscribe() }()
	var wg sync.WaitGroup
	defer wg.Wait()
	if r.Callbacks != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.runCallbacks(ctx)
		}()
	}
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.work(ctx, conss, wake)
		}()
	}
	<-ctx.Done()
	return nil
}

// work takes one message at a time, so a busy worker never holds work
// another could run, and always the most urgent one queued.
func (r *Runner) work(ctx context.Context, conss []jetstream.Consumer, wake <-chan struct{}) {
	t := time.NewTimer(0)
	defer t.Stop()
	for ctx.Err() == nil {
		if msg := r.next(ctx, conss); msg != nil {
			r.handle(ctx, msg)
			continue
		}
		t.Reset(r.pollInterval())
		select {
		case <-ctx.Done():
			return
		case <-wake:
		case <-t.C:
		}
	}
}

// next returns the first message queued at the highest priority level, or
// nil when every level is empty.
func (r *Runner) next(ctx context.Context, conss []jetstream.Consumer) jetstream.Msg {
	for _, cons := range conss {
		batch, err := cons.FetchNoWait(1)
		if err != nil {
			if ctx.Err() == nil {
				r.Logger.WarnContext(ctx, "fetch work", "err", err)
			}
			continue
		}
		if msg, ok := <-batch.Messages(); ok {
			return msg
		}
		if err := batch.Error(); err != nil && !errors.Is(err, jetstream.ErrNoMessages) && ctx.Err() == nil {
			r.Logger.WarnContext(ctx, "fetch work", "err", err)
		}
	}
	return nil
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
		r.ackFinal(mctx, msg, q.GetTenant(), job.GetId(), false)
		return
	}
	log := r.Logger.With("job_id", job.GetId(), "video_id", job.GetVideoId())
	if int(job.GetAttempts()) >= r.maxAttempts() {
		// Its last run never finished: the worker running it was lost.
		r.deadLetter(mctx, msg, q.GetTenant(), job, "worker lost during the last attempt")
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
	natsx.KeepInProgress(jobCtx, msg, r.ackWait()/3)

	job.Attempts++
	job.State = jobsv1.JobState_JOB_STATE_RUNNING
	job.Error = ""
	if err := r.Store.UpdateUnlessFinal(mctx, q.GetTenant(), job); err != nil {
		if errors.Is(err, jobstore.ErrFinal) { // cancelled before it started
			r.ackFinal(mctx, msg, q.GetTenant(), job.GetId(), false)
			return
		}
		r.Logger.ErrorContext(mctx, "mark running", "job_id", job.GetId(), "err", err)
		_ = msg.NakWithDelay(5 * time.Second)
		return
	}
	r.publish(mctx, job)
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
		// The interrupted run is not an attempt.
		job.State = jobsv1.JobState_JOB_STATE_QUEUED
		job.Attempts--
		_ = r.Store.UpdateUnlessFinal(context.WithoutCancel(mctx), q.GetTenant(), job)
		_ = msg.Nak()
		log.InfoContext(mctx, "job handed back on shutdown")
		return
	case errors.Is(runErr, context.Canceled):
		job.State, job.Error = jobsv1.JobState_JOB_STATE_CANCELLED, "cancelled by request"
	case runErr != nil && !pipeline.Retryable(runErr):
		job.State, job.Error = jobsv1.JobState_JOB_STATE_FAILED, runErr.Error()
	case runErr != nil && int(job.GetAttempts()) >= r.maxAttempts():
		r.deadLetter(mctx, msg, q.GetTenant(), job, runErr.Error())
		return
	case runErr != nil:
		delay := r.Backoff(int(job.GetAttempts()))
		job.State, job.Error = jobsv1.JobState_JOB_STATE_QUEUED, runErr.Error()
		job.Progress = &commonv1.Progress{Stage: "retry", Fraction: job.GetProgress().GetFraction(), UpdateTime: timestamppb.Now(),
			Message: fmt.Sprintf("attempt %d of %d failed, retrying in %s: %v", job.GetAttempts(), r.maxAttempts(), delay, runErr)}
		if err := r.Store.UpdateUnlessFinal(mctx, q.GetTenant(), job); err != nil {
			if errors.Is(err, jobstore.ErrFinal) {
				r.ackFinal(mctx, msg, q.GetTenant(), job.GetId(), false)
				return
			}
			log.ErrorContext(mctx, "store retry", "err", err)
		}
		if err := msg.NakWithDelay(delay); err != nil {
			log.WarnContext(mctx, "nak for retry", "err", err)
		}
		r.publish(mctx, job)
		log.WarnContext(mctx, "job failed, will retry", "attempt", job.GetAttempts(), "delay", delay, "err", runErr)
		return
	default:
		job.State = jobsv1.JobState_JOB_STATE_SUCCEEDED
		job.Progress = &commonv1.Progress{Stage: "done", Fraction: 1, Message: "done", UpdateTime: timestamppb.Now()}
	}
	if err := r.Store.UpdateUnlessFinal(mctx, q.GetTenant(), job); err != nil {
		if errors.Is(err, jobstore.ErrFinal) {
			// Cancelled while running: the stored cancellation stands.
			r.ackFinal(mctx, msg, q.GetTenant(), job.GetId(), false)
			log.InfoContext(mctx, "job was cancelled while running")
			return
		}
		log.ErrorContext(mctx, "store final state", "err", err)
		_ = msg.NakWithDelay(5 * time.Second)
		return
	}
	r.publish(mctx, job)
	r.ackFinal(mctx, msg, q.GetTenant(), job.GetId(), false)
	log.InfoContext(mctx, "job finished", "state", job.GetState().String(), "err", job.GetError())
}

// ackFinal settles the message of a job whose final state is stored: it
// queues the job's callback, then acks the message (or terminates it, for
// a dead letter). If the callback cannot be queued the message comes back
// later, to try again.
func (r *Runner) ackFinal(ctx context.Context, msg jetstream.Msg, tenant, id string, term bool) {
	if err := r.queueCallback(ctx, tenant, id); err != nil {
		r.Logger.ErrorContext(ctx, "queue callback", "job_id", id, "err", err)
		_ = msg.NakWithDelay(5 * time.Second)
		return
	}
	settle := msg.Ack
	if term {
		settle = msg.Term
	}
	if err := settle(); err != nil {
		r.Logger.WarnContext(ctx, "ack", "job_id", id, "err", err)
	}
}

// deadLetter gives up on a job: its state becomes JOB_STATE_DEAD_LETTER
// with reason as its error, and its message is terminated.
func (r *Runner) deadLetter(ctx context.Context, msg jetstream.Msg, tenant string, job *jobsv1.Job, reason string) {
	job.State = jobsv1.JobState_JOB_STATE_DEAD_LETTER
	job.Error = fmt.Sprintf("gave up after %d attempts: %s", job.GetAttempts(), reason)
	job.Progress = &commonv1.Progress{Stage: "dead_letter", Fraction: job.GetProgress().GetFraction(), Message: job.Error, UpdateTime: timestamppb.Now()}
	if err := r.Store.UpdateUnlessFinal(ctx, tenant, job); err != nil && !errors.Is(err, jobstore.ErrFinal) {
		r.Logger.ErrorContext(ctx, "store dead letter", "job_id", job.GetId(), "err", err)
		_ = msg.NakWithDelay(5 * time.Second)
		return
	}
	r.publish(ctx, job)
	r.ackFinal(ctx, msg, tenant, job.GetId(), true)
	r.Logger.ErrorContext(ctx, "job dead-lettered", "job_id", job.GetId(), "attempts", job.GetAttempts(), "err", job.Error)
}

// publish announces a job change on NATS for watchers on every replica.
func (r *Runner) publish(ctx context.Context, job *jobsv1.Job) {
	slim := proto.Clone(job).(*jobsv1.Job)
	slim.Result = nil
	if err := natsx.Publish(ctx, r.NC, ProgressSubject+"."+job.GetId(), &jobsv1.JobProgressed{Job: slim}); err != nil {
		r.Logger.WarnContext(ctx, "publish progress", "job_id", job.GetId(), "err", err)
	}
}
