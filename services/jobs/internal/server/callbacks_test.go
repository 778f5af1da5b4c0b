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
	type post struct{ body, sig string }
	var mu sync.Mutex
	var posts []post
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		posts = append(posts, post{string(b), r.Header.Get(callback.SignatureHeader)})
	}))
	t.Cleanup(srv.Close)
	allow, _ := callback.ParseAllow("127.0.0.1")
	env := newTestClient(t, storetest.SQLite(t), callbacks(&callback.Sender{Secret: []byte("master"), Allow: allow}))
	acme := env.key(t, "acme", auth.RoleEditor)
	other := env.key(t, "acme", auth.RoleEditor)
	video := mustUpload(t, acme, env.Videos, fixtures.Still)

	// Each API key has its own secret.
	sec, err := env.Jobs.GetCallbackSecret(acme, &jobsv1.GetCallbackSecretRequest{})
	if err != nil {
		t.Fatalf("GetCallbackSecret: %v", err)
	}
	otherSec, err := env.Jobs.GetCallbackSecret(other, &jobsv1.GetCallbackSecretRequest{})
	if err != nil {
		t.Fatalf("GetCallbackSecret: %v", err)
	}
	if len(sec.GetSecret()) != 64 || sec.GetSecret() == otherSec.GetSecret() || !strings.HasPrefix(sec.GetSubmitter(), "key_") {
		t.Fatalf("secrets %q (%s) and %q (%s): want two different 64-digit secrets of two keys",
			sec.GetSecret(), sec.GetSubmitter(), otherSec.GetSecret(), otherSec.GetSubmitter())
	}

	res, err := env.Jobs.Analyze(acme, &jobsv1.AnalyzeRequest{VideoId: video.GetId(), CallbackUrl: srv.URL + "/hook"})
	if err != nil {
		t.Fatalf("Analyze: %v", err)
	}
	id := res.GetJob().GetId()
	if res.GetJob().GetSubmitter() != sec.GetSubmitter() {
		t.Errorf("job submitter = %q, want %q", res.GetJob().GetSubmitter(), sec.GetSubmitter())
	}
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
	if len(posts) != 1 {
		t.Fatalf("receiver got %d posts, want 1", len(posts))
	}
	p := posts[0]
	if p.sig != callback.Sign([]byte(sec.GetSecret()), []byte(p.body)) {
		t.Errorf("signature %q does not verify with the submitting key's secret", p.sig)
	}
	if p.sig == callback.Sign([]byte(otherSec.GetSecret()), []byte(p.body)) || p.sig == callback.Sign([]byte("master"), []byte(p.body)) {
		t.Errorf("signature verifies with another key's secret or the master key")
	}
	var ev jobsv1.JobProgressed
	if err := protojson.Unmarshal([]byte(p.body), &ev); err != nil {
		t.Fatalf("posted body %s: %v", p.body, err)
	}
	if ev.GetJob().GetId() != id || ev.GetJob().GetState() != jobsv1.JobState_JOB_STATE_SUCCEEDED {
		t.Errorf("posted job %v, want %s SUCCEEDED", ev.GetJob(), id)
	}
}

// TestBatchCallback checks that a batch's callback is posted once, when its
// last job is final, signed with the submitting key's secret and carrying
// the finished batch; and that the delivery shows on the batch.
func TestBatchCallback(t *testing.T) {
	t.Parallel()
	type post struct{ body, sig string }
	var mu sync.Mutex
	var posts []post
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		posts = append(posts, post{string(b), r.Header.Get(callback.SignatureHeader)})
		if len(posts) == 1 {
			w.WriteHeader(http.StatusServiceUnavailable) // retried
		}
	}))
	t.Cleanup(srv.Close)
	allow, _ := callback.ParseAllow("127.0.0.1")
	env := newTestClient(t, storetest.SQLite(t), callbacks(&callback.Sender{Secret: []byte("master"), Allow: allow}))
	acme := env.key(t, "acme", auth.RoleEditor)
	sec, err := env.Jobs.GetCallbackSecret(acme, &jobsv1.GetCallbackSecretRequest{})
	if err != nil {
		t.Fatalf("GetCallbackSecret: %v", err)
	}
	a := mustUpload(t, acme, env.Videos, fixtures.Still)
	b := mustUpload(t, acme, env.Videos, fixtures.NoAudio)
	res, err := env.Jobs.SubmitBatch(acme, &jobsv1.SubmitBatchRequest{CallbackUrl: srv.URL + "/batch", Items: []*jobsv1.BatchItem{
		{Source: &jobsv1.BatchItem_VideoId{VideoId: a.GetId()}}, {Source: &jobsv1.BatchItem_VideoId{VideoId: b.GetId()}},
		{Source: &jobsv1.BatchItem_VideoId{VideoId: a.GetId()}}}})
	if err != nil {
		t.Fatalf("SubmitBatch: %v", err)
	}
	id := res.GetBatch().GetId()
	deadline := time.Now().Add(60 * time.Second)
	var batch *jobsv1.Batch
	for time.Now().Before(deadline) {
		got, err := env.Jobs.GetBatch(acme, &jobsv1.GetBatchRequest{BatchId: id})
		if err != nil {
			t.Fatal(err)
		}
		if batch = got.GetBatch(); batch.GetCallback().GetDelivered() || batch.GetCallback().GetGaveUp() {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if cb := batch.GetCallback(); !cb.GetDelivered() || cb.GetAttempts() != 2 || cb.GetLastStatusCode() != 200 {
		t.Fatalf("batch callback = %v, want delivered on the second attempt", cb)
	}
	if batch.GetCallbackUrl() != srv.URL+"/batch" {
		t.Errorf("batch callbackUrl = %q", batch.GetCallbackUrl())
	}
	time.Sleep(200 * time.Millisecond) // nothing more comes
	mu.Lock()
	defer mu.Unlock()
	if len(posts) != 2 {
		t.Fatalf("receiver got %d posts, want 2 (one retried)", len(posts))
	}
	for i, p := range posts {
		if p.sig != callback.Sign([]byte(sec.GetSecret()), []byte(p.body)) {
			t.Errorf("post %d: signature does not verify with the key's secret", i)
		}
		var ev jobsv1.BatchFinished
		if err := protojson.Unmarshal([]byte(p.body), &ev); err != nil {
			t.Fatalf("post %d: body %s: %v", i, p.body, err)
		}
		if ev.GetBatch().GetId() != id || !ev.GetBatch().GetDone() || ev.GetBatch().GetCounts()["JOB_STATE_SUCCEEDED"] != 3 {
			t.Errorf("post %d: batch %v, want %s done with 3 succeeded jobs", i, ev.GetBatch(), id)
		}
	}
}
