package server_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"

	jobsv1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/jobs/v1"
	"github.com/clipmesh/clipmesh/platform/auth"
	"github.com/clipmesh/clipmesh/platform/fixtures"
	"github.com/clipmesh/clipmesh/platform/store/storetest"
	"github.com/clipmesh/clipmesh/services/jobs/internal/callback"
)

func TestCallbackURLRefused(t *testing.T) {
	t.Parallel()
	env := newTestClient(t, storetest.SQLite(t), noWorkers(), callbacks(&callback.Sender{Secret: []byte("k")}))
	off := newTestClient(t, storetest.SQLite(t), noWorkers())
	acme := env.key(t, "acme", auth.RoleEditor)
	video := mustUpload(t, acme, env.Videos, fixtures.Still)
	offCtx := off.key(t, "acme", auth.RoleEditor)
	offVideo := mustUpload(t, offCtx, off.Videos, fixtures.Still)
	for _, tc := range []struct {
		url, wantMsg string
	}{
		{"http://169.254.169.254/latest/meta-data/", "link-local"},
		{"http://localhost:8080/hook", "loopback"},
		{"http://10.0.0.7/hook", "private"},
		{"file:///etc/passwd", "scheme"},
	} {
		_, err := env.Jobs.Analyze(acme, &jobsv1.AnalyzeRequest{VideoId: video.GetId(), CallbackUrl: tc.url})
		if status.Code(err) != codes.InvalidArgument || !strings.Contains(status.Convert(err).Message(), "callback_url") ||
			!strings.Contains(status.Convert(err).Message(), tc.wantMsg) {
			t.Errorf("Analyze with callback %s = %v, want InvalidArgument naming callback_url and %q", tc.url, err, tc.wantMsg)
		}
		_, err = env.Jobs.SubmitBatch(acme, &jobsv1.SubmitBatchRequest{CallbackUrl: tc.url,
			Items: []*jobsv1.BatchItem{{Source: &jobsv1.BatchItem_VideoId{VideoId: video.GetId()}}}})
		if status.Code(err) != codes.InvalidArgument || !strings.Contains(status.Convert(err).Message(), "callback_url") {
			t.Errorf("SubmitBatch with callback %s = %v, want InvalidArgument naming callback_url", tc.url, err)
		}
	}
	_, err := off.Jobs.Analyze(offCtx, &jobsv1.AnalyzeRequest{VideoId: offVideo.GetId(), CallbackUrl: "https://93.184.216.34/hook"})
	if status.Code(err) != codes.FailedPrecondition {
		t.Errorf("Analyze with a callback, callbacks not configured = %v, want FailedPrecondition", err)
	}
	// Nothing refused was queued.
	if jobs, err := env.Jobs.ListJobs(acme, &jobsv1.ListJobsRequest{}); err != nil || len(jobs.GetJobs()) != 0 {
		t.Errorf("ListJobs after refusals = %v, %v; want none", jobs, err)
	}
}

func TestCallbackDelivered(t *testing.T) {
	t.Parallel()
	secret := []byte("hook-secret")
	var mu sync.Mutex
	var posts []string
	var sigOK bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		posts = append(posts, string(b))
		sigOK = r.Header.Get(callback.SignatureHeader) == callback.Sign(secret, b)
	}))
	t.Cleanup(srv.Close)
	allow, _ := callback.ParseAllow("127.0.0.1")
	env := newTestClient(t, storetest.SQLite(t), callbacks(&callback.Sender{Secret: secret, Allow: allow}))
	acme := env.key(t, "acme", auth.RoleEditor)
	video := mustUpload(t, acme, env.Videos, fixtures.Still)
	res, err := env.Jobs.Analyze(acme, &jobsv1.AnalyzeRequest{VideoId: video.GetId(), CallbackUrl: srv.URL + "/hook"})
	if err != nil {
		t.Fatalf("Analyze: %v", err)
	}
	id := res.GetJob().GetId()
	deadline := time.Now().Add(30 * time.Second)
	var job *jobsv1.Job
	for time.Now().Before(deadline) {
		got, err := env.Jobs.GetJob(acme, &jobsv1.GetJobRequest{JobId: id})
		if err != nil {
			t.Fatal(err)
		}
		if job = got.GetJob(); job.GetCallback().GetDelivered() {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if !job.GetCallback().GetDelivered() || job.GetCallback().GetAttempts() != 1 || job.GetCallback().GetLastStatusCode() != 200 {
		t.Fatalf("callback = %v, want delivered on the first attempt", job.GetCallback())
	}
	mu.Lock()
	defer mu.Unlock()
	if len(posts) != 1 || !sigOK {
		t.Fatalf("receiver got %d posts, signature ok %v; want 1 signed post", len(posts), sigOK)
	}
	var ev jobsv1.JobProgressed
	if err := protojson.Unmarshal([]byte(posts[0]), &ev); err != nil {
		t.Fatalf("posted body %s: %v", posts[0], err)
	}
	if ev.GetJob().GetId() != id || ev.GetJob().GetState() != jobsv1.JobState_JOB_STATE_SUCCEEDED {
		t.Errorf("posted job %v, want %s SUCCEEDED", ev.GetJob(), id)
	}
}
