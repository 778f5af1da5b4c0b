package gateway_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/clipmesh/clipmesh/gateway"
	collabv1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/collab/v1"
)

// fakeCollab is a tiny CollabService.Session: join_project answers joined,
// edit fans an operation out to every session joined to the project (the
// author is the caller's authorization), leave leaves, anything else is an
// error response. "Bearer bad" is Unauthenticated.
type fakeCollab struct {
	collabv1.UnimplementedCollabServiceServer
	requests chan *collabv1.SessionRequest // every request received
	md       chan metadata.MD              // one per session
	ended    chan error                    // one per session, why it ended

	mu       sync.Mutex
	seq      int64
	sessions map[string]map[*fakeSession]bool // by project
}

type fakeSession struct {
	mu sync.Mutex
	st grpc.BidiStreamingServer[collabv1.SessionRequest, collabv1.SessionResponse]
}

func (s *fakeSession) send(r *collabv1.SessionResponse) {
	s.mu.Lock()
	defer s.mu.Unlock()
	_ = s.st.Send(r)
}

func newFakeCollab() *fakeCollab {
	return &fakeCollab{
		requests: make(chan *collabv1.SessionRequest, 256),
		md:       make(chan metadata.MD, 16),
		ended:    make(chan error, 16),
		sessions: map[string]map[*fakeSession]bool{},
	}
}

func (f *fakeCollab) Session(st grpc.BidiStreamingServer[collabv1.SessionRequest, collabv1.SessionResponse]) error {
	md, _ := metadata.FromIncomingContext(st.Context())
	f.md <- md
	author := strings.Join(md.Get("authorization"), ",")
	if author == "Bearer bad" {
		return status.Error(codes.Unauthenticated, "invalid API key")
	}
	me := &fakeSession{st: st}
	project := ""
	defer func() {
		f.mu.Lock()
		delete(f.sessions[project], me)
		f.mu.Unlock()
	}()
	for {
		req, err := st.Recv()
		if err != nil {
			f.ended <- err
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
		f.requests <- req
		switch req.GetAction() {
		case "join_project":
			f.mu.Lock()
			delete(f.sessions[project], me)
			project = req.GetProjectId()
			if f.sessions[project] == nil {
				f.sessions[project] = map[*fakeSession]bool{}
			}
			f.sessions[project][me] = true
			f.mu.Unlock()
			me.send(&collabv1.SessionResponse{Kind: "joined", Sequence: f.seq,
				PayloadJson: fmt.Sprintf(`{"project_id":%q,"role":"owner","sequence":%d}`, project, req.GetLastSeenSequence())})
		case "edit":
			f.mu.Lock()
			f.seq++
			resp := &collabv1.SessionResponse{Kind: "operation", Sequence: f.seq,
				PayloadJson: fmt.Sprintf(`{"project_id":%q,"author":%q,"op":%s}`, project, author, req.GetPayloadJson())}
			var to []*fakeSession
			for s := range f.sessions[project] {
				to = append(to, s)
			}
			f.mu.Unlock()
			for _, s := range to {
				s.send(resp)
			}
		case "leave":
			f.mu.Lock()
			delete(f.sessions[project], me)
			project = ""
			f.mu.Unlock()
		default:
			me.send(&collabv1.SessionResponse{Kind: "error", Error: "unknown action " + req.GetAction(),
				PayloadJson: fmt.Sprintf(`{"action":%q,"code":"invalid_argument"}`, req.GetAction())})
		}
	}
}

func newCollabGateway(t *testing.T, f *fakeCollab, opts gateway.Options) string {
	t.Helper()
	hs := newGatewayWith(t, func(s *grpc.Server) { collabv1.RegisterCollabServiceServer(s, f) }, opts)
	return "ws" + strings.TrimPrefix(hs.URL, "http")
}

// wsFrame is a server frame.
type wsFrame struct {
	Kind     string          `json:"kind"`
	Sequence int64           `json:"sequence"`
	Payload  json.RawMessage `json:"payload"`
	Error    string          `json:"error"`
}

func dialWS(t *testing.T, url string, header http.Header) *websocket.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), waitTimeout)
	defer cancel()
	c, resp, err := websocket.Dial(ctx, url, &websocket.DialOptions{HTTPHeader: header})
	if err != nil {
		code := 0
		if resp != nil {
			code = resp.StatusCode
		}
		t.Fatalf("dial %s: %v (status %d)", url, err, code)
	}
	t.Cleanup(func() { _ = c.CloseNow() })
	return c
}

func sendWS(t *testing.T, c *websocket.Conn, frame string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), waitTimeout)
	defer cancel()
	if err := c.Write(ctx, websocket.MessageText, []byte(frame)); err != nil {
		t.Fatalf("write %s: %v", frame, err)
	}
}

func readWS(t *testing.T, c *websocket.Conn) wsFrame {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), waitTimeout)
	defer cancel()
	typ, b, err := c.Read(ctx)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	if typ != websocket.MessageText {
		t.Fatalf("frame type %v, want text", typ)
	}
	var f wsFrame
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatalf("frame %s is not JSON: %v", b, err)
	}
	return f
}

// errorCode returns the "code" of an error frame's payload.
func errorCode(t *testing.T, f wsFrame) string {
	t.Helper()
	if f.Kind != "error" || f.Error == "" {
		t.Fatalf("frame %+v, want an error with a reason", f)
	}
	var p struct{ Code string }
	if err := json.Unmarshal(f.Payload, &p); err != nil {
		t.Fatalf("error payload %s: %v", f.Payload, err)
	}
	return p.Code
}

// closeStatus reads until the connection closes and returns its status.
func closeStatus(t *testing.T, c *websocket.Conn) (websocket.StatusCode, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), waitTimeout)
	defer cancel()
	for {
		_, _, err := c.Read(ctx)
		if err == nil {
			continue
		}
		var ce websocket.CloseError
		if errors.As(err, &ce) {
			return ce.Code, ce.Reason
		}
		t.Fatalf("connection ended without a close frame: %v", err)
	}
}

func TestCollaborateSession(t *testing.T) {
	t.Parallel()
	f := newFakeCollab()
	base := newCollabGateway(t, f, gateway.Options{})

	// Both paths, the versioned one and the seed's.
	a := dialWS(t, base+"/v1/collaborate", http.Header{"Authorization": {"Bearer alice"}})
	b := dialWS(t, base+"/collaborate?access_token=bob", nil)
	// The dials may reach the service in either order.
	keys := map[string]bool{}
	for range 2 {
		md := <-f.md
		keys[strings.Join(md.Get("authorization"), ",")] = true
	}
	if !keys["Bearer alice"] || !keys["Bearer bob"] {
		t.Errorf("authorization metadata = %v, want the header's and the access_token's", keys)
	}

	// user_id is the seed's and ignored: the author is the key's owner.
	sendWS(t, a, `{"action":"join_project","project_id":"prj_1","user_id":"mallory"}`)
	if r := readWS(t, a); r.Kind != "joined" || !strings.Contains(string(r.Payload), `"project_id":"prj_1"`) {
		t.Fatalf("a got %+v, want joined prj_1", r)
	}
	sendWS(t, b, `{"action":"join_project","project_id":"prj_1","last_seen_sequence":0}`)
	if r := readWS(t, b); r.Kind != "joined" {
		t.Fatalf("b got %+v, want joined", r)
	}

	sendWS(t, a, `{"action":"edit","project_id":"prj_1","last_seen_sequence":0,"payload":{ "type" : "add_clip", "clip_id":"c1" }}`)
	for name, c := range map[string]*websocket.Conn{"a": a, "b": b} {
		r := readWS(t, c)
		var p struct {
			Author string         `json:"author"`
			Op     map[string]any `json:"op"`
		}
		if err := json.Unmarshal(r.Payload, &p); err != nil {
			t.Fatal(err)
		}
		if r.Kind != "operation" || r.Sequence != 1 || p.Op["clip_id"] != "c1" || p.Author != "Bearer alice" {
			t.Errorf("%s got %+v, want alice's add_clip as operation 1", name, r)
		}
	}

	var got []*collabv1.SessionRequest
	for len(got) < 3 {
		select {
		case r := <-f.requests:
			got = append(got, r)
		case <-time.After(waitTimeout):
			t.Fatalf("the service got %d requests, want 3", len(got))
		}
	}
	var edit *collabv1.SessionRequest
	for _, r := range got {
		if r.GetAction() == "edit" {
			edit = r
		}
	}
	if edit == nil || edit.GetProjectId() != "prj_1" || edit.GetPayloadJson() != `{"type":"add_clip","clip_id":"c1"}` {
		t.Errorf("edit request = %v, want the payload re-encoded compactly", edit)
	}

	// An action the gateway does not know passes through to the service.
	sendWS(t, b, `{"action":"presence","project_id":"prj_1","payload":{"clip_id":"c1"}}`)
	if r := readWS(t, b); r.Kind != "error" || !strings.Contains(r.Error, "presence") {
		t.Errorf("b got %+v, want the service's answer to presence", r)
	}

	// Closing the socket ends the gRPC stream.
	if err := a.Close(websocket.StatusNormalClosure, "bye"); err != nil {
		t.Fatalf("close: %v", err)
	}
	select {
	case err := <-f.ended:
		if err == nil {
			t.Error("the stream ended without an error or EOF")
		}
	case <-time.After(waitTimeout):
		t.Fatal("the gRPC stream outlived its socket")
	}
}

func TestCollaborateBadFrames(t *testing.T) {
	t.Parallel()
	f := newFakeCollab()
	base := newCollabGateway(t, f, gateway.Options{})
	c := dialWS(t, base+"/v1/collaborate", nil)

	for _, frame := range []string{
		`{"action":"join_project"`,
		`not json`,
		`["join_project"]`,
		`{"action":"join_project","project_id":"prj_1","colour":"red"}`,
		`{"action":"edit","payload":"add_clip"}`,
		`{"action":"edit","payload":[1]}`,
		`{"action":"join_project","last_seen_sequence":-1}`,
		`{"action":"join_project","last_seen_sequence":1.5}`,
		`{"action":"leave"} {"action":"leave"}`,
	} {
		sendWS(t, c, frame)
		if code := errorCode(t, readWS(t, c)); code != "invalid_argument" {
			t.Errorf("frame %s: error code %q, want invalid_argument", frame, code)
		}
	}
	ctx, cancel := context.WithTimeout(t.Context(), waitTimeout)
	defer cancel()
	if err := c.Write(ctx, websocket.MessageBinary, []byte(`{"action":"leave"}`)); err != nil {
		t.Fatal(err)
	}
	if code := errorCode(t, readWS(t, c)); code != "invalid_argument" {
		t.Errorf("binary frame: error code %q", code)
	}

	// The connection survived every one of them.
	sendWS(t, c, `{"action":"join_project","project_id":"prj_2"}`)
	if r := readWS(t, c); r.Kind != "joined" {
		t.Fatalf("after bad frames: %+v, want joined", r)
	}
	select {
	case r := <-f.requests:
		if r.GetAction() != "join_project" {
			t.Errorf("the service got %v; no bad frame may reach it", r)
		}
	case <-time.After(waitTimeout):
		t.Fatal("the join never reached the service")
	}
}

func TestCollaborateOversizedFrame(t *testing.T) {
	t.Parallel()
	base := newCollabGateway(t, newFakeCollab(), gateway.Options{})
	c := dialWS(t, base+"/v1/collaborate", nil)
	// Over the frame limit: an error frame, and the connection goes on.
	sendWS(t, c, `{"action":"edit","payload":{"text":"`+strings.Repeat("x", 70<<10)+`"}}`)
	if f := readWS(t, c); errorCode(t, f) != "message_too_big" || !strings.Contains(f.Error, "65536") {
		t.Errorf("oversized frame: %+v, want message_too_big naming the limit", f)
	}
	sendWS(t, c, `{"action":"join_project","project_id":"prj_1"}`)
	if f := readWS(t, c); f.Kind != "joined" {
		t.Errorf("after an oversized frame: %+v, want joined", f)
	}
	// Far over it: closed with 1009.
	big := `{"action":"edit","payload":{"text":"` + strings.Repeat("x", 2<<20) + `"}}`
	ctx, cancel := context.WithTimeout(t.Context(), waitTimeout)
	defer cancel()
	_ = c.Write(ctx, websocket.MessageText, []byte(big))
	code, reason := closeStatus(t, c)
	if code != websocket.StatusMessageTooBig || reason == "" {
		t.Errorf("close = %v %q, want 1009 with a reason", code, reason)
	}
}

func TestCollaborateFlood(t *testing.T) {
	t.Parallel()
	base := newCollabGateway(t, newFakeCollab(), gateway.Options{CollabRate: 1, CollabBurst: 3})
	c := dialWS(t, base+"/v1/collaborate", nil)

	// Written from a goroutine: the client must keep reading meanwhile.
	go func() {
		for range 200 {
			if c.Write(context.Background(), websocket.MessageText, []byte(`{"action":"leave"}`)) != nil {
				return
			}
		}
	}()
	var rateLimited int
	ctx, cancel := context.WithTimeout(t.Context(), waitTimeout)
	defer cancel()
	for {
		_, b, err := c.Read(ctx)
		if err != nil {
			var ce websocket.CloseError
			if !errors.As(err, &ce) || ce.Code != websocket.StatusPolicyViolation || ce.Reason == "" {
				t.Fatalf("connection ended with %v, want close 1008 with a reason", err)
			}
			break
		}
		var f wsFrame
		if json.Unmarshal(b, &f) == nil && strings.Contains(string(f.Payload), "rate_limited") {
			rateLimited++
		}
	}
	if rateLimited == 0 {
		t.Error("no rate_limited error frame before the close")
	}
}

func TestCollaborateUnauthenticated(t *testing.T) {
	t.Parallel()
	f := newFakeCollab()
	base := newCollabGateway(t, f, gateway.Options{})
	c := dialWS(t, base+"/v1/collaborate?access_token=bad", nil)
	if md := <-f.md; strings.Join(md.Get("authorization"), ",") != "Bearer bad" {
		t.Errorf("authorization = %q, want the query's token as a bearer", md.Get("authorization"))
	}
	if code := errorCode(t, readWS(t, c)); code != "unauthenticated" {
		t.Errorf("error code %q, want unauthenticated", code)
	}
	if code, _ := closeStatus(t, c); code != websocket.StatusPolicyViolation {
		t.Errorf("close = %v, want 1008", code)
	}
}

func TestCollaborateOrigin(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		allowed []string
		origin  string
		want    int
	}{
		{"other origin", nil, "https://evil.example", http.StatusForbidden},
		{"CORS origin", []string{"https://app.example"}, "https://app.example", http.StatusSwitchingProtocols},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			base := newCollabGateway(t, newFakeCollab(), gateway.Options{CORSAllowedOrigins: tc.allowed})
			ctx, cancel := context.WithTimeout(t.Context(), waitTimeout)
			defer cancel()
			c, resp, err := websocket.Dial(ctx, base+"/v1/collaborate", &websocket.DialOptions{HTTPHeader: http.Header{"Origin": {tc.origin}}})
			if c != nil {
				defer c.CloseNow()
			}
			if resp == nil {
				t.Fatalf("no response: %v", err)
			}
			if resp.StatusCode != tc.want {
				t.Errorf("status = %d, want %d (%v)", resp.StatusCode, tc.want, err)
			}
		})
	}
}

func TestCollaboratePings(t *testing.T) {
	t.Parallel()
	base := newCollabGateway(t, newFakeCollab(), gateway.Options{WebSocketPing: 200 * time.Millisecond})
	tests := []struct {
		name   string
		answer bool // whether the client answers pings with pongs
	}{
		{"answered", true},
		{"unanswered", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			pings := make(chan struct{}, 16)
			ctx, cancel := context.WithTimeout(t.Context(), waitTimeout)
			defer cancel()
			c, _, err := websocket.Dial(ctx, base+"/v1/collaborate", &websocket.DialOptions{
				OnPingReceived: func(context.Context, []byte) bool {
					pings <- struct{}{}
					return tc.answer
				},
			})
			if err != nil {
				t.Fatal(err)
			}
			defer c.CloseNow()
			readErr := make(chan error, 1)
			go func() {
				_, _, err := c.Read(ctx) // control frames are handled while reading
				readErr <- err
			}()
			if tc.answer {
				// Three pings answered, and the connection is still open.
				for range 3 {
					select {
					case <-pings:
					case err := <-readErr:
						t.Fatalf("connection ended while answering pings: %v", err)
					case <-ctx.Done():
						t.Fatal("no ping")
					}
				}
				return
			}
			select {
			case err := <-readErr:
				var ce websocket.CloseError
				if !errors.As(err, &ce) || ce.Code != websocket.StatusPolicyViolation {
					t.Errorf("connection ended with %v, want close 1008", err)
				}
			case <-ctx.Done():
				t.Fatal("a client that never answers pings stayed connected")
			}
		})
	}
}
