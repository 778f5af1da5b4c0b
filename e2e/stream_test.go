//go:build unix

package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	collabv1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/collab/v1"
	jobsv1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/jobs/v1"
	videosv1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/videos/v1"
	"github.com/clipmesh/clipmesh/platform/fixtures"
)

// TestServeStreams runs one keyless loopback `clipmesh serve` and reads its
// two browser-facing streams: a job's progress as Server-Sent Events, and
// the collaboration WebSocket with two clients on one project.
func TestServeStreams(t *testing.T) {
	needBinary(t)
	t.Parallel()
	s := startServe(t, t.TempDir(), serveOptions{})

	t.Run("JobEvents", func(t *testing.T) {
		code, _, body := upload(t, s.URL, "", fixtures.MustPath(t, fixtures.Cuts))
		if code != http.StatusCreated && code != http.StatusOK {
			t.Fatalf("POST /v1/videos: status %d; body: %s", code, body)
		}
		var up videosv1.UploadResponse
		decode(t, "POST /v1/videos", body, &up)
		code, body = call(t, http.MethodPost, s.URL+"/v1/jobs", "", map[string]any{"videoId": up.GetVideo().GetId()})
		if code != http.StatusOK {
			t.Fatalf("POST /v1/jobs: status %d; body: %s", code, body)
		}
		var res jobsv1.AnalyzeResponse
		decode(t, "POST /v1/jobs", body, &res)
		id := res.GetJob().GetId()

		jobs := watchJobEvents(t, s.URL, id)
		if len(jobs) == 0 {
			t.Fatal("the event stream carried no job")
		}
		last := jobs[len(jobs)-1]
		if last.GetState() != jobsv1.JobState_JOB_STATE_SUCCEEDED {
			t.Fatalf("the event stream ended with %s (error %q), want JOB_STATE_SUCCEEDED", last.GetState(), last.GetError())
		}
		for _, j := range jobs[:len(jobs)-1] {
			if terminal(j.GetState()) {
				t.Errorf("a final state (%s) before the end of the stream", j.GetState())
			}
		}
		checkCutsProbe(t, "job from the event stream", last.GetResult().GetVideo().GetProbe())

		// An unknown job: 404, and the reason as an error event.
		req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, s.URL+"/v1/jobs/job_doesnotexist:watch", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Accept", "text/event-stream")
		resp, err := httpClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b := readAll(t, resp)
		if resp.StatusCode != http.StatusNotFound || !strings.Contains(string(b), "event: error\ndata: {") {
			t.Errorf("watch of an unknown job: status %d body %q; want 404 and an error event", resp.StatusCode, b)
		}
	})

	t.Run("Collaborate", func(t *testing.T) {
		code, body := call(t, http.MethodPost, s.URL+"/v1/projects", "", map[string]any{"name": "e2e launch"})
		if code != http.StatusOK {
			t.Fatalf("POST /v1/projects: status %d; body: %s", code, body)
		}
		var created collabv1.CreateProjectResponse
		decode(t, "POST /v1/projects", body, &created)
		project := created.GetProject().GetId()
		if !strings.HasPrefix(project, "prj_") {
			t.Fatalf("POST /v1/projects: want a prj_ id, got %s", body)
		}

		ws := "ws" + strings.TrimPrefix(s.URL, "http")
		a := wsDial(t, ws+"/v1/collaborate")
		b := wsDial(t, ws+"/collaborate") // the seed's path

		// user_id is the seed's; it is ignored, the caller is the local admin.
		wsSend(t, a, map[string]any{"action": "join_project", "project_id": project, "user_id": "mallory"})
		if f := wsRead(t, a); f.Kind != "joined" || !strings.Contains(string(f.Payload), project) {
			t.Fatalf("client A: %+v, want joined %s", f, project)
		}
		wsSend(t, b, map[string]any{"action": "join_project", "project_id": project, "last_seen_sequence": 0})
		if f := wsRead(t, b); f.Kind != "joined" {
			t.Fatalf("client B: %+v, want joined", f)
		}

		wsSend(t, a, map[string]any{"action": "edit", "project_id": project, "last_seen_sequence": 0,
			"payload": map[string]any{"type": "add_clip", "clip_id": "c1", "op_id": "a1"}})
		for name, c := range map[string]*websocket.Conn{"A": a, "B": b} {
			f := wsRead(t, c)
			var p struct {
				ProjectID string         `json:"project_id"`
				Author    string         `json:"author"`
				Op        map[string]any `json:"op"`
			}
			if err := json.Unmarshal(f.Payload, &p); err != nil {
				t.Fatalf("client %s: operation payload %s: %v", name, f.Payload, err)
			}
			if f.Kind != "operation" || f.Sequence != 1 || p.ProjectID != project || p.Op["op_id"] != "a1" || p.Op["type"] != "add_clip" {
				t.Fatalf("client %s: %+v, want A's add_clip as operation 1", name, f)
			}
			if p.Author == "" || p.Author == "mallory" {
				t.Errorf("client %s: author %q, want the authenticated caller", name, p.Author)
			}
		}

		// A malformed frame gets an error frame, and the connection survives.
		wctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		defer cancel()
		if err := b.Write(wctx, websocket.MessageText, []byte(`{"action":"edit","payload":`)); err != nil {
			t.Fatal(err)
		}
		if f := wsRead(t, b); f.Kind != "error" || f.Error == "" {
			t.Fatalf("client B after a malformed frame: %+v, want an error frame", f)
		}
		wsSend(t, b, map[string]any{"action": "edit", "project_id": project, "last_seen_sequence": 1,
			"payload": map[string]any{"type": "set", "clip_id": "c1", "field": "title", "value": "Launch", "op_id": "b1"}})
		for name, c := range map[string]*websocket.Conn{"A": a, "B": b} {
			f := wsRead(t, c)
			if f.Kind != "operation" || f.Sequence != 2 {
				t.Fatalf("client %s: %+v, want B's edit as operation 2", name, f)
			}
		}
		// The service's own refusals come back as error frames too.
		wsSend(t, a, map[string]any{"action": "edit", "last_seen_sequence": 2,
			"payload": map[string]any{"type": "remove_clip", "clip_id": "nope"}})
		if f := wsRead(t, a); f.Kind != "error" || !strings.Contains(string(f.Payload), "unknown_clip") {
			t.Errorf("client A after editing an unknown clip: %+v, want an unknown_clip error", f)
		}

		for _, c := range []*websocket.Conn{a, b} {
			if err := c.Close(websocket.StatusNormalClosure, "done"); err != nil {
				t.Errorf("close: %v", err)
			}
		}
	})
}

// watchJobEvents reads GET /v1/jobs/{id}:watch as Server-Sent Events to its
// end and returns every job it carried.
func watchJobEvents(t *testing.T, baseURL, id string) []*jobsv1.Job {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, baseURL+"/v1/jobs/"+id+":watch", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "text/event-stream")
	resp, err := httpClient.Do(req)
	if err != nil {
		t.Fatalf("watch %s: %v", id, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("watch %s: status %d: %s", id, resp.StatusCode, readAll(t, resp))
	}
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Errorf("watch %s: Content-Type %q", id, ct)
	}
	var jobs []*jobsv1.Job
	var event string
	var data []string
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			if event == "error" {
				t.Fatalf("watch %s: error event %s", id, strings.Join(data, "\n"))
			}
			if event != "" {
				if event != "job" {
					t.Fatalf("watch %s: event %q, want job", id, event)
				}
				var j jobsv1.Job
				decode(t, "watch "+id, []byte(strings.Join(data, "\n")), &j)
				jobs = append(jobs, &j)
			}
			event, data = "", nil
		case strings.HasPrefix(line, ":"): // heartbeat
		case strings.HasPrefix(line, "event: "):
			event = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			data = append(data, strings.TrimPrefix(line, "data: "))
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("watch %s: stream broken after %d events: %v", id, len(jobs), err)
	}
	return jobs
}

// wsFrame is a server frame of the collaboration WebSocket.
type wsFrame struct {
	Kind     string          `json:"kind"`
	Sequence int64           `json:"sequence"`
	Payload  json.RawMessage `json:"payload"`
	Error    string          `json:"error"`
}

func wsDial(t *testing.T, url string) *websocket.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, url, nil)
	if err != nil {
		t.Fatalf("dial %s: %v", url, err)
	}
	t.Cleanup(func() { _ = c.CloseNow() })
	return c
}

func wsSend(t *testing.T, c *websocket.Conn, frame any) {
	t.Helper()
	b, err := json.Marshal(frame)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if err := c.Write(ctx, websocket.MessageText, b); err != nil {
		t.Fatalf("write %s: %v", b, err)
	}
}

func wsRead(t *testing.T, c *websocket.Conn) wsFrame {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	_, b, err := c.Read(ctx)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	var f wsFrame
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatalf("frame %s is not JSON: %v", b, err)
	}
	return f
}
