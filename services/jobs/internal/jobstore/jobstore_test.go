package jobstore_test

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/testing/protocmp"

	jobsv1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/jobs/v1"
	"github.com/clipmesh/clipmesh/platform/store"
	"github.com/clipmesh/clipmesh/platform/store/storetest"
	"github.com/clipmesh/clipmesh/services/jobs/internal/jobstore"
)

func TestFinal(t *testing.T) {
	t.Parallel()
	final := map[jobsv1.JobState]bool{
		jobsv1.JobState_JOB_STATE_SUCCEEDED: true, jobsv1.JobState_JOB_STATE_FAILED: true,
		jobsv1.JobState_JOB_STATE_CANCELLED: true, jobsv1.JobState_JOB_STATE_DEAD_LETTER: true,
	}
	for v := range jobsv1.JobState_name {
		s := jobsv1.JobState(v)
		if got := jobstore.Final(s); got != final[s] {
			t.Errorf("Final(%v) = %v, want %v", s, got, final[s])
		}
	}
}

func TestStore(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		t.Parallel()
		s := &jobstore.Store{DB: db.DB}
		ctx := t.Context()
		job := func(id string) *jobsv1.Job {
			return &jobsv1.Job{Id: id, VideoId: "vid_1", State: jobsv1.JobState_JOB_STATE_QUEUED, Priority: jobsv1.Priority_PRIORITY_NORMAL}
		}

		a, created, err := s.Create(ctx, "acme", job("job_a"), "key-1")
		if err != nil || !created {
			t.Fatalf("Create = %v, created %v; want a new job", err, created)
		}
		if a.GetCreateTime() == nil || a.GetUpdateTime() == nil {
			t.Errorf("Create left the times unset: %v", a)
		}
		// The same key again returns the first job, whatever is sent.
		again, created, err := s.Create(ctx, "acme", job("job_b"), "key-1")
		if err != nil || created {
			t.Fatalf("Create with a used key = %v, created %v; want the earlier job", err, created)
		}
		if diff := cmp.Diff(a, again, protocmp.Transform()); diff != "" {
			t.Errorf("Create with a used key (-first +second):\n%s", diff)
		}
		// Another tenant may use the same key; jobs without keys never clash.
		for _, c := range []struct{ tenant, id, key string }{{"other", "job_c", "key-1"}, {"acme", "job_d", ""}, {"acme", "job_e", ""}} {
			if _, created, err := s.Create(ctx, c.tenant, job(c.id), c.key); err != nil || !created {
				t.Errorf("Create(%s, %s, key %q) = %v, created %v; want a new job", c.tenant, c.id, c.key, err, created)
			}
		}
		// A duplicate id is an error, not a silent success.
		if _, _, err := s.Create(ctx, "acme", job("job_a"), ""); err == nil {
			t.Error("Create of an existing id succeeded")
		}

		a.State = jobsv1.JobState_JOB_STATE_RUNNING
		a.Attempts = 1
		if err := s.Update(ctx, "acme", a); err != nil {
			t.Fatalf("Update: %v", err)
		}
		got, err := s.Get(ctx, "acme", "job_a")
		if err != nil {
			t.Fatalf("Get: %v", err)
		}
		if diff := cmp.Diff(a, got, protocmp.Transform()); diff != "" {
			t.Errorf("Get after Update (-updated +got):\n%s", diff)
		}
		if _, err := s.Get(ctx, "other", "job_a"); !errors.Is(err, jobstore.ErrNotFound) {
			t.Errorf("Get as another tenant = %v, want ErrNotFound", err)
		}
		if err := s.Update(ctx, "other", a); !errors.Is(err, jobstore.ErrNotFound) {
			t.Errorf("Update as another tenant = %v, want ErrNotFound", err)
		}
		if err := s.Update(ctx, "acme", job("job_nope")); !errors.Is(err, jobstore.ErrNotFound) {
			t.Errorf("Update of an unknown job = %v, want ErrNotFound", err)
		}
		if _, _, err := s.List(ctx, "acme", "", 10, "!!!"); !errors.Is(err, jobstore.ErrInvalidArgument) {
			t.Errorf("List with a bad page token = %v, want ErrInvalidArgument", err)
		}
	})
}

func TestUpdateUnlessFinal(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		t.Parallel()
		s := &jobstore.Store{DB: db.DB}
		ctx := t.Context()
		j := &jobsv1.Job{Id: "job_x", VideoId: "vid_1", State: jobsv1.JobState_JOB_STATE_QUEUED}
		if _, _, err := s.Create(ctx, "acme", j, ""); err != nil {
			t.Fatal(err)
		}
		j.State = jobsv1.JobState_JOB_STATE_RUNNING
		if err := s.UpdateUnlessFinal(ctx, "acme", j); err != nil {
			t.Fatalf("running over queued: %v", err)
		}
		// A cancellation lands; the worker's later writes must not undo it.
		cancelled := &jobsv1.Job{Id: "job_x", VideoId: "vid_1", State: jobsv1.JobState_JOB_STATE_CANCELLED}
		if err := s.UpdateUnlessFinal(ctx, "acme", cancelled); err != nil {
			t.Fatalf("cancel over running: %v", err)
		}
		j.State = jobsv1.JobState_JOB_STATE_SUCCEEDED
		if err := s.UpdateUnlessFinal(ctx, "acme", j); !errors.Is(err, jobstore.ErrFinal) {
			t.Fatalf("succeeded over cancelled = %v, want ErrFinal", err)
		}
		got, err := s.Get(ctx, "acme", "job_x")
		if err != nil || got.GetState() != jobsv1.JobState_JOB_STATE_CANCELLED {
			t.Fatalf("stored state = %v (%v), want cancelled", got.GetState(), err)
		}
		if err := s.UpdateUnlessFinal(ctx, "other", j); !errors.Is(err, jobstore.ErrNotFound) {
			t.Fatalf("another tenant's job = %v, want ErrNotFound", err)
		}
	})
}
