package jobstore_test

import (
	"errors"
	"math"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/timestamppb"

	commonv1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/common/v1"
	jobsv1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/jobs/v1"
	"github.com/clipmesh/clipmesh/platform/store"
	"github.com/clipmesh/clipmesh/platform/store/storetest"
	"github.com/clipmesh/clipmesh/services/jobs/internal/jobstore"
)

func TestBatches(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		t.Parallel()
		s := &jobstore.Store{DB: db.DB}
		ctx := t.Context()
		jobs := func(ids ...string) []*jobsv1.Job {
			var out []*jobsv1.Job
			for _, id := range ids {
				out = append(out, &jobsv1.Job{Id: id, VideoId: "vid_1", State: jobsv1.JobState_JOB_STATE_QUEUED})
			}
			return out
		}
		// Ids out of alphabetical order: the batch keeps item order.
		b, created, err := s.CreateBatch(ctx, "acme", &jobstore.Batch{ID: "bat_1", CallbackURL: "https://example.com/cb"}, jobs("job_z", "job_a", "job_m"), "key-1")
		if err != nil || !created {
			t.Fatalf("CreateBatch = %v, created %v; want a new batch", err, created)
		}
		if diff := cmp.Diff([]string{"job_z", "job_a", "job_m"}, b.JobIDs); diff != "" {
			t.Errorf("JobIDs (-want +got):\n%s", diff)
		}
		// The same key returns the first batch and stores nothing.
		again, created, err := s.CreateBatch(ctx, "acme", &jobstore.Batch{ID: "bat_2"}, jobs("job_q"), "key-1")
		if err != nil || created || again.ID != "bat_1" {
			t.Fatalf("CreateBatch with a used key = %v, %v, created %v; want bat_1", again, err, created)
		}
		if _, err := s.Get(ctx, "acme", "job_q"); !errors.Is(err, jobstore.ErrNotFound) {
			t.Errorf("the repeated batch's job was stored: %v", err)
		}
		// A job id clash rolls the whole batch back.
		if _, _, err := s.CreateBatch(ctx, "acme", &jobstore.Batch{ID: "bat_3"}, jobs("job_new", "job_a"), ""); err == nil {
			t.Error("CreateBatch with a duplicate job id succeeded")
		}
		if _, _, err := s.GetBatch(ctx, "acme", "bat_3"); !errors.Is(err, jobstore.ErrBatchNotFound) {
			t.Errorf("rolled-back batch: GetBatch = %v, want ErrBatchNotFound", err)
		}
		if _, err := s.Get(ctx, "acme", "job_new"); !errors.Is(err, jobstore.ErrNotFound) {
			t.Errorf("rolled-back batch's job: %v, want ErrNotFound", err)
		}

		got, gotJobs, err := s.GetBatch(ctx, "acme", "bat_1")
		if err != nil {
			t.Fatal(err)
		}
		if got.CallbackURL != "https://example.com/cb" || !got.Created.Equal(b.Created) {
			t.Errorf("GetBatch = %+v, want %+v", got, b)
		}
		var ids []string
		for _, j := range gotJobs {
			ids = append(ids, j.GetId())
			if j.GetBatchId() != "bat_1" {
				t.Errorf("job %s batch_id = %q", j.GetId(), j.GetBatchId())
			}
		}
		if diff := cmp.Diff(b.JobIDs, ids); diff != "" {
			t.Errorf("GetBatch jobs (-want +got):\n%s", diff)
		}
		if _, _, err := s.GetBatch(ctx, "other", "bat_1"); !errors.Is(err, jobstore.ErrBatchNotFound) {
			t.Errorf("another tenant's batch: %v, want ErrBatchNotFound", err)
		}
	})
}

func TestSummarize(t *testing.T) {
	t.Parallel()
	created := time.Unix(1_000_000, 0).UTC()
	b := &jobstore.Batch{ID: "bat_1", JobIDs: []string{"j1", "j2", "j3", "j4"}, Created: created}
	job := func(state jobsv1.JobState, frac float64, updated time.Duration) *jobsv1.Job {
		return &jobsv1.Job{State: state, Progress: &commonv1.Progress{Fraction: frac}, UpdateTime: timestamppb.New(created.Add(updated))}
	}
	const (
		queued    = jobsv1.JobState_JOB_STATE_QUEUED
		running   = jobsv1.JobState_JOB_STATE_RUNNING
		succeeded = jobsv1.JobState_JOB_STATE_SUCCEEDED
		dead      = jobsv1.JobState_JOB_STATE_DEAD_LETTER
	)
	tests := []struct {
		name     string
		jobs     []*jobsv1.Job
		frac     float64
		eta      float64
		done     bool
		counts   map[string]int32
		finished string
	}{
		{"nothing started", []*jobsv1.Job{job(queued, 0, 0), job(queued, 0, 0), job(queued, 0, 0), job(queued, 0, 0)},
			0, 0, false, map[string]int32{"JOB_STATE_QUEUED": 4}, "0 of 4 jobs finished"},
		// (1 + 1 + 0.5 + 0) / 4 = 0.625 after 100 s: 60 s to go.
		{"half way", []*jobsv1.Job{job(succeeded, 1, 10), job(dead, 0.2, 20), job(running, 0.5, 30), job(queued, 0, 0)},
			0.625, 60, false, map[string]int32{"JOB_STATE_SUCCEEDED": 1, "JOB_STATE_DEAD_LETTER": 1, "JOB_STATE_RUNNING": 1, "JOB_STATE_QUEUED": 1}, "2 of 4 jobs finished"},
		{"all final", []*jobsv1.Job{job(succeeded, 1, 10), job(dead, 0.2, 20), job(succeeded, 1, 30), job(succeeded, 1, 40)},
			1, 0, true, map[string]int32{"JOB_STATE_SUCCEEDED": 3, "JOB_STATE_DEAD_LETTER": 1}, "4 of 4 jobs finished"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := jobstore.Summarize(b, tc.jobs, created.Add(100*time.Second))
			if math.Abs(got.GetProgress().GetFraction()-tc.frac) > 1e-9 || math.Abs(got.GetEtaSeconds()-tc.eta) > 1e-6 || got.GetDone() != tc.done {
				t.Errorf("progress %v, eta %v, done %v; want %v, %v, %v", got.GetProgress().GetFraction(), got.GetEtaSeconds(), got.GetDone(), tc.frac, tc.eta, tc.done)
			}
			if diff := cmp.Diff(tc.counts, got.GetCounts()); diff != "" {
				t.Errorf("counts (-want +got):\n%s", diff)
			}
			if got.GetProgress().GetMessage() != tc.finished {
				t.Errorf("message = %q, want %q", got.GetProgress().GetMessage(), tc.finished)
			}
			if diff := cmp.Diff(&jobsv1.Batch{Id: "bat_1", JobIds: b.JobIDs, CreateTime: timestamppb.New(created)}, got, protocmp.Transform(),
				protocmp.IgnoreFields(&jobsv1.Batch{}, "counts", "progress", "eta_seconds", "done")); diff != "" {
				t.Errorf("batch (-want +got):\n%s", diff)
			}
		})
	}
}
