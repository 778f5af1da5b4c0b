package server_test

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/testing/protocmp"

	jobsv1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/jobs/v1"
	"github.com/clipmesh/clipmesh/platform/auth"
	"github.com/clipmesh/clipmesh/platform/fixtures"
	"github.com/clipmesh/clipmesh/platform/store"
	"github.com/clipmesh/clipmesh/platform/store/storetest"
	"github.com/clipmesh/clipmesh/services/jobs/internal/runner"
)

// newMediaRoot returns a media root holding the Still fixture as
// shows/still.mp4, beside a file outside it and a symlink leading there.
func newMediaRoot(t *testing.T) (root, outside string) {
	t.Helper()
	base := t.TempDir()
	root = filepath.Join(base, "media")
	if err := os.MkdirAll(filepath.Join(root, "shows"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "shows", "still.mp4"), fixture(t, fixtures.Still), 0o644); err != nil {
		t.Fatal(err)
	}
	outside = filepath.Join(base, "private.mp4")
	if err := os.WriteFile(outside, fixture(t, fixtures.Still), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(root, "link.mp4")); err != nil {
		t.Fatal(err)
	}
	return root, outside
}

// watchBatch follows a batch until its stream ends and returns every batch
// it was sent.
func watchBatch(t *testing.T, ctx context.Context, c jobsv1.JobServiceClient, id string) []*jobsv1.Batch {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	st, err := c.WatchBatch(ctx, &jobsv1.WatchBatchRequest{BatchId: id})
	if err != nil {
		t.Fatalf("WatchBatch(%s): %v", id, err)
	}
	var seen []*jobsv1.Batch
	for {
		m, err := st.Recv()
		if errors.Is(err, io.EOF) {
			return seen
		}
		if err != nil {
			t.Fatalf("WatchBatch(%s) after %d messages: %v", id, len(seen), err)
		}
		seen = append(seen, m.GetBatch())
	}
}

func TestSubmitBatchRuns(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		t.Parallel()
		root, _ := newMediaRoot(t)
		env := newTestClient(t, db, mediaRoot(root))
		acme := env.key(t, "acme", auth.RoleEditor)
		cuts := mustUpload(t, acme, env.Videos, fixtures.Cuts)

		req := &jobsv1.SubmitBatchRequest{
			Items: []*jobsv1.BatchItem{
				{Source: &jobsv1.BatchItem_VideoId{VideoId: cuts.GetId()}},
				{Source: &jobsv1.BatchItem_Path{Path: "shows/still.mp4"}},
				{Source: &jobsv1.BatchItem_Path{Path: filepath.Join(root, "shows", "..", "shows", "still.mp4")}},
			},
			Priority: jobsv1.Priority_PRIORITY_HIGH, IdempotencyKey: "batch-1",
		}
		res, err := env.Jobs.SubmitBatch(acme, req)
		if err != nil {
			t.Fatalf("SubmitBatch: %v", err)
		}
		b := res.GetBatch()
		if !strings.HasPrefix(b.GetId(), "bat_") || len(b.GetJobIds()) != 3 {
			t.Fatalf("batch = %v, want a bat_ id and 3 jobs", b)
		}
		// The path items became the tenant's video, the same content twice.
		wantVideos := []string{cuts.GetId(), videoID(fixture(t, fixtures.Still)), videoID(fixture(t, fixtures.Still))}
		for i, id := range b.GetJobIds() {
			j, err := env.Jobs.GetJob(acme, &jobsv1.GetJobRequest{JobId: id})
			if err != nil {
				t.Fatal(err)
			}
			if j.GetJob().GetVideoId() != wantVideos[i] || j.GetJob().GetBatchId() != b.GetId() || j.GetJob().GetPriority() != jobsv1.Priority_PRIORITY_HIGH {
				t.Errorf("job %d = video %s, batch %s, %s; want %s, %s, HIGH", i, j.GetJob().GetVideoId(), j.GetJob().GetBatchId(), j.GetJob().GetPriority(), wantVideos[i], b.GetId())
			}
		}
		// The same key returns the same batch, and queues nothing more.
		again, err := env.Jobs.SubmitBatch(acme, req)
		if err != nil || again.GetBatch().GetId() != b.GetId() {
			t.Fatalf("SubmitBatch again = %v, %v; want batch %s", again, err, b.GetId())
		}

		seen := watchBatch(t, acme, env.Jobs, b.GetId())
		last := seen[len(seen)-1]
		if !last.GetDone() || last.GetProgress().GetFraction() != 1 || last.GetEtaSeconds() != 0 {
			t.Errorf("last watched batch = %v, want done at 100%%", last)
		}
		if diff := cmp.Diff(map[string]int32{"JOB_STATE_SUCCEEDED": 3}, last.GetCounts()); diff != "" {
			t.Errorf("counts (-want +got):\n%s", diff)
		}
		for i := 1; i < len(seen); i++ {
			if seen[i].GetProgress().GetFraction() < seen[i-1].GetProgress().GetFraction() {
				t.Errorf("progress went back: %v then %v", seen[i-1].GetProgress().GetFraction(), seen[i].GetProgress().GetFraction())
			}
		}
		got, err := env.Jobs.GetBatch(acme, &jobsv1.GetBatchRequest{BatchId: b.GetId()})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(last, got.GetBatch(), protocmp.Transform()); diff != "" {
			t.Errorf("GetBatch after the watch (-watched +got):\n%s", diff)
		}
		// Another tenant does not see it.
		other := env.key(t, "other", auth.RoleEditor)
		if _, err := env.Jobs.GetBatch(other, &jobsv1.GetBatchRequest{BatchId: b.GetId()}); status.Code(err) != codes.NotFound {
			t.Errorf("GetBatch as another tenant = %v, want NotFound", err)
		}
	})
}

func TestSubmitBatchRefused(t *testing.T) {
	t.Parallel()
	root, outside := newMediaRoot(t)
	env := newTestClient(t, storetest.SQLite(t), mediaRoot(root), maxBatchItems(3), noWorkers())
	acme := env.key(t, "acme", auth.RoleEditor)
	viewer := env.key(t, "acme", auth.RoleViewer)
	cuts := mustUpload(t, acme, env.Videos, fixtures.Cuts)
	good := &jobsv1.BatchItem{Source: &jobsv1.BatchItem_VideoId{VideoId: cuts.GetId()}}
	path := func(p string) *jobsv1.BatchItem { return &jobsv1.BatchItem{Source: &jobsv1.BatchItem_Path{Path: p}} }

	noRoot := newTestClient(t, storetest.SQLite(t), noWorkers())
	for _, tt := range []struct {
		name    string
		env     *testEnv
		ctx     context.Context
		items   []*jobsv1.BatchItem
		want    codes.Code
		wantMsg string
	}{
		{"no items", env, acme, nil, codes.InvalidArgument, "items is required"},
		{"over the limit", env, acme, []*jobsv1.BatchItem{good, good, good, good}, codes.InvalidArgument, "items: 4 items, at most 3"},
		{"url", env, acme, []*jobsv1.BatchItem{good, {Source: &jobsv1.BatchItem_Url{Url: "https://example.com/v.mp4"}}}, codes.InvalidArgument, "items[1].url: url import not configured"},
		{"empty item", env, acme, []*jobsv1.BatchItem{{}}, codes.InvalidArgument, "items[0]: one of video_id, path or url is required"},
		{"unknown video", env, acme, []*jobsv1.BatchItem{good, {Source: &jobsv1.BatchItem_VideoId{VideoId: "vid_ffffffffffffffffffffffffffffffff"}}}, codes.NotFound, "items[1].video_id: video not found"},
		{"malformed video id", env, acme, []*jobsv1.BatchItem{{Source: &jobsv1.BatchItem_VideoId{VideoId: "nope"}}}, codes.InvalidArgument, "items[0].video_id"},
		{"dot-dot", env, acme, []*jobsv1.BatchItem{good, path("../private.mp4")}, codes.InvalidArgument, "items[1].path:"},
		{"absolute outside", env, acme, []*jobsv1.BatchItem{path(outside)}, codes.InvalidArgument, "outside the media root"},
		{"symlink out", env, acme, []*jobsv1.BatchItem{path("link.mp4")}, codes.InvalidArgument, "outside the media root"},
		{"missing file", env, acme, []*jobsv1.BatchItem{path("shows/none.mp4")}, codes.InvalidArgument, "does not exist"},
		{"directory", env, acme, []*jobsv1.BatchItem{path("shows")}, codes.InvalidArgument, "not a regular file"},
		{"no media root", noRoot, noRoot.key(t, "acme", auth.RoleEditor), []*jobsv1.BatchItem{path("shows/still.mp4")}, codes.InvalidArgument, "no media root is configured"},
		{"viewer", env, viewer, []*jobsv1.BatchItem{good}, codes.PermissionDenied, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.env.Jobs.SubmitBatch(tt.ctx, &jobsv1.SubmitBatchRequest{Items: tt.items})
			if status.Code(err) != tt.want || !strings.Contains(status.Convert(err).Message(), tt.wantMsg) {
				t.Errorf("got %v, want %v saying %q", err, tt.want, tt.wantMsg)
			}
		})
	}
	for _, tt := range []struct {
		name, id string
		want     codes.Code
	}{
		{"unknown", "bat_00000000000000000000000000000000", codes.NotFound},
		{"malformed", "job_1", codes.InvalidArgument},
	} {
		if _, err := env.Jobs.GetBatch(acme, &jobsv1.GetBatchRequest{BatchId: tt.id}); status.Code(err) != tt.want {
			t.Errorf("GetBatch %s = %v, want %v", tt.name, err, tt.want)
		}
		st, err := env.Jobs.WatchBatch(acme, &jobsv1.WatchBatchRequest{BatchId: tt.id})
		if err == nil {
			_, err = st.Recv()
		}
		if status.Code(err) != tt.want {
			t.Errorf("WatchBatch %s = %v, want %v", tt.name, err, tt.want)
		}
	}
	// Nothing refused was stored or queued, and no file outside the root
	// was read into the catalog.
	stream, err := env.NATS.JS.Stream(t.Context(), runner.StreamName)
	if err != nil {
		t.Fatal(err)
	}
	info, err := stream.Info(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Msgs != 0 {
		t.Errorf("work queue holds %d messages after refused batches, want 0", info.State.Msgs)
	}
	if keys := env.blobKeys(t); len(keys) != 1 {
		t.Errorf("blobs %v, want only the uploaded video's", keys)
	}
}
