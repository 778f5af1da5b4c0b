package jobstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/timestamppb"

	commonv1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/common/v1"
	jobsv1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/jobs/v1"
	"github.com/clipmesh/clipmesh/platform/store"
)

// ErrBatchNotFound means the tenant has no such batch.
var ErrBatchNotFound = errors.New("batch not found")

// Batch is a stored batch: its jobs, in item order.
type Batch struct {
	ID          string
	JobIDs      []string
	CallbackURL string
	// Submitter is the API key id (or "local") that submitted the batch:
	// its callback is signed with that key's secret.
	Submitter string
	// Callback is how the batch's callback went (nil before any attempt).
	Callback *jobsv1.CallbackDelivery
	Created  time.Time
}

// CreateBatch stores a batch and its jobs in one transaction, each job's
// BatchId set to the batch's id. With an idempotency key the tenant already
// used for a batch, it stores nothing and returns that earlier batch and
// created=false.
func (s *Store) CreateBatch(ctx context.Context, tenant string, b *Batch, jobs []*jobsv1.Job, idemKey string) (*Batch, bool, error) {
	now := time.Now().UTC()
	b.Created, b.JobIDs = now, nil
	for _, j := range jobs {
		j.BatchId = b.ID
		b.JobIDs = append(b.JobIDs, j.GetId())
	}
	ids, err := json.Marshal(b.JobIDs)
	if err != nil {
		return nil, false, fmt.Errorf("jobstore: encode batch: %w", err)
	}
	var key any
	if idemKey != "" {
		key = idemKey
	}
	tx, err := s.DB.BeginTx(ctx, nil)
	if err != nil {
		return nil, false, fmt.Errorf("jobstore: begin: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	_, err = tx.ExecContext(ctx, `INSERT INTO batches (tenant, id, job_ids, callback_url, idempotency_key, created_at, submitter) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		tenant, b.ID, string(ids), b.CallbackURL, key, now.UnixNano(), b.Submitter)
	if err != nil {
		if idemKey != "" && store.IsUniqueViolation(err) {
			_ = tx.Rollback()
			var id string
			if qerr := s.DB.QueryRowContext(ctx, `SELECT id FROM batches WHERE tenant = $1 AND idempotency_key = $2`, tenant, idemKey).Scan(&id); qerr == nil {
				existing, _, gerr := s.GetBatch(ctx, tenant, id)
				return existing, false, gerr
			}
		}
		return nil, false, fmt.Errorf("jobstore: insert batch: %w", err)
	}
	for _, j := range jobs {
		if err := insert(ctx, tx, tenant, j, "", now); err != nil {
			return nil, false, err
		}
	}
	if err := tx.Commit(); err != nil {
		return nil, false, fmt.Errorf("jobstore: commit batch: %w", err)
	}
	return b, true, nil
}

// GetBatch returns the tenant's batch and its jobs (without their
// results) in item order.
func (s *Store) GetBatch(ctx context.Context, tenant, id string) (*Batch, []*jobsv1.Job, error) {
	var ids, cb, submitter, delivery string
	var created int64
	err := s.DB.QueryRowContext(ctx, `SELECT job_ids, callback_url, created_at, submitter, callback_json FROM batches WHERE tenant = $1 AND id = $2`,
		tenant, id).Scan(&ids, &cb, &created, &submitter, &delivery)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil, fmt.Errorf("%w: %s", ErrBatchNotFound, id)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("jobstore: get batch: %w", err)
	}
	b := &Batch{ID: id, CallbackURL: cb, Submitter: submitter, Created: time.Unix(0, created).UTC()}
	if err := json.Unmarshal([]byte(ids), &b.JobIDs); err != nil {
		return nil, nil, fmt.Errorf("jobstore: decode batch: %w", err)
	}
	if delivery != "" {
		b.Callback = &jobsv1.CallbackDelivery{}
		if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal([]byte(delivery), b.Callback); err != nil {
			return nil, nil, fmt.Errorf("jobstore: decode batch callback: %w", err)
		}
	}
	rows, err := s.DB.QueryContext(ctx, `SELECT job_json FROM jobs WHERE tenant = $1 AND batch_id = $2`, tenant, id)
	if err != nil {
		return nil, nil, fmt.Errorf("jobstore: batch jobs: %w", err)
	}
	defer rows.Close()
	byID := map[string]*jobsv1.Job{}
	for rows.Next() {
		var raw string
		if err := rows.Scan(&raw); err != nil {
			return nil, nil, fmt.Errorf("jobstore: batch jobs: %w", err)
		}
		j, err := decode(raw)
		if err != nil {
			return nil, nil, err
		}
		j.Result = nil
		byID[j.GetId()] = j
	}
	if err := rows.Err(); err != nil {
		return nil, nil, fmt.Errorf("jobstore: batch jobs: %w", err)
	}
	jobs := make([]*jobsv1.Job, 0, len(b.JobIDs))
	for _, jid := range b.JobIDs {
		if j, ok := byID[jid]; ok {
			jobs = append(jobs, j)
		}
	}
	return b, jobs, nil
}

// SetBatchCallback records how the batch's callback went.
func (s *Store) SetBatchCallback(ctx context.Context, tenant, id string, cb *jobsv1.CallbackDelivery) error {
	raw, err := protojson.Marshal(cb)
	if err != nil {
		return fmt.Errorf("jobstore: encode batch callback: %w", err)
	}
	res, err := s.DB.ExecContext(ctx, `UPDATE batches SET callback_json = $1 WHERE tenant = $2 AND id = $3`, string(raw), tenant, id)
	if err != nil {
		return fmt.Errorf("jobstore: store batch callback: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("%w: %s", ErrBatchNotFound, id)
	}
	return nil
}

// Summarize is the batch as clients see it at now: its jobs counted by
// state name, overall progress (the mean of its jobs', a final job counting
// as complete), an ETA extrapolated from the time elapsed and the progress
// made, and whether every job is final.
func Summarize(b *Batch, jobs []*jobsv1.Job, now time.Time) *jobsv1.Batch {
	out := &jobsv1.Batch{Id: b.ID, JobIds: b.JobIDs, Counts: map[string]int32{}, CreateTime: timestamppb.New(b.Created),
		CallbackUrl: b.CallbackURL, Callback: b.Callback}
	sum, final := 0.0, 0
	var updated time.Time
	for _, j := range jobs {
		out.Counts[j.GetState().String()]++
		if Final(j.GetState()) {
			sum++
			final++
		} else {
			sum += min(max(j.GetProgress().GetFraction(), 0), 1)
		}
		if t := j.GetUpdateTime().AsTime(); t.After(updated) {
			updated = t
		}
	}
	frac := 0.0
	if len(jobs) > 0 {
		frac = sum / float64(len(jobs))
	}
	out.Done = final == len(jobs)
	if out.Done {
		frac = 1
	} else if elapsed := now.Sub(b.Created).Seconds(); frac > 0 && elapsed > 0 {
		out.EtaSeconds = elapsed * (1 - frac) / frac
	}
	if updated.IsZero() {
		updated = b.Created
	}
	out.Progress = &commonv1.Progress{Stage: "batch", Fraction: frac,
		Message: fmt.Sprintf("%d of %d jobs finished", final, len(jobs)), UpdateTime: timestamppb.New(updated)}
	return out
}
