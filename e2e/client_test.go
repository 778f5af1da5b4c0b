//go:build unix

package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"math"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	jobsv1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/jobs/v1"
	videosv1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/videos/v1"
	"github.com/clipmesh/clipmesh/platform/fixtures"
)

// httpClient is shared by the tests; requests carry their own deadlines.
var httpClient = &http.Client{Timeout: 60 * time.Second}

// unmarshal reads REST JSON the way a client built from the protos does:
// unknown fields are ignored (a newer server may add some).
var unmarshal = protojson.UnmarshalOptions{DiscardUnknown: true}

func readAll(t *testing.T, resp *http.Response) []byte {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read %s %s response: %v", resp.Request.Method, resp.Request.URL, err)
	}
	return b
}

// call sends a REST request (body is JSON when not nil; key, when not
// empty, is sent as a bearer token) and returns the status and body.
func call(t *testing.T, method, url, key string, body any) (int, []byte) {
	t.Helper()
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(t.Context(), method, url, r)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	return resp.StatusCode, readAll(t, resp)
}

// get is call with GET and an expected status; it returns the body.
func get(t *testing.T, url, key string, want int) []byte {
	t.Helper()
	code, body := call(t, http.MethodGet, url, key, nil)
	if code != want {
		t.Fatalf("GET %s: status %d, want %d; body: %s", url, code, want, body)
	}
	return body
}

// decode unmarshals REST JSON into a proto message.
func decode(t *testing.T, what string, b []byte, m proto.Message) {
	t.Helper()
	if err := unmarshal.Unmarshal(b, m); err != nil {
		t.Fatalf("%s: not a %T: %v\n%s", what, m, err, b)
	}
}

// apiError is the gateway's error body.
type apiError struct {
	Code    *int   `json:"code"`
	Message string `json:"message"`
}

// wantError checks that body is the gateway's JSON error with a message.
func wantError(t *testing.T, what string, body []byte) apiError {
	t.Helper()
	var e apiError
	if err := json.Unmarshal(body, &e); err != nil {
		t.Fatalf("%s: error body is not JSON: %v\n%s", what, err, body)
	}
	if e.Code == nil || strings.TrimSpace(e.Message) == "" {
		t.Fatalf("%s: error body lacks code or message: %s", what, body)
	}
	return e
}

// upload POSTs the file at path to /v1/videos as multipart/form-data, the
// way a browser or curl -F does, streaming it through a pipe so the body is
// never in memory. It returns the status, headers and body of the response.
func upload(t *testing.T, baseURL, key, path string) (int, http.Header, []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	written := make(chan error, 1)
	go func() {
		err := func() error {
			f, err := os.Open(path)
			if err != nil {
				return err
			}
			defer f.Close()
			h := make(textproto.MIMEHeader)
			h.Set("Content-Disposition", multipart.FileContentDisposition("file", filepath.Base(path)))
			h.Set("Content-Type", "video/mp4")
			part, err := mw.CreatePart(h)
			if err != nil {
				return err
			}
			if _, err := io.Copy(part, f); err != nil {
				return err
			}
			return mw.Close()
		}()
		// A nil error closes the pipe cleanly; any other fails the request.
		_ = pw.CloseWithError(err)
		written <- err
	}()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, baseURL+"/v1/videos", pr)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		_ = pr.CloseWithError(err)
		<-written
		t.Fatalf("upload %s: %v", filepath.Base(path), err)
	}
	body := readAll(t, resp)
	// A server may answer (401, 403) before reading the whole body: stop
	// the writer then, and wait for it so no goroutine outlives the test.
	_ = pr.CloseWithError(errors.New("response received"))
	if err := <-written; err != nil && resp.StatusCode < 300 {
		t.Fatalf("upload %s: writing the body: %v", filepath.Base(path), err)
	}
	return resp.StatusCode, resp.Header, body
}

// checkCutsProbe checks the probe of fixtures.Cuts against its known truth.
func checkCutsProbe(t *testing.T, what string, p *videosv1.Probe) {
	t.Helper()
	if p == nil {
		t.Fatalf("%s: no probe", what)
	}
	if d := p.GetDurationSeconds(); math.Abs(d-fixtures.CutsSeconds) > 0.1 {
		t.Errorf("%s: duration %.3f s, want %.1f s", what, d, fixtures.CutsSeconds)
	}
	v := p.GetVideo()
	if v == nil || !p.GetHasVideo() {
		t.Fatalf("%s: no video stream in the probe: %v", what, p)
	}
	if math.Abs(v.GetFps()-fixtures.FPS) > 0.01 {
		t.Errorf("%s: fps %v, want %d", what, v.GetFps(), fixtures.FPS)
	}
	if v.GetWidth() != fixtures.Width || v.GetHeight() != fixtures.Height {
		t.Errorf("%s: frame %dx%d, want %dx%d", what, v.GetWidth(), v.GetHeight(), fixtures.Width, fixtures.Height)
	}
	if !p.GetHasAudio() {
		t.Errorf("%s: the probe found no audio stream; cuts.mp4 has one", what)
	}
}

// dial connects to a server's gRPC port, closed at cleanup.
func dial(t *testing.T, addr string) *grpc.ClientConn {
	t.Helper()
	cc, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	t.Cleanup(func() { _ = cc.Close() })
	return cc
}

// terminal reports whether a job has reached a final state.
func terminal(s jobsv1.JobState) bool {
	switch s {
	case jobsv1.JobState_JOB_STATE_SUCCEEDED, jobsv1.JobState_JOB_STATE_FAILED,
		jobsv1.JobState_JOB_STATE_CANCELLED, jobsv1.JobState_JOB_STATE_DEAD_LETTER:
		return true
	}
	return false
}

// pollJob GETs /v1/jobs/{id} until the job is final (bounded) and returns it.
func pollJob(t *testing.T, baseURL, id string) *jobsv1.Job {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		var res jobsv1.GetJobResponse
		decode(t, "GET /v1/jobs/"+id, get(t, baseURL+"/v1/jobs/"+id, "", http.StatusOK), &res)
		job := res.GetJob()
		if job.GetId() != id {
			t.Fatalf("GET /v1/jobs/%s returned job %q", id, job.GetId())
		}
		if terminal(job.GetState()) {
			return job
		}
		if time.Now().After(deadline) {
			t.Fatalf("job %s still %s after 60s: %v", id, job.GetState(), job)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// watchJob reads GET /v1/jobs/{id}:watch to its end and returns every job
// it carried. The stream is newline-delimited JSON, one
// {"result": WatchJobResponse} (or {"error": Status}) per line.
func watchJob(t *testing.T, baseURL, id string) []*jobsv1.Job {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, baseURL+"/v1/jobs/"+id+":watch", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		t.Fatalf("watch %s: %v", id, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("watch %s: status %d: %s", id, resp.StatusCode, readAll(t, resp))
	}
	var jobs []*jobsv1.Job
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
	for sc.Scan() {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		var msg struct {
			Result json.RawMessage `json:"result"`
			Error  json.RawMessage `json:"error"`
		}
		if err := json.Unmarshal(line, &msg); err != nil {
			t.Fatalf("watch %s: a line is not JSON: %v\n%s", id, err, line)
		}
		if msg.Error != nil {
			t.Fatalf("watch %s: the stream reported an error: %s", id, msg.Error)
		}
		var w jobsv1.WatchJobResponse
		decode(t, "watch "+id, msg.Result, &w)
		jobs = append(jobs, w.GetJob())
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("watch %s: stream broken after %d messages: %v", id, len(jobs), err)
	}
	return jobs
}
