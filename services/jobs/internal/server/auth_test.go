package server_test

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/testing/protocmp"

	jobsv1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/jobs/v1"
	videosv1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/videos/v1"
	"github.com/clipmesh/clipmesh/platform/auth"
	"github.com/clipmesh/clipmesh/platform/fixtures"
	"github.com/clipmesh/clipmesh/platform/store"
	"github.com/clipmesh/clipmesh/platform/store/storetest"
)

// calls are one call of every RPC, on a video and a job that exist for
// their owner.
func calls(env *testEnv, videoID, jobID string, videoBytes []byte) map[string]func(ctx context.Context) error {
	return map[string]func(ctx context.Context) error{
		"Upload": func(ctx context.Context) error {
			_, err := upload(ctx, env.Videos, "x.mp4", videoBytes)
			return err
		},
		"GetVideo": func(ctx context.Context) error {
			_, err := env.Videos.GetVideo(ctx, &videosv1.GetVideoRequest{VideoId: videoID})
			return err
		},
		"ListVideos": func(ctx context.Context) error {
			_, err := env.Videos.ListVideos(ctx, &videosv1.ListVideosRequest{})
			return err
		},
		"DeleteVideo": func(ctx context.Context) error {
			_, err := env.Videos.DeleteVideo(ctx, &videosv1.DeleteVideoRequest{VideoId: videoID})
			return err
		},
		"Analyze": func(ctx context.Context) error {
			_, err := env.Jobs.Analyze(ctx, &jobsv1.AnalyzeRequest{VideoId: videoID})
			return err
		},
		"GetJob": func(ctx context.Context) error {
			_, err := env.Jobs.GetJob(ctx, &jobsv1.GetJobRequest{JobId: jobID})
			return err
		},
		"ListJobs": func(ctx context.Context) error {
			_, err := env.Jobs.ListJobs(ctx, &jobsv1.ListJobsRequest{})
			return err
		},
		"WatchJob": func(ctx context.Context) error {
			// The first message (the job now) is enough.
			ctx, cancel := context.WithCancel(ctx)
			defer cancel()
			st, err := env.Jobs.WatchJob(ctx, &jobsv1.WatchJobRequest{JobId: jobID})
			if err != nil {
				return err
			}
			_, err = st.Recv()
			return err
		},
		"CancelJob": func(ctx context.Context) error {
			_, err := env.Jobs.CancelJob(ctx, &jobsv1.CancelJobRequest{JobId: jobID})
			return err
		},
	}
}

func TestAuth(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		t.Parallel()
		// No workers: the job stays queued and CancelJob is checked, not
		// raced by a worker.
		env := newTestClient(t, db, noWorkers())
		owner := env.key(t, "acme", auth.RoleEditor)
		small := fixture(t, fixtures.MovingSquare)
		video := mustUpload(t, owner, env.Videos, fixtures.NoAudio)
		res, err := env.Jobs.Analyze(owner, &jobsv1.AnalyzeRequest{VideoId: video.GetId()})
		if err != nil {
			t.Fatalf("Analyze: %v", err)
		}
		job := res.GetJob()

		revokedID, revokedKey, err := env.Keys.Create(t.Context(), "acme", auth.RoleAdmin, "revoked")
		if err != nil {
			t.Fatal(err)
		}
		if err := env.Keys.Revoke(t.Context(), revokedID); err != nil {
			t.Fatal(err)
		}
		ctx := t.Context()
		forged := metadata.AppendToOutgoingContext(ctx, "x-clipmesh-tenant", "acme", "x-clipmesh-role", "admin")
		badMesh := metadata.AppendToOutgoingContext(ctx, "x-clipmesh-mesh-token", "guess", "x-clipmesh-tenant", "acme", "x-clipmesh-role", "admin")
		callers := []struct {
			name string
			ctx  context.Context
			// want is the code of each call; absent means codes.OK.
			want map[string]codes.Code
		}{
			{"no key", ctx, every(codes.Unauthenticated)},
			{"unknown key", withAuthorization(ctx, "Bearer cm_not-a-key"), every(codes.Unauthenticated)},
			{"not bearer", withAuthorization(ctx, "Basic YWNtZTpzZWNyZXQ="), every(codes.Unauthenticated)},
			{"empty bearer", withAuthorization(ctx, "Bearer "), every(codes.Unauthenticated)},
			{"revoked key", withAuthorization(ctx, "Bearer "+revokedKey), every(codes.Unauthenticated)},
			{"tenant claimed without mesh token", forged, every(codes.Unauthenticated)},
			{"wrong mesh token", badMesh, every(codes.Unauthenticated)},
			{"other tenant's admin", env.key(t, "globex", auth.RoleAdmin), map[string]codes.Code{
				"GetVideo": codes.NotFound, "DeleteVideo": codes.NotFound, "Analyze": codes.NotFound,
				"GetJob": codes.NotFound, "WatchJob": codes.NotFound, "CancelJob": codes.NotFound,
			}},
			{"owner's viewer", env.key(t, "acme", auth.RoleViewer), map[string]codes.Code{
				"Upload": codes.PermissionDenied, "DeleteVideo": codes.PermissionDenied,
				"Analyze": codes.PermissionDenied, "CancelJob": codes.PermissionDenied,
			}},
		}
		for _, c := range callers {
			t.Run(c.name, func(t *testing.T) {
				t.Parallel()
				for name, call := range calls(env, video.GetId(), job.GetId(), small) {
					want := c.want[name]
					if err := call(c.ctx); status.Code(err) != want {
						t.Errorf("%s = %v, want %v", name, err, want)
					}
				}
			})
		}
		t.Run("messages", func(t *testing.T) {
			t.Parallel()
			_, err := env.Videos.ListVideos(ctx, &videosv1.ListVideosRequest{})
			if msg := status.Convert(err).Message(); !strings.Contains(msg, "missing API key") {
				t.Errorf("keyless call: %q, want it to say the API key is missing", msg)
			}
			_, err = env.Videos.ListVideos(withAuthorization(ctx, "Bearer cm_not-a-key"), &videosv1.ListVideosRequest{})
			if msg := status.Convert(err).Message(); !strings.Contains(msg, "unknown or revoked API key") {
				t.Errorf("unknown key: %q, want it to say the key is unknown", msg)
			}
			_, err = env.Videos.ListVideos(env.key(t, "acme", auth.RoleViewer), &videosv1.ListVideosRequest{})
			if err != nil {
				t.Errorf("viewer's ListVideos: %v", err)
			}
			_, err = env.Jobs.Analyze(env.key(t, "acme", auth.RoleViewer), &jobsv1.AnalyzeRequest{VideoId: video.GetId()})
			if msg := status.Convert(err).Message(); !strings.Contains(msg, "viewer") {
				t.Errorf("viewer's Analyze: %q, want it to name the viewer role", msg)
			}
		})
		t.Run("other tenant lists nothing of acme", func(t *testing.T) {
			t.Parallel()
			initech := env.key(t, "initech", auth.RoleAdmin)
			videos, err := env.Videos.ListVideos(initech, &videosv1.ListVideosRequest{})
			if err != nil {
				t.Fatal(err)
			}
			jobs, err := env.Jobs.ListJobs(initech, &jobsv1.ListJobsRequest{})
			if err != nil {
				t.Fatal(err)
			}
			if len(videos.GetVideos()) != 0 || len(jobs.GetJobs()) != 0 {
				t.Errorf("another tenant lists %d videos and %d jobs, want none", len(videos.GetVideos()), len(jobs.GetJobs()))
			}
		})
	})
}

// every maps each RPC of calls to code.
func every(code codes.Code) map[string]codes.Code {
	m := map[string]codes.Code{}
	for name := range calls(nil, "", "", nil) {
		m[name] = code
	}
	return m
}

func TestAnonymousIsLocalTenant(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		t.Parallel()
		env := newTestClient(t, db, allowAnonymous(), noWorkers())
		anon := t.Context()
		video := mustUpload(t, anon, env.Videos, fixtures.NoAudio)
		job, err := env.Jobs.Analyze(anon, &jobsv1.AnalyzeRequest{VideoId: video.GetId()})
		if err != nil {
			t.Fatalf("keyless Analyze: %v", err)
		}

		// What the keyless caller made belongs to tenant "local".
		local := env.key(t, auth.LocalTenant, auth.RoleViewer)
		got, err := env.Videos.GetVideo(local, &videosv1.GetVideoRequest{VideoId: video.GetId()})
		if err != nil {
			t.Fatalf("GetVideo as a key of tenant %q: %v", auth.LocalTenant, err)
		}
		if diff := cmp.Diff(video, got.GetVideo(), protocmp.Transform()); diff != "" {
			t.Errorf("tenant local's video (-uploaded +got):\n%s", diff)
		}
		if _, err := env.Jobs.GetJob(local, &jobsv1.GetJobRequest{JobId: job.GetJob().GetId()}); err != nil {
			t.Errorf("GetJob as a key of tenant %q: %v", auth.LocalTenant, err)
		}
		other := env.key(t, "acme", auth.RoleAdmin)
		if _, err := env.Videos.GetVideo(other, &videosv1.GetVideoRequest{VideoId: video.GetId()}); status.Code(err) != codes.NotFound {
			t.Errorf("GetVideo as another tenant = %v, want NotFound", err)
		}
		// A key is still checked when one is sent.
		if _, err := env.Videos.ListVideos(withAuthorization(anon, "Bearer cm_not-a-key"), &videosv1.ListVideosRequest{}); status.Code(err) != codes.Unauthenticated {
			t.Errorf("unknown key with anonymous access on = %v, want Unauthenticated", err)
		}
	})
}

func TestHealth(t *testing.T) {
	t.Parallel()
	env := newTestClient(t, storetest.SQLite(t), noWorkers())
	// No key: health is open to probes even when keys are required.
	res, err := env.Health.Check(t.Context(), &healthpb.HealthCheckRequest{})
	if err != nil {
		t.Fatalf("Check: %v", err)
	}
	if got := res.GetStatus(); got != healthpb.HealthCheckResponse_SERVING {
		t.Errorf("health = %v, want SERVING", got)
	}
	_, err = env.Health.Check(t.Context(), &healthpb.HealthCheckRequest{Service: "clipmesh.nope.v1.Nope"})
	if status.Code(err) != codes.NotFound {
		t.Errorf("health of an unknown service = %v, want NotFound", err)
	}
}
