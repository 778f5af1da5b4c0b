package runner_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/protojson"

	jobsv1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/jobs/v1"
	"github.com/clipmesh/clipmesh/services/jobs/internal/callback"
	"github.com/clipmesh/clipmesh/services/jobs/internal/pipeline"
)

// hookSender's master secret signs the test callbacks.
var hookSender = &callback.Sender{Secret: []byte("hook-secret")}

// receiver is a callback receiver answering with the next of its answers
// (the last one repeats), recording what it got.
type receiver struct {
	mu      sync.Mutex
	answers []int
	got     []*jobsv1.JobProgressed
	badSig  int
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if r.Header.Get(callback.SignatureHeader) != callback.Sign(hookSender.SecretFor(tenant, "key_hook"), b) {
		rc.badSig++
	}
	var ev jobsv1.JobProgressed
	if err := protojson.Unmarshal(b, &ev); err == nil {
		rc.got = append(rc.got, &ev)
	}
	code := rc.answers[min(len(rc.got)-1, len(rc.answers)-1)]
	w.WriteHeader(code)
}

func TestCallbacks(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		fail      bool  // the job fails for good
		answers   []int // the receiver's answers, in turn
		wantState jobsv1.JobState
		want      *jobsv1.CallbackDelivery
	}{
		{"delivered after a retry", false, []int{503, 200}, jobsv1.JobState_JOB_STATE_SUCCEEDED,
			&jobsv1.CallbackDelivery{Attempts: 2, Delivered: true, LastStatusCode: 200}},
		{"refused by the receiver", false, []int{400}, jobsv1.JobState_JOB_STATE_SUCCEEDED,
			&jobsv1.CallbackDelivery{Attempts: 1, GaveUp: true, LastStatusCode: 400, LastError: "callback refused: receiver answered 400 Bad Request"}},
		{"given up after max attempts", false, []int{500}, jobsv1.JobState_JOB_STATE_SUCCEEDED,
			&jobsv1.CallbackDelivery{Attempts: 3, GaveUp: true, LastStatusCode: 500, LastError: "callback: receiver answered 500 Internal Server Error"}},
		{"on dead letter too", true, []int{200}, jobsv1.JobState_JOB_STATE_DEAD_LETTER,
			&jobsv1.CallbackDelivery{Attempts: 1, Delivered: true, LastStatusCode: 200}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rc := &receiver{answers: tc.answers}
			srv := httptest.NewServer(rc)
			t.Cleanup(srv.Close)
			tr := newTestRunner(t, execFunc(func(context.Context, string, *jobsv1.Job, pipeline.Reporter) error {
				if tc.fail {
					return errors.New("probe: store unavailable")
				}
				return nil
			}), 1)
			allow, _ := callback.ParseAllow("127.0.0.1")
			tr.Callbacks = &callback.Sender{Secret: hookSender.Secret, Allow: allow}
			tr.CallbackAttempts, tr.CallbackBackoff = 3, 20*time.Millisecond
			tr.start(t)
			id := tr.submit(t, &jobsv1.Job{CallbackUrl: srv.URL + "/hook", Submitter: "key_hook"}).GetId()

			deadline := time.Now().Add(30 * time.Second)
			var job *jobsv1.Job
			for {
				var err error
				if job, err = tr.Store.Get(t.Context(), tenant, id); err != nil {
					t.Fatal(err)
				}
				if job.GetCallback().GetDelivered() || job.GetCallback().GetGaveUp() || time.Now().After(deadline) {
					break
				}
				time.Sleep(10 * time.Millisecond)
			}
			if job.GetState() != tc.wantState {
				t.Errorf("state = %s, want %s", job.GetState(), tc.wantState)
			}
			cb := job.GetCallback()
			if cb.GetAttempts() != tc.want.GetAttempts() || cb.GetDelivered() != tc.want.GetDelivered() || cb.GetGaveUp() != tc.want.GetGaveUp() ||
				cb.GetLastStatusCode() != tc.want.GetLastStatusCode() || cb.GetLastError() != tc.want.GetLastError() || cb.GetLastAttemptTime() == nil {
				t.Errorf("callback = %v, want %v", cb, tc.want)
			}
			time.Sleep(100 * time.Millisecond) // nothing more comes
			rc.mu.Lock()
			defer rc.mu.Unlock()
			if rc.badSig != 0 {
				t.Errorf("%d callbacks with a bad signature", rc.badSig)
			}
			if len(rc.got) != int(tc.want.GetAttempts()) {
				t.Fatalf("receiver got %d posts, want %d", len(rc.got), tc.want.GetAttempts())
			}
			if j := rc.got[0].GetJob(); j.GetId() != id || j.GetState() != tc.wantState {
				t.Errorf("posted job %s %s, want %s %s", j.GetId(), j.GetState(), id, tc.wantState)
			}
		})
	}
}
