// Package jobstore keeps jobs in SQL. A job row holds the job's contract
// message as protojson, plus the columns queries need.
package jobstore

import (
	"context"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/timestamppb"

	jobsv1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/jobs/v1"
	"github.com/clipmesh/clipmesh/platform/store"
)

// Errors callers map to status codes.
var (
	// ErrNotFound means the tenant has no such job.
	ErrNotFound = errors.New("job not found")
	// ErrInvalidArgument wraps bad requests.
	ErrInvalidArgument = errors.New("invalid argument")
)

// Store reads and writes jobs.
type Store struct{ DB *sql.DB }

// Final reports whether a job state is terminal.
func Final(s jobsv1.JobState) bool {
	switch s {
	case jobsv1.JobState_JOB_STATE_SUCCEEDED, jobsv1.JobState_JOB_STATE_FAILED,
		jobsv1.JobState_JOB_STATE_CANCELLED, jobsv1.JobState_JOB_STATE_DEAD_LETTER:
		return true
	}
	return false
}

// Create stores a new job. With an idempotency key already used by the
// tenant, it returns that earlier job and created=false.
func (s *Store) Create(ctx context.Context, tenant string, job *jobsv1.Job, idemKey string) (*jobsv1.Job, bool, error) {
	if err := insert(ctx, s.DB, tenant, job, idemKey, time.Now().UTC()); err != nil {
		if idemKey != "" && store.IsUniqueViolation(err) {
			var id string
			if qerr := s.DB.QueryRowContext(ctx, `SELECT id FROM jobs WHERE tenant = $1 AND idempotency_key = $2`, tenant, idemKey).Scan(&id); qerr == nil {
				existing, gerr := s.Get(ctx, tenant, id)
				return existing, false, gerr
			}
		}
		return nil, false, err
	}
	return job, true, nil
}

// insert stores a new job created at now.
func insert(ctx context.Context, db interface {
	ExecContext(context.Context, string, ...any) (sql.Result, error)
}, tenant string, job *jobsv1.Job, idemKey string, now time.Time) error {
	job.CreateTime, job.UpdateTime = timestamppb.New(now), timestamppb.New(now)
	raw, err := protojson.Marshal(job)
	if err != nil {
		return fmt.Errorf("jobstore: encode job: %w", err)
	}
	var key any
	if idemKey != "" {
		key = idemKey
	}
	_, err = db.ExecContext(ctx, `INSERT INTO jobs (id, tenant, video_id, batch_id, state, priority, idempotency_key, job_json, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
		job.GetId(), tenant, job.GetVideoId(), job.GetBatchId(), int(job.GetState()), int(job.GetPriority()), key, string(raw), now.UnixNano(), now.UnixNano())
	if err != nil {
		return fmt.Errorf("jobstore: insert job: %w", err)
	}
	return nil
}

// Get returns the tenant's job.
func (s *Store) Get(ctx context.Context, tenant, id string) (*jobsv1.Job, error) {
	var raw string
	err := s.DB.QueryRowContext(ctx, `SELECT job_json FROM jobs WHERE tenant = $1 AND id = $2`, tenant, id).Scan(&raw)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, id)
	}
	if err != nil {
		return nil, fmt.Errorf("jobstore: get job: %w", err)
	}
	return decode(raw)
}

// Update stores the job's new state.
func (s *Store) Update(ctx context.Context, tenant string, job *jobsv1.Job) error {
	job.UpdateTime = timestamppb.Now()
	raw, err := protojson.Marshal(job)
	if err != nil {
		return fmt.Errorf("jobstore: encode job: %w", err)
	}
	res, err := s.DB.ExecContext(ctx, `UPDATE jobs SET state = $1, job_json = $2, updated_at = $3 WHERE tenant = $4 AND id = $5`,
		int(job.GetState()), string(raw), job.UpdateTime.AsTime().UnixNano(), tenant, job.GetId())
	if err != nil {
		return fmt.Errorf("jobstore: update job: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("%w: %s", ErrNotFound, job.GetId())
	}
	return nil
}

// ErrFinal means the job reached a final state (e.g. it was cancelled)
// since the caller read it, so the caller's write was not applied.
var ErrFinal = errors.New("job already finished")

// UpdateUnlessFinal stores the job's new state only while the stored job is
// not final, so a worker never overwrites a cancellation made meanwhile.
func (s *Store) UpdateUnlessFinal(ctx context.Context, tenant string, job *jobsv1.Job) error {
	job.UpdateTime = timestamppb.Now()
	raw, err := protojson.Marshal(job)
	if err != nil {
		return fmt.Errorf("jobstore: encode job: %w", err)
	}
	res, err := s.DB.ExecContext(ctx, `UPDATE jobs SET state = $1, job_json = $2, updated_at = $3
		WHERE tenant = $4 AND id = $5 AND state NOT IN ($6, $7, $8, $9)`,
		int(job.GetState()), string(raw), job.UpdateTime.AsTime().UnixNano(), tenant, job.GetId(),
		int(jobsv1.JobState_JOB_STATE_SUCCEEDED), int(jobsv1.JobState_JOB_STATE_FAILED),
		int(jobsv1.JobState_JOB_STATE_CANCELLED), int(jobsv1.JobState_JOB_STATE_DEAD_LETTER))
	if err != nil {
		return fmt.Errorf("jobstore: update job: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		if _, err := s.Get(ctx, tenant, job.GetId()); err != nil {
			return err
		}
		return fmt.Errorf("%w: %s", ErrFinal, job.GetId())
	}
	return nil
}

// List returns up to limit of the tenant's jobs (optionally of one video),
// newest first, without their results.
func (s *Store) List(ctx context.Context, tenant, videoID string, limit int, pageToken string) ([]*jobsv1.Job, string, error) {
	if limit <= 0 {
		limit = 50
	}
	if limit > 500 {
		limit = 500
	}
	before, beforeID := int64(1<<62), ""
	if pageToken != "" {
		raw, err := base64.RawURLEncoding.DecodeString(pageToken)
		ts, id, ok := strings.Cut(string(raw), "/")
		n, perr := strconv.ParseInt(ts, 10, 64)
		if err != nil || !ok || perr != nil {
			return nil, "", fmt.Errorf("%w: bad page_token", ErrInvalidArgument)
		}
		before, beforeID = n, id
	}
	rows, err := s.DB.QueryContext(ctx, `SELECT job_json, created_at FROM jobs
		WHERE tenant = $1 AND ($2 = '' OR video_id = $2) AND (created_at < $3 OR (created_at = $3 AND id < $4))
		ORDER BY created_at DESC, id DESC LIMIT $5`, tenant, videoID, before, beforeID, limit+1)
	if err != nil {
		return nil, "", fmt.Errorf("jobstore: list jobs: %w", err)
	}
	defer rows.Close()
	var out []*jobsv1.Job
	var created []int64
	for rows.Next() {
		var raw string
		var c int64
		if err := rows.Scan(&raw, &c); err != nil {
			return nil, "", fmt.Errorf("jobstore: list jobs: %w", err)
		}
		j, err := decode(raw)
		if err != nil {
			return nil, "", err
		}
		j.Result = nil
		out, created = append(out, j), append(created, c)
	}
	if err := rows.Err(); err != nil {
		return nil, "", fmt.Errorf("jobstore: list jobs: %w", err)
	}
	next := ""
	if len(out) > limit {
		out = out[:limit]
		next = base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(created[limit-1], 10) + "/" + out[limit-1].GetId()))
	}
	return out, next, nil
}

func decode(raw string) (*jobsv1.Job, error) {
	j := &jobsv1.Job{}
	if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal([]byte(raw), j); err != nil {
		return nil, fmt.Errorf("jobstore: decode job: %w", err)
	}
	return j, nil
}
