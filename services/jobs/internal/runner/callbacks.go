package runner

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	jobsv1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/jobs/v1"
	"github.com/clipmesh/clipmesh/platform/natsx"
	"github.com/clipmesh/clipmesh/services/jobs/internal/callback"
	"github.com/clipmesh/clipmesh/services/jobs/internal/jobstore"
)

// NATS names of callback delivery: a finished job with a callback URL is
// queued here (message id "callback-<job id>"), and delivered by whichever
// replica takes it, so a callback survives the replica that ran the job.
const (
	CallbackStream   = "CLIPMESH_JOB_CALLBACKS"
	CallbackSubject  = "clipmesh.jobs.v1.callback"
	CallbackConsumer = "jobs-callbacks"
)

// Defaults of callback delivery.
const (
	DefaultCallbackAttempts = 5
	DefaultCallbackBackoff  = 5 * time.Second
)

func (r *Runner) setupCallbacks(ctx context.Context) error {
	_, err := r.JS.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name: CallbackStream, Subjects: []string{CallbackSubject},
		Retention: jetstream.WorkQueuePolicy, Storage: jetstream.FileStorage,
		Duplicates: 10 * time.Minute,
	})
	if err != nil {
		return fmt.Errorf("runner: create callback stream: %w", err)
	}
	_, err = r.JS.CreateOrUpdateConsumer(ctx, CallbackStream, jetstream.ConsumerConfig{
		Durable: CallbackConsumer, AckPolicy: jetstream.AckExplicitPolicy,
		AckWait: 2 * time.Minute, MaxAckPending: 1000,
	})
	if err != nil {
		return fmt.Errorf("runner: create callback consumer: %w", err)
	}
	return nil
}

func (r *Runner) callbackAttempts() int {
	if r.CallbackAttempts > 0 {
		return r.CallbackAttempts
	}
	return DefaultCallbackAttempts
}

// CallbackBackoffFor is the delay after the attempt-th failed delivery:
// CallbackBackoff doubled attempt-1 times, at most MaxBackoff.
func (r *Runner) CallbackBackoffFor(attempt int) time.Duration {
	base := r.CallbackBackoff
	if base <= 0 {
		base = DefaultCallbackBackoff
	}
	return (&Runner{RetryBackoff: base, MaxBackoff: r.MaxBackoff}).Backoff(attempt)
}

// settled reports whether a job's callback needs nothing more.
func settled(job *jobsv1.Job) bool {
	return job.GetCallbackUrl() == "" || job.GetCallback().GetDelivered() || job.GetCallback().GetGaveUp()
}

// queueCallback queues the callback of a finished job, if it has one still
// to deliver, and that of its batch when the job was the batch's last.
func (r *Runner) queueCallback(ctx context.Context, tenant, id string) error {
	if r.Callbacks == nil || len(r.Callbacks.Secret) == 0 {
		return nil
	}
	job, err := r.Store.Get(ctx, tenant, id)
	if errors.Is(err, jobstore.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if !settled(job) {
		_, err = natsx.PublishJS(ctx, r.JS, CallbackSubject, &jobsv1.JobQueued{JobId: id, Tenant: tenant}, jetstream.WithMsgID("callback-"+id))
		if err != nil {
			return err
		}
	}
	if job.GetBatchId() == "" {
		return nil
	}
	// Each job stores its final state before it gets here, so the last
	// one of the batch to finish sees every job final.
	b, jobs, err := r.Store.GetBatch(ctx, tenant, job.GetBatchId())
	if errors.Is(err, jobstore.ErrBatchNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if b.CallbackURL == "" || b.Callback.GetDelivered() || b.Callback.GetGaveUp() || !jobstore.Summarize(b, jobs, time.Now()).GetDone() {
		return nil
	}
	_, err = natsx.PublishJS(ctx, r.JS, CallbackSubject, &jobsv1.JobQueued{BatchId: b.ID, Tenant: tenant}, jetstream.WithMsgID("batch-callback-"+b.ID))
	return err
}

// runCallbacks delivers queued callbacks until ctx is done.
func (r *Runner) runCallbacks(ctx context.Context) {
	cons, err := r.JS.Consumer(ctx, CallbackStream, CallbackConsumer)
	if err != nil {
		r.Logger.ErrorContext(ctx, "callback consumer", "err", err)
		return
	}
	for ctx.Err() == nil {
		fctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		batch, err := cons.Fetch(1, jetstream.FetchContext(fctx))
		if err != nil {
			cancel()
			if ctx.Err() == nil {
				r.Logger.WarnContext(ctx, "fetch callbacks", "err", err)
				time.Sleep(time.Second)
			}
			continue
		}
		for msg := range batch.Messages() {
			r.deliver(ctx, msg)
		}
		cancel()
	}
}

// deliver makes one attempt at a job's or a batch's callback and records
// it.
func (r *Runner) deliver(ctx context.Context, msg jetstream.Msg) {
	var q jobsv1.JobQueued
	if err := proto.Unmarshal(msg.Data(), &q); err != nil {
		_ = msg.Term()
		return
	}
	mctx := natsx.ContextFrom(ctx, msg.Headers())
	var (
		url, id string
		secret  []byte
		body    []byte
		prev    *jobsv1.CallbackDelivery
		record  func(*jobsv1.CallbackDelivery) error
	)
	if q.GetBatchId() != "" {
		b, jobs, err := r.Store.GetBatch(mctx, q.GetTenant(), q.GetBatchId())
		if errors.Is(err, jobstore.ErrBatchNotFound) {
			_ = msg.Term()
			return
		}
		if err != nil {
			_ = msg.NakWithDelay(5 * time.Second)
			return
		}
		sum := jobstore.Summarize(b, jobs, time.Now())
		sum.Callback = nil
		if body, err = protojson.Marshal(&jobsv1.BatchFinished{Batch: sum}); err != nil {
			_ = msg.Term()
			return
		}
		url, id, prev = b.CallbackURL, b.ID, b.Callback
		secret = r.Callbacks.SecretFor(q.GetTenant(), b.Submitter)
		record = func(cb *jobsv1.CallbackDelivery) error {
			return r.Store.SetBatchCallback(mctx, q.GetTenant(), b.ID, cb)
		}
	} else {
		job, err := r.Store.Get(mctx, q.GetTenant(), q.GetJobId())
		if errors.Is(err, jobstore.ErrNotFound) {
			_ = msg.Term()
			return
		}
		if err != nil {
			_ = msg.NakWithDelay(5 * time.Second)
			return
		}
		slim := proto.Clone(job).(*jobsv1.Job)
		slim.Result, slim.Callback = nil, nil
		if body, err = protojson.Marshal(&jobsv1.JobProgressed{Job: slim}); err != nil {
			_ = msg.Term()
			return
		}
		url, id, prev = job.GetCallbackUrl(), job.GetId(), job.GetCallback()
		secret = r.Callbacks.SecretFor(q.GetTenant(), job.GetSubmitter())
		record = func(cb *jobsv1.CallbackDelivery) error {
			job.Callback = cb
			return r.Store.Update(mctx, q.GetTenant(), job)
		}
	}
	if url == "" || prev.GetDelivered() || prev.GetGaveUp() {
		_ = msg.Ack()
		return
	}
	code, sendErr := r.Callbacks.SendSigned(mctx, url, secret, body)
	if ctx.Err() != nil {
		_ = msg.Nak() // shutting down: another replica tries
		return
	}
	cb := &jobsv1.CallbackDelivery{Attempts: prev.GetAttempts() + 1, LastStatusCode: int32(code), LastAttemptTime: timestamppb.Now()}
	switch {
	case sendErr == nil:
		cb.Delivered = true
	case errors.Is(sendErr, callback.ErrPermanent) || int(cb.Attempts) >= r.callbackAttempts():
		cb.LastError, cb.GaveUp = sendErr.Error(), true
	default:
		cb.LastError = sendErr.Error()
	}
	if err := record(cb); err != nil {
		r.Logger.ErrorContext(mctx, "store callback attempt", "id", id, "err", err)
	}
	if cb.Delivered || cb.GaveUp {
		_ = msg.Ack()
		if cb.GaveUp {
			r.Logger.WarnContext(mctx, "callback given up", "id", id, "attempts", cb.Attempts, "err", cb.LastError)
		}
		return
	}
	_ = msg.NakWithDelay(r.CallbackBackoffFor(int(cb.Attempts)))
}
