package server_test

import (
	"context"
	"errors"
	"io"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"

	commonv1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/common/v1"
	jobsv1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/jobs/v1"
	"github.com/clipmesh/clipmesh/platform/auth"
	"github.com/clipmesh/clipmesh/platform/fixtures"
	"github.com/clipmesh/clipmesh/platform/natsx"
	"github.com/clipmesh/clipmesh/platform/store"
	"github.com/clipmesh/clipmesh/platform/store/storetest"
	"github.com/clipmesh/clipmesh/services/jobs/internal/jobstore"
	"github.com/clipmesh/clipmesh/services/jobs/internal/runner"
)

const (
	done        = jobsv1.StageState_STAGE_STATE_DONE
	skipped     = jobsv1.StageState_STAGE_STATE_SKIPPED
	unavailable = commonv1.ModalityState_MODALITY_STATE_UNAVAILABLE
	modSkipped  = commonv1.ModalityState_MODALITY_STATE_SKIPPED
)

// notAvailable is how a stage whose service answers Unimplemented is
// explained.
func notAvailable(stage string) string { return stage + " service not available" }

// stage is what a job must say about one stage; reason is a part of its
// reason.
type stage struct {
	name   string
	state  jobsv1.StageState
	reason string
}

// modality is what a job's result must say about one modality.
type modality struct {
	name   string
	state  commonv1.ModalityState
	reason string
}

func TestAnalyzeRunsToSuccess(t *testing.T) {
	t.Parallel()
	tests := []struct {
		fixture    string
		stages     []stage
		modalities []modality
	}{
		{
			fixture: fixtures.Cuts,
			stages: []stage{
				{"probe", done, ""},
				{"extract_audio", done, ""},
				{"vision", skipped, notAvailable("vision")},
				{"audio", skipped, notAvailable("audio")},
				{"transcribe", skipped, notAvailable("transcribe")},
				{"nlp", skipped, "no transcript"},
				{"analytics", skipped, notAvailable("analytics")},
			},
			modalities: []modality{
				{"analytics", unavailable, notAvailable("analytics")},
				{"audio", unavailable, notAvailable("audio")},
				{"nlp", modSkipped, "no transcript"},
				{"transcribe", unavailable, notAvailable("transcribe")},
				{"vision", unavailable, notAvailable("vision")},
			},
		},
		{
			fixture: fixtures.NoAudio,
			stages: []stage{
				{"probe", done, ""},
				{"extract_audio", skipped, "no audio stream"},
				{"vision", skipped, notAvailable("vision")},
				{"audio", skipped, "no audio stream"},
				{"transcribe", skipped, "no audio stream"},
				{"nlp", skipped, "no transcript"},
				{"analytics", skipped, notAvailable("analytics")},
			},
			modalities: []modality{
				{"analytics", unavailable, notAvailable("analytics")},
				{"audio", modSkipped, "no audio stream"},
				{"nlp", modSkipped, "no transcript"},
				{"transcribe", modSkipped, "no audio stream"},
				{"vision", unavailable, notAvailable("vision")},
			},
		},
		{
			fixture: fixtures.AudioOnly,
			stages: []stage{
				{"probe", done, ""},
				{"extract_audio", done, ""},
				{"vision", skipped, "no video stream"},
				{"audio", skipped, notAvailable("audio")},
				{"transcribe", skipped, notAvailable("transcribe")},
				{"nlp", skipped, "no transcript"},
				{"analytics", skipped, notAvailable("analytics")},
			},
			modalities: []modality{
				{"analytics", unavailable, notAvailable("analytics")},
				{"audio", unavailable, notAvailable("audio")},
				{"nlp", modSkipped, "no transcript"},
				{"transcribe", unavailable, notAvailable("transcribe")},
				{"vision", modSkipped, "no video stream"},
			},
		},
	}
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		t.Parallel()
		env := newTestClient(t, db)
		ctx := env.key(t, "acme", auth.RoleEditor)
		for _, tt := range tests {
			t.Run(tt.fixture, func(t *testing.T) {
				t.Parallel()
				video := mustUpload(t, ctx, env.Videos, tt.fixture)
				res, err := env.Jobs.Analyze(ctx, &jobsv1.AnalyzeRequest{VideoId: video.GetId()})
				if err != nil {
					t.Fatalf("Analyze: %v", err)
				}
				queued := res.GetJob()
				if !strings.HasPrefix(queued.GetId(), "job_") || queued.GetVideoId() != video.GetId() ||
					queued.GetState() != jobsv1.JobState_JOB_STATE_QUEUED || queued.GetPriority() != jobsv1.Priority_PRIORITY_NORMAL ||
					queued.GetOptions().GetLanguage() != "auto" {
					t.Errorf("Analyze returned %v; want a queued normal-priority job of %s with language auto", queued, video.GetId())
				}

				seen := watch(t, ctx, env.Jobs, queued.GetId())
				if len(seen) == 0 {
					t.Fatal("WatchJob sent nothing")
				}
				// Never backwards: states in order, progress not decreasing.
				for i := 1; i < len(seen); i++ {
					prev, cur := seen[i-1], seen[i]
					if cur.GetState() < prev.GetState() {
						t.Errorf("WatchJob message %d went from %v back to %v", i, prev.GetState(), cur.GetState())
					}
					if cur.GetProgress().GetFraction() < prev.GetProgress().GetFraction() {
						t.Errorf("WatchJob message %d: progress went from %v back to %v", i,
							prev.GetProgress().GetFraction(), cur.GetProgress().GetFraction())
					}
				}
				final := seen[len(seen)-1]
				for _, j := range seen[:len(seen)-1] {
					if j.GetState() == jobsv1.JobState_JOB_STATE_SUCCEEDED {
						t.Errorf("WatchJob went on after the final state: %v", seen)
					}
				}
				if final.GetState() != jobsv1.JobState_JOB_STATE_SUCCEEDED {
					t.Fatalf("final job state %v (error %q), want SUCCEEDED", final.GetState(), final.GetError())
				}
				if final.GetError() != "" || final.GetAttempts() != 1 {
					t.Errorf("final job: error %q, attempts %d; want no error, 1 attempt", final.GetError(), final.GetAttempts())
				}
				if got := final.GetProgress().GetFraction(); got != 1 {
					t.Errorf("final progress fraction = %v, want 1", got)
				}
				if diff := cmp.Diff(video, final.GetResult().GetVideo(), protocmp.Transform()); diff != "" {
					t.Errorf("result.video differs from the uploaded video (-upload +result):\n%s", diff)
				}
				checkStages(t, final.GetStages(), tt.stages)
				checkModalities(t, final.GetResult().GetModalities(), tt.modalities)

				// GetJob says the same as the last watch message.
				got, err := env.Jobs.GetJob(ctx, &jobsv1.GetJobRequest{JobId: queued.GetId()})
				if err != nil {
					t.Fatalf("GetJob: %v", err)
				}
				if diff := cmp.Diff(final, got.GetJob(), protocmp.Transform()); diff != "" {
					t.Errorf("GetJob differs from WatchJob's final message (-watch +get):\n%s", diff)
				}

				// Watching a finished job sends it once and ends.
				if again := watch(t, ctx, env.Jobs, queued.GetId()); len(again) != 1 ||
					!cmp.Equal(final, again[0], protocmp.Transform()) {
					t.Errorf("WatchJob of a finished job sent %d messages, want the final job once", len(again))
				}
			})
		}
	})
}

func checkStages(t *testing.T, got []*jobsv1.StageStatus, want []stage) {
	t.Helper()
	type row struct {
		Name  string
		State jobsv1.StageState
	}
	var g, w []row
	for _, s := range got {
		g = append(g, row{s.GetName(), s.GetState()})
	}
	for i, s := range want {
		w = append(w, row{s.name, s.state})
		if i < len(got) && !strings.Contains(got[i].GetReason(), s.reason) {
			t.Errorf("stage %s reason %q does not say %q", s.name, got[i].GetReason(), s.reason)
		}
	}
	if diff := cmp.Diff(w, g); diff != "" {
		t.Errorf("stages (-want +got):\n%s", diff)
	}
	for _, s := range got {
		if s.GetState() == done && s.GetFraction() != 1 {
			t.Errorf("stage %s is done at fraction %v, want 1", s.GetName(), s.GetFraction())
		}
	}
}

func checkModalities(t *testing.T, got []*commonv1.ModalityStatus, want []modality) {
	t.Helper()
	type row struct {
		Name  string
		State commonv1.ModalityState
	}
	sorted := append([]*commonv1.ModalityStatus(nil), got...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].GetModality() < sorted[j].GetModality() })
	var g, w []row
	for _, m := range sorted {
		g = append(g, row{m.GetModality(), m.GetState()})
	}
	for i, m := range want {
		w = append(w, row{m.name, m.state})
		if i < len(sorted) && !strings.Contains(sorted[i].GetReason(), m.reason) {
			t.Errorf("modality %s reason %q does not say %q", m.name, sorted[i].GetReason(), m.reason)
		}
	}
	if diff := cmp.Diff(w, g); diff != "" {
		t.Errorf("modalities, by name (-want +got):\n%s", diff)
	}
}

func TestAnalyzeIdempotencyAndListJobs(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		t.Parallel()
		// No workers: the jobs stay queued, so nothing changes under the
		// comparisons.
		env := newTestClient(t, db, noWorkers())
		acme := env.key(t, "acme", auth.RoleEditor)
		other := env.key(t, "other", auth.RoleEditor)
		cuts := mustUpload(t, acme, env.Videos, fixtures.Cuts)
		still := mustUpload(t, acme, env.Videos, fixtures.Still)
		mustUpload(t, other, env.Videos, fixtures.Cuts)

		analyze := func(ctx context.Context, req *jobsv1.AnalyzeRequest) *jobsv1.Job {
			t.Helper()
			res, err := env.Jobs.Analyze(ctx, req)
			if err != nil {
				t.Fatalf("Analyze(%v): %v", req, err)
			}
			return res.GetJob()
		}
		first := analyze(acme, &jobsv1.AnalyzeRequest{VideoId: cuts.GetId(), IdempotencyKey: "k1", Priority: jobsv1.Priority_PRIORITY_HIGH})
		again := analyze(acme, &jobsv1.AnalyzeRequest{VideoId: cuts.GetId(), IdempotencyKey: "k1", Priority: jobsv1.Priority_PRIORITY_HIGH})
		if diff := cmp.Diff(first, again, protocmp.Transform()); diff != "" {
			t.Errorf("same idempotency key, second Analyze (-first +second):\n%s", diff)
		}
		// The REST Idempotency-Key header arrives as metadata and counts too.
		viaHeader := analyze(metadata.AppendToOutgoingContext(acme, "idempotency-key", "k1"), &jobsv1.AnalyzeRequest{VideoId: cuts.GetId()})
		if viaHeader.GetId() != first.GetId() {
			t.Errorf("Idempotency-Key metadata gave job %s, want %s", viaHeader.GetId(), first.GetId())
		}
		if first.GetPriority() != jobsv1.Priority_PRIORITY_HIGH {
			t.Errorf("priority = %v, want HIGH", first.GetPriority())
		}
		otherKey := analyze(acme, &jobsv1.AnalyzeRequest{VideoId: cuts.GetId(), IdempotencyKey: "k2"})
		noKey := analyze(acme, &jobsv1.AnalyzeRequest{VideoId: still.GetId()})
		otherTenant := analyze(other, &jobsv1.AnalyzeRequest{VideoId: cuts.GetId(), IdempotencyKey: "k1"})
		ids := map[string]bool{}
		for _, j := range []*jobsv1.Job{first, otherKey, noKey, otherTenant} {
			ids[j.GetId()] = true
		}
		if len(ids) != 4 {
			t.Errorf("job ids %v: want 4 different jobs (another key, no key, another tenant)", ids)
		}
		// One work message per job created: the repeated Analyze queued
		// nothing more.
		stream, err := env.NATS.JS.Stream(t.Context(), runner.StreamName)
		if err != nil {
			t.Fatal(err)
		}
		info, err := stream.Info(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if info.State.Msgs != 4 {
			t.Errorf("work queue holds %d messages, want 4", info.State.Msgs)
		}

		// ListJobs: newest first, pages of 1, without results; optionally
		// one video's.
		list := func(req *jobsv1.ListJobsRequest) []string {
			t.Helper()
			var ids []string
			for page := 0; ; page++ {
				if page > 5 {
					t.Fatalf("ListJobs(%v): page tokens never end", req)
				}
				res, err := env.Jobs.ListJobs(acme, req)
				if err != nil {
					t.Fatalf("ListJobs(%v): %v", req, err)
				}
				for _, j := range res.GetJobs() {
					if j.GetResult() != nil {
						t.Errorf("ListJobs returned job %s with its result", j.GetId())
					}
					ids = append(ids, j.GetId())
				}
				if res.GetNextPageToken() == "" {
					return ids
				}
				req.PageToken = res.GetNextPageToken()
			}
		}
		for _, tt := range []struct {
			name string
			req  *jobsv1.ListJobsRequest
			want []string
		}{
			{"all", &jobsv1.ListJobsRequest{}, []string{noKey.GetId(), otherKey.GetId(), first.GetId()}},
			{"pages of 1", &jobsv1.ListJobsRequest{PageSize: 1}, []string{noKey.GetId(), otherKey.GetId(), first.GetId()}},
			{"one video", &jobsv1.ListJobsRequest{PageSize: 1, VideoId: cuts.GetId()}, []string{otherKey.GetId(), first.GetId()}},
			{"unknown video", &jobsv1.ListJobsRequest{VideoId: "vid_00000000000000000000000000000000"}, nil},
		} {
			t.Run(tt.name, func(t *testing.T) {
				if diff := cmp.Diff(tt.want, list(tt.req)); diff != "" {
					t.Errorf("ListJobs ids (-want +got):\n%s", diff)
				}
			})
		}
		for _, tt := range []struct {
			name string
			req  *jobsv1.ListJobsRequest
		}{
			{"negative page size", &jobsv1.ListJobsRequest{PageSize: -1}},
			{"bad page token", &jobsv1.ListJobsRequest{PageToken: "!!!"}},
		} {
			t.Run(tt.name, func(t *testing.T) {
				if _, err := env.Jobs.ListJobs(acme, tt.req); status.Code(err) != codes.InvalidArgument {
					t.Errorf("ListJobs(%v) = %v, want InvalidArgument", tt.req, err)
				}
			})
		}
	})
}

func TestJobRequestsRefused(t *testing.T) {
	t.Parallel()
	env := newTestClient(t, storetest.SQLite(t), noWorkers())
	ctx := env.key(t, "acme", auth.RoleEditor)
	video := mustUpload(t, ctx, env.Videos, fixtures.NoAudio)
	const unknownVideo = "vid_00000000000000000000000000000000"
	const unknownJob = "job_00000000000000000000000000000000"
	for _, tt := range []struct {
		name    string
		call    func() error
		want    codes.Code
		wantMsg string
	}{
		{"Analyze unknown video", func() error {
			_, err := env.Jobs.Analyze(ctx, &jobsv1.AnalyzeRequest{VideoId: unknownVideo})
			return err
		}, codes.NotFound, "video not found"},
		{"Analyze without video_id", func() error {
			_, err := env.Jobs.Analyze(ctx, &jobsv1.AnalyzeRequest{})
			return err
		}, codes.InvalidArgument, "video_id is required"},
		{"Analyze a job id", func() error {
			_, err := env.Jobs.Analyze(ctx, &jobsv1.AnalyzeRequest{VideoId: unknownJob})
			return err
		}, codes.InvalidArgument, "is not a vid id"},
		{"Analyze overlong id", func() error {
			_, err := env.Jobs.Analyze(ctx, &jobsv1.AnalyzeRequest{VideoId: "vid_" + strings.Repeat("0", 200)})
			return err
		}, codes.InvalidArgument, "is not a vid id"},
		{"Analyze overlong idempotency key", func() error {
			_, err := env.Jobs.Analyze(ctx, &jobsv1.AnalyzeRequest{VideoId: video.GetId(), IdempotencyKey: strings.Repeat("k", 201)})
			return err
		}, codes.InvalidArgument, "idempotency_key is longer than 200"},
		{"GetJob unknown", func() error {
			_, err := env.Jobs.GetJob(ctx, &jobsv1.GetJobRequest{JobId: unknownJob})
			return err
		}, codes.NotFound, "job not found"},
		{"GetJob without id", func() error {
			_, err := env.Jobs.GetJob(ctx, &jobsv1.GetJobRequest{})
			return err
		}, codes.InvalidArgument, "job_id is required"},
		{"GetJob a video id", func() error {
			_, err := env.Jobs.GetJob(ctx, &jobsv1.GetJobRequest{JobId: video.GetId()})
			return err
		}, codes.InvalidArgument, "is not a job id"},
		{"CancelJob unknown", func() error {
			_, err := env.Jobs.CancelJob(ctx, &jobsv1.CancelJobRequest{JobId: unknownJob})
			return err
		}, codes.NotFound, "job not found"},
		{"CancelJob malformed", func() error {
			_, err := env.Jobs.CancelJob(ctx, &jobsv1.CancelJobRequest{JobId: "nope"})
			return err
		}, codes.InvalidArgument, "is not a job id"},
		{"WatchJob unknown", func() error {
			return watchErr(ctx, env.Jobs, unknownJob)
		}, codes.NotFound, "job not found"},
		{"WatchJob malformed", func() error {
			return watchErr(ctx, env.Jobs, "nope")
		}, codes.InvalidArgument, "is not a job id"},
		{"SubmitBatch empty", func() error {
			_, err := env.Jobs.SubmitBatch(ctx, &jobsv1.SubmitBatchRequest{})
			return err
		}, codes.InvalidArgument, "items is required"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := tt.call()
			if status.Code(err) != tt.want || !strings.Contains(status.Convert(err).Message(), tt.wantMsg) {
				t.Errorf("got %v, want %v saying %q", err, tt.want, tt.wantMsg)
			}
		})
	}
}

// watchErr returns the error that ends a WatchJob stream.
func watchErr(ctx context.Context, c jobsv1.JobServiceClient, id string) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	st, err := c.WatchJob(ctx, &jobsv1.WatchJobRequest{JobId: id})
	if err != nil {
		return err
	}
	for {
		if _, err := st.Recv(); err != nil {
			return err
		}
	}
}

func TestCancelJob(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		t.Parallel()
		env := newTestClient(t, db, noWorkers())
		ctx := env.key(t, "acme", auth.RoleEditor)
		video := mustUpload(t, ctx, env.Videos, fixtures.NoAudio)

		// A queued job is cancelled at once, and no worker runs it later.
		res, err := env.Jobs.Analyze(ctx, &jobsv1.AnalyzeRequest{VideoId: video.GetId()})
		if err != nil {
			t.Fatalf("Analyze: %v", err)
		}
		queued := res.GetJob()
		cancelled, err := env.Jobs.CancelJob(ctx, &jobsv1.CancelJobRequest{JobId: queued.GetId()})
		if err != nil {
			t.Fatalf("CancelJob of a queued job: %v", err)
		}
		if got := cancelled.GetJob(); got.GetState() != jobsv1.JobState_JOB_STATE_CANCELLED || got.GetError() != "cancelled by request" {
			t.Errorf("CancelJob of a queued job = state %v, error %q; want CANCELLED, \"cancelled by request\"", got.GetState(), got.GetError())
		}
		if seen := watch(t, ctx, env.Jobs, queued.GetId()); len(seen) != 1 || seen[0].GetState() != jobsv1.JobState_JOB_STATE_CANCELLED {
			t.Errorf("WatchJob of a cancelled job sent %v, want the cancelled job once", seen)
		}

		// A job that runs to the end.
		res, err = env.Jobs.Analyze(ctx, &jobsv1.AnalyzeRequest{VideoId: video.GetId(), IdempotencyKey: "finish"})
		if err != nil {
			t.Fatalf("Analyze: %v", err)
		}
		env.startWorkers()
		seen := watch(t, ctx, env.Jobs, res.GetJob().GetId())
		finished := seen[len(seen)-1]
		if finished.GetState() != jobsv1.JobState_JOB_STATE_SUCCEEDED {
			t.Fatalf("job ended %v (%q), want SUCCEEDED", finished.GetState(), finished.GetError())
		}
		// The cancelled job's work message was dropped, unrun.
		waitQueueEmpty(t, env)
		got, err := env.Jobs.GetJob(ctx, &jobsv1.GetJobRequest{JobId: queued.GetId()})
		if err != nil {
			t.Fatalf("GetJob: %v", err)
		}
		if diff := cmp.Diff(cancelled.GetJob(), got.GetJob(), protocmp.Transform()); diff != "" {
			t.Errorf("cancelled job changed after the workers started (-cancelled +now):\n%s", diff)
		}

		// Cancelling a finished job changes nothing.
		after, err := env.Jobs.CancelJob(ctx, &jobsv1.CancelJobRequest{JobId: finished.GetId()})
		if err != nil {
			t.Fatalf("CancelJob of a finished job: %v", err)
		}
		if diff := cmp.Diff(finished, after.GetJob(), protocmp.Transform()); diff != "" {
			t.Errorf("CancelJob of a finished job changed it (-before +after):\n%s", diff)
		}
		stored, err := env.Jobs.GetJob(ctx, &jobsv1.GetJobRequest{JobId: finished.GetId()})
		if err != nil {
			t.Fatalf("GetJob: %v", err)
		}
		if diff := cmp.Diff(finished, stored.GetJob(), protocmp.Transform()); diff != "" {
			t.Errorf("stored job after CancelJob of a finished job (-before +after):\n%s", diff)
		}
	})
}

// waitQueueEmpty waits until every work message has been acked.
func waitQueueEmpty(t *testing.T, env *testEnv) {
	t.Helper()
	stream, err := env.NATS.JS.Stream(t.Context(), runner.StreamName)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		info, err := stream.Info(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if info.State.Msgs == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("work queue still holds %d messages", info.State.Msgs)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestWatchJobNeverGoesBack replays what a watcher can see on a busy
// mesh: an announcement that is older than the job it already sent (it was
// published before the watcher read the store, and delivered after). The
// watcher must not send the job back in time.
func TestWatchJobNeverGoesBack(t *testing.T) {
	t.Parallel()
	env := newTestClient(t, storetest.SQLite(t), noWorkers())
	ctx := env.key(t, "acme", auth.RoleEditor)
	video := mustUpload(t, ctx, env.Videos, fixtures.NoAudio)
	res, err := env.Jobs.Analyze(ctx, &jobsv1.AnalyzeRequest{VideoId: video.GetId()})
	if err != nil {
		t.Fatalf("Analyze: %v", err)
	}
	store := &jobstore.Store{DB: env.DB.DB}
	stale := proto.Clone(res.GetJob()).(*jobsv1.Job)

	// A worker (played here) has moved the job on.
	job := proto.Clone(res.GetJob()).(*jobsv1.Job)
	job.State = jobsv1.JobState_JOB_STATE_RUNNING
	job.Progress = &commonv1.Progress{Stage: "vision", Fraction: 0.5}
	time.Sleep(time.Millisecond) // a later update time than the queued job's
	if err := store.Update(ctx, "acme", job); err != nil {
		t.Fatal(err)
	}

	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	st, err := env.Jobs.WatchJob(wctx, &jobsv1.WatchJobRequest{JobId: job.GetId()})
	if err != nil {
		t.Fatalf("WatchJob: %v", err)
	}
	first, err := st.Recv()
	if err != nil {
		t.Fatalf("WatchJob first message: %v", err)
	}
	// The watcher is subscribed now. Announcements on one connection
	// arrive in order: the stale one, then the final one.
	announce := func(j *jobsv1.Job) {
		t.Helper()
		if err := natsx.Publish(ctx, env.NATS.NC, runner.ProgressSubject+"."+j.GetId(), &jobsv1.JobProgressed{Job: j}); err != nil {
			t.Fatal(err)
		}
	}
	announce(stale)
	job.State = jobsv1.JobState_JOB_STATE_SUCCEEDED
	job.Progress = &commonv1.Progress{Stage: "done", Fraction: 1}
	if err := store.Update(ctx, "acme", job); err != nil {
		t.Fatal(err)
	}
	announce(job)

	states := []jobsv1.JobState{first.GetJob().GetState()}
	for {
		m, err := st.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("WatchJob: %v", err)
		}
		states = append(states, m.GetJob().GetState())
	}
	want := []jobsv1.JobState{jobsv1.JobState_JOB_STATE_RUNNING, jobsv1.JobState_JOB_STATE_SUCCEEDED}
	if diff := cmp.Diff(want, states); diff != "" {
		t.Errorf("states WatchJob sent (-want +got):\n%s", diff)
	}
}
