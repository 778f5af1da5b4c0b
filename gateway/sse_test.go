package gateway_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/clipmesh/clipmesh/gateway"
	jobsv1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/jobs/v1"
)

// newGatewayWith serves the services register adds over bufconn gRPC and
// the gateway over real HTTP.
func newGatewayWith(t *testing.T, register func(*grpc.Server), opts gateway.Options) *httptest.Server {
	t.Helper()
	lis := bufconn.Listen(1 << 20)
	srv := grpc.NewServer()
	register(srv)
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)

	cc, err := grpc.NewClient("passthrough:///bufnet",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatalf("grpc.NewClient: %v", err)
	}
	t.Cleanup(func() { _ = cc.Close() })
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(t.Output(), nil))
	}
	h, err := gateway.New(t.Context(), cc, opts)
	if err != nil {
		t.Fatalf("gateway.New: %v", err)
	}
	hs := httptest.NewServer(h)
	t.Cleanup(hs.Close)
	return hs
}

// fakeJobs streams canned watches:
//
//   - job_ok: RUNNING, then SUCCEEDED, then the end;
//   - job_missing: NotFound before any message;
//   - job_broken: RUNNING, then Internal;
//   - job_slow: RUNNING, then nothing until the client goes away, whose
//     stream end it reports on ended.
type fakeJobs struct {
	jobsv1.UnimplementedJobServiceServer
	md    chan metadata.MD // one per watch
	ended chan error       // job_slow's end
}

func newFakeJobs() *fakeJobs {
	return &fakeJobs{md: make(chan metadata.MD, 16), ended: make(chan error, 1)}
}

func job(id string, s jobsv1.JobState) *jobsv1.WatchJobResponse {
	return &jobsv1.WatchJobResponse{Job: &jobsv1.Job{Id: id, State: s}}
}

func (f *fakeJobs) WatchJob(req *jobsv1.WatchJobRequest, st grpc.ServerStreamingServer[jobsv1.WatchJobResponse]) error {
	md, _ := metadata.FromIncomingContext(st.Context())
	f.md <- md
	id := req.GetJobId()
	switch id {
	case "job_ok":
		for _, s := range []jobsv1.JobState{jobsv1.JobState_JOB_STATE_RUNNING, jobsv1.JobState_JOB_STATE_SUCCEEDED} {
			if err := st.Send(job(id, s)); err != nil {
				return err
			}
		}
		return nil
	case "job_broken":
		if err := st.Send(job(id, jobsv1.JobState_JOB_STATE_RUNNING)); err != nil {
			return err
		}
		return status.Error(codes.Internal, "the store went away")
	case "job_slow":
		if err := st.Send(job(id, jobsv1.JobState_JOB_STATE_RUNNING)); err != nil {
			return err
		}
		<-st.Context().Done()
		f.ended <- st.Context().Err()
		return st.Context().Err()
	}
	return status.Errorf(codes.NotFound, "job %q not found", id)
}

func (f *fakeJobs) WatchBatch(req *jobsv1.WatchBatchRequest, st grpc.ServerStreamingServer[jobsv1.WatchBatchResponse]) error {
	md, _ := metadata.FromIncomingContext(st.Context())
	f.md <- md
	for _, done := range []bool{false, true} {
		if err := st.Send(&jobsv1.WatchBatchResponse{Batch: &jobsv1.Batch{Id: req.GetBatchId(), JobIds: []string{"job_a"}, Done: done}}); err != nil {
			return err
		}
	}
	return nil
}

// sseEvent is one event of a stream, or a comment line (name "").
type sseEvent struct {
	name, data, comment string
}

// readEvents parses a text/event-stream body as a browser does, sending
// each event or comment on the returned channel, closed at the end.
func readEvents(body io.Reader) <-chan sseEvent {
	out := make(chan sseEvent, 64)
	go func() {
		defer close(out)
		sc := bufio.NewScanner(body)
		var ev sseEvent
		var data []string
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if ev.name != "" || data != nil {
					ev.data = strings.Join(data, "\n")
					out <- ev
				}
				ev, data = sseEvent{}, nil
			case strings.HasPrefix(line, ":"):
				out <- sseEvent{comment: strings.TrimSpace(line[1:])}
			case strings.HasPrefix(line, "event:"):
				ev.name = strings.TrimSpace(line[len("event:"):])
			case strings.HasPrefix(line, "data:"):
				data = append(data, strings.TrimPrefix(line[len("data:"):], " "))
			}
		}
	}()
	return out
}

// openEvents GETs url asking for Server-Sent Events.
func openEvents(t *testing.T, ctx context.Context, url string, header http.Header) *http.Response {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	req.Header.Set("Accept", "text/event-stream")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	t.Cleanup(func() { _ = resp.Body.Close() })
	return resp
}

// collect reads every event (comments left out) until the stream ends.
func collect(t *testing.T, events <-chan sseEvent) []sseEvent {
	t.Helper()
	var got []sseEvent
	timeout := time.After(waitTimeout)
	for {
		select {
		case ev, ok := <-events:
			if !ok {
				return got
			}
			if ev.comment == "" {
				got = append(got, ev)
			}
		case <-timeout:
			t.Fatalf("the stream did not end; events so far: %+v", got)
		}
	}
}

func TestWatchJobEvents(t *testing.T) {
	t.Parallel()
	f := newFakeJobs()
	hs := newGatewayWith(t, func(s *grpc.Server) { jobsv1.RegisterJobServiceServer(s, f) }, gateway.Options{})

	tests := []struct {
		name    string
		url     string
		header  http.Header
		wantKey string // authorization metadata the service must see
	}{
		{"header", hs.URL + "/v1/jobs/job_ok:watch", http.Header{"Authorization": {"Bearer key-1"}, "X-Request-Id": {"r-1"}}, "Bearer key-1"},
		// EventSource cannot set headers: the key rides in the query.
		{"access_token", hs.URL + "/v1/jobs/job_ok:watch?access_token=key-2", nil, "Bearer key-2"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp := openEvents(t, t.Context(), tc.url, tc.header)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status = %d", resp.StatusCode)
			}
			if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
				t.Errorf("Content-Type = %q", ct)
			}
			if cc := resp.Header.Get("Cache-Control"); cc != "no-cache" {
				t.Errorf("Cache-Control = %q", cc)
			}
			got := collect(t, readEvents(resp.Body))
			var states []jobsv1.JobState
			for _, ev := range got {
				if ev.name != "job" {
					t.Fatalf("event %q (data %s), want job", ev.name, ev.data)
				}
				var j jobsv1.Job
				if err := protojson.Unmarshal([]byte(ev.data), &j); err != nil {
					t.Fatalf("data %q is not a Job: %v", ev.data, err)
				}
				if !strings.Contains(ev.data, `"state":"JOB_STATE_`) {
					t.Errorf("data %s is not lowerCamel protojson", ev.data)
				}
				states = append(states, j.GetState())
			}
			want := []jobsv1.JobState{jobsv1.JobState_JOB_STATE_RUNNING, jobsv1.JobState_JOB_STATE_SUCCEEDED}
			if len(states) != len(want) || states[0] != want[0] || states[1] != want[1] {
				t.Errorf("states = %v, want %v", states, want)
			}
			md := <-f.md
			if got := md.Get("authorization"); len(got) != 1 || got[0] != tc.wantKey {
				t.Errorf("authorization metadata = %q, want [%q]", got, tc.wantKey)
			}
		})
	}
}

func TestWatchBatchEvents(t *testing.T) {
	t.Parallel()
	f := newFakeJobs()
	hs := newGatewayWith(t, func(s *grpc.Server) { jobsv1.RegisterJobServiceServer(s, f) }, gateway.Options{})

	resp := openEvents(t, t.Context(), hs.URL+"/v1/batches/bat_1:watch", nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status = %d", resp.StatusCode)
	}
	got := collect(t, readEvents(resp.Body))
	if len(got) != 2 {
		t.Fatalf("events = %+v, want 2", got)
	}
	for i, ev := range got {
		var b jobsv1.Batch
		if err := protojson.Unmarshal([]byte(ev.data), &b); ev.name != "batch" || err != nil || b.GetId() != "bat_1" || b.GetDone() != (i == 1) {
			t.Errorf("event %d = %q %s (%v), want batch bat_1 done=%v", i, ev.name, ev.data, err, i == 1)
		}
	}
}

func TestWatchEventsErrors(t *testing.T) {
	t.Parallel()
	f := newFakeJobs()
	hs := newGatewayWith(t, func(s *grpc.Server) { jobsv1.RegisterJobServiceServer(s, f) }, gateway.Options{})

	tests := []struct {
		name       string
		job        string
		wantStatus int
		wantJobs   int
		wantCode   codes.Code
	}{
		// Before the first event the status says it too.
		{"not found", "job_missing", http.StatusNotFound, 0, codes.NotFound},
		// After it, only the event can.
		{"mid-stream", "job_broken", http.StatusOK, 1, codes.Internal},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			resp := openEvents(t, t.Context(), hs.URL+"/v1/jobs/"+tc.job+":watch", nil)
			if resp.StatusCode != tc.wantStatus {
				t.Errorf("status = %d, want %d", resp.StatusCode, tc.wantStatus)
			}
			if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
				t.Errorf("Content-Type = %q", ct)
			}
			got := collect(t, readEvents(resp.Body))
			if len(got) != tc.wantJobs+1 {
				t.Fatalf("events = %+v, want %d job(s) and an error", got, tc.wantJobs)
			}
			last := got[len(got)-1]
			if last.name != "error" {
				t.Fatalf("last event = %q, want error", last.name)
			}
			var e errorBody
			if err := json.Unmarshal([]byte(last.data), &e); err != nil || e.Code != int(tc.wantCode) || e.Message == "" {
				t.Errorf("error data = %s (%v), want code %d with a message", last.data, err, tc.wantCode)
			}
		})
	}
}

func TestWatchEventsHeartbeatAndDisconnect(t *testing.T) {
	t.Parallel()
	f := newFakeJobs()
	hs := newGatewayWith(t, func(s *grpc.Server) { jobsv1.RegisterJobServiceServer(s, f) },
		gateway.Options{SSEHeartbeat: 20 * time.Millisecond})

	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	resp := openEvents(t, ctx, hs.URL+"/v1/jobs/job_slow:watch", nil)
	events := readEvents(resp.Body)
	var sawJob, sawHeartbeat bool
	timeout := time.After(waitTimeout)
	for !sawJob || !sawHeartbeat {
		select {
		case ev, ok := <-events:
			if !ok {
				t.Fatal("the stream ended while the job was running")
			}
			sawJob = sawJob || ev.name == "job"
			sawHeartbeat = sawHeartbeat || ev.comment == "heartbeat"
		case <-timeout:
			t.Fatalf("no job event and heartbeat comment (job %v, heartbeat %v)", sawJob, sawHeartbeat)
		}
	}

	cancel() // the client goes away
	select {
	case err := <-f.ended:
		if status.Code(err) != codes.Canceled && err != context.Canceled {
			t.Errorf("the gRPC stream ended with %v, want Canceled", err)
		}
	case <-time.After(waitTimeout):
		t.Fatal("the gRPC stream outlived its client")
	}
}

func TestWatchWithoutEventStreamKeepsNDJSON(t *testing.T) {
	t.Parallel()
	f := newFakeJobs()
	hs := newGatewayWith(t, func(s *grpc.Server) { jobsv1.RegisterJobServiceServer(s, f) }, gateway.Options{})

	for _, accept := range []string{"", "*/*", "application/json", "text/event-stream;q=0"} {
		t.Run("accept="+accept, func(t *testing.T) {
			req := newRequest(t, http.MethodGet, hs.URL+"/v1/jobs/job_ok:watch", "", nil)
			if accept != "" {
				req.Header.Set("Accept", accept)
			}
			code, hdr, body := do(t, req)
			if code != http.StatusOK {
				t.Fatalf("status = %d; body %s", code, body)
			}
			if ct := hdr.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type = %q", ct)
			}
			lines := strings.Split(strings.TrimSpace(string(body)), "\n")
			if len(lines) != 2 {
				t.Fatalf("body %q, want 2 lines", body)
			}
			for _, l := range lines {
				var msg struct {
					Result struct {
						Job struct{ ID, State string } `json:"job"`
					} `json:"result"`
				}
				if err := json.Unmarshal([]byte(l), &msg); err != nil || msg.Result.Job.ID != "job_ok" {
					t.Errorf("line %q (%v), want {\"result\":{\"job\":…}}", l, err)
				}
			}
			<-f.md
		})
	}
}
