//go:build unix

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/clipmesh/clipmesh/gateway"
	"github.com/clipmesh/clipmesh/platform/app"
	"github.com/clipmesh/clipmesh/platform/auth"
	"github.com/clipmesh/clipmesh/platform/natsx"
	platformserver "github.com/clipmesh/clipmesh/platform/server"
	"github.com/clipmesh/clipmesh/platform/store"
	"github.com/clipmesh/clipmesh/services/collab"
)

// collabCluster is two collab replicas sharing one database and one NATS
// (an embedded JetStream server with a TCP listener; replica B connects to
// it over TCP like a separate process), each with its own gRPC server and
// a gateway in front: clients reach the replicas only through real
// WebSockets.
type collabCluster struct {
	t    *testing.T
	db   *store.DB
	keys *auth.Keys
	nats []*natsx.Conn
	// replicas[i] is replica i, or nil while stopped.
	replicas [2]*collabReplica
}

// collabReplica is one collab service instance, its gRPC server and its
// gateway.
type collabReplica struct {
	ws   string // ws://…/v1/collaborate
	http string // http://…
	stop func()
}

func newCollabCluster(t *testing.T, db *store.DB) *collabCluster {
	t.Helper()
	quiet := slog.New(slog.DiscardHandler)
	a, err := natsx.Connect(t.Context(), natsx.Options{StoreDir: t.TempDir(), ListenAddr: "127.0.0.1:0", Name: "collab-a", Logger: quiet})
	if err != nil {
		t.Fatalf("embedded NATS: %v", err)
	}
	b, err := natsx.Connect(t.Context(), natsx.Options{URL: a.ClientURL(), Name: "collab-b", Logger: quiet})
	if err != nil {
		t.Fatalf("NATS over TCP: %v", err)
	}
	c := &collabCluster{t: t, db: db, keys: auth.NewKeys(db.DB), nats: []*natsx.Conn{a, b}}
	t.Cleanup(func() {
		for i := range c.replicas {
			c.stop(i)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = b.Close(ctx)
		_ = a.Close(ctx)
	})
	c.start(0)
	c.start(1)
	return c
}

// start starts replica i on its NATS connection.
func (c *collabCluster) start(i int) {
	t := c.t
	t.Helper()
	quiet := slog.New(slog.DiscardHandler)
	ctx, cancel := context.WithCancel(context.Background())
	svc, err := collab.New(ctx, &app.Env{Name: "collab", DB: c.db, NATS: c.nats[i], Logger: quiet})
	if err != nil {
		cancel()
		t.Fatalf("collab.New: %v", err)
	}
	started := make(chan struct{})
	go func() { defer close(started); _ = svc.Start(ctx) }()
	gs := platformserver.NewGRPCServer(platformserver.Options{Auth: auth.NewAuthenticator(c.keys, false, "mesh-token"), Logger: quiet})
	svc.Register(gs)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	go func() { _ = gs.Serve(lis) }()
	cc, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	h, err := gateway.New(ctx, cc, gateway.Options{Logger: quiet})
	if err != nil {
		cancel()
		t.Fatalf("gateway.New: %v", err)
	}
	hs := httptest.NewServer(h)
	c.replicas[i] = &collabReplica{
		ws:   "ws" + strings.TrimPrefix(hs.URL, "http") + "/v1/collaborate",
		http: hs.URL,
		stop: func() {
			cancel() // closes the WebSockets (gateway life) and the service's subscriptions
			hs.CloseClientConnections()
			hs.Close()
			gs.Stop()
			_ = cc.Close()
			<-started
		},
	}
}

// stop stops replica i, if running.
func (c *collabCluster) stop(i int) {
	if r := c.replicas[i]; r != nil {
		r.stop()
		c.replicas[i] = nil
	}
}

// key creates an API key of tenant with role and returns its subject and
// the key.
func (c *collabCluster) key(tenant string, role auth.Role) (subject, key string) {
	c.t.Helper()
	id, k, err := c.keys.Create(c.t.Context(), tenant, role, c.t.Name())
	if err != nil {
		c.t.Fatalf("Keys.Create: %v", err)
	}
	return id, k
}

// createProject creates a project through replica i's REST gateway.
func (c *collabCluster) createProject(i int, key string) string {
	c.t.Helper()
	req, err := http.NewRequestWithContext(c.t.Context(), http.MethodPost, c.replicas[i].http+"/v1/projects",
		strings.NewReader(`{"name":"e2e"}`))
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		Project struct{ ID string }
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != http.StatusOK || out.Project.ID == "" {
		c.t.Fatalf("POST /v1/projects: status %d, %v", resp.StatusCode, err)
	}
	return out.Project.ID
}

// cframe is a server frame of the collaboration WebSocket.
type cframe struct {
	Kind     string          `json:"kind"`
	Sequence int64           `json:"sequence"`
	Payload  json.RawMessage `json:"payload"`
	Error    string          `json:"error"`
}

// code is an error frame's payload code.
func (f cframe) code() string {
	var p struct{ Code string }
	_ = json.Unmarshal(f.Payload, &p)
	return p.Code
}

// cop is an operation frame's payload.
type cop struct {
	Author string         `json:"author"`
	Op     map[string]any `json:"op"`
}

func (f cframe) op() cop {
	var p cop
	_ = json.Unmarshal(f.Payload, &p)
	return p
}

// cclient is a WebSocket client of the cluster. Frames are read by a
// goroutine into in; closed is closed with the close status when the
// connection ends.
type cclient struct {
	t      testing.TB
	conn   *websocket.Conn
	in     chan cframe
	closed chan struct{}
	status websocket.StatusCode
	reason string
}

func (c *collabCluster) dial(i int, key string) *cclient {
	c.t.Helper()
	return dialCollab(c.t, c.replicas[i].ws, key)
}

func dialCollab(t testing.TB, url, key string) *cclient {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer " + key}}})
	if err != nil {
		t.Fatalf("dial %s: %v", url, err)
	}
	conn.SetReadLimit(16 << 20)
	cl := &cclient{t: t, conn: conn, in: make(chan cframe, 1<<14), closed: make(chan struct{})}
	go func() {
		defer close(cl.closed)
		for {
			_, b, err := conn.Read(context.Background())
			if err != nil {
				cl.status = websocket.CloseStatus(err)
				var ce websocket.CloseError
				if ok := asCloseError(err, &ce); ok {
					cl.reason = ce.Reason
				}
				close(cl.in)
				return
			}
			var f cframe
			if err := json.Unmarshal(b, &f); err != nil {
				f = cframe{Kind: "unparsable", Error: string(b)}
			}
			cl.in <- f
		}
	}()
	t.Cleanup(func() { _ = conn.CloseNow() })
	return cl
}

func asCloseError(err error, ce *websocket.CloseError) bool {
	for e := err; e != nil; {
		if c, ok := e.(websocket.CloseError); ok {
			*ce = c
			return true
		}
		u, ok := e.(interface{ Unwrap() error })
		if !ok {
			return false
		}
		e = u.Unwrap()
	}
	return false
}

// send writes one JSON frame; errors are reported, not fatal, so that
// client goroutines may call it.
func (cl *cclient) send(frame any) error {
	b, err := json.Marshal(frame)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return cl.conn.Write(ctx, websocket.MessageText, b)
}

func (cl *cclient) mustSend(frame any) {
	cl.t.Helper()
	if err := cl.send(frame); err != nil {
		cl.t.Fatalf("send %v: %v", frame, err)
	}
}

// next returns the next frame that is not presence (unless presence is
// wanted), or an error after a timeout or the end of the connection.
func (cl *cclient) next(presence bool) (cframe, error) {
	timeout := time.After(15 * time.Second)
	for {
		select {
		case f, ok := <-cl.in:
			if !ok {
				return cframe{}, fmt.Errorf("connection closed (%v %q)", cl.status, cl.reason)
			}
			if f.Kind == "presence" && !presence {
				continue
			}
			return f, nil
		case <-timeout:
			return cframe{}, fmt.Errorf("no frame within 15s")
		}
	}
}

// expect returns the next non-presence frame, which must be of kind.
func (cl *cclient) expect(kind string) cframe {
	cl.t.Helper()
	f, err := cl.next(kind == "presence")
	if err != nil {
		cl.t.Fatalf("waiting for %s: %v", kind, err)
	}
	if f.Kind != kind {
		cl.t.Fatalf("got %s (%q, %s), want %s", f.Kind, f.Error, f.Payload, kind)
	}
	return f
}

// join joins project having seen lastSeen and returns the joined frame.
func (cl *cclient) join(project string, lastSeen int64) cframe {
	cl.t.Helper()
	cl.mustSend(map[string]any{"action": "join_project", "project_id": project, "last_seen_sequence": lastSeen})
	return cl.expect("joined")
}

// model is a client's copy of a project's clips, built from the operation
// frames it receives, checking that they come in sequence with no gap and
// no duplicate.
type model struct {
	seq   int64
	clips map[string]map[string]any // clip id → field → value; "caption" is text
}

func newModel() *model { return &model{clips: map[string]map[string]any{}} }

// apply applies an operation frame.
func (m *model) apply(f cframe) error {
	if f.Sequence != m.seq+1 {
		return fmt.Errorf("operation %d after %d: a gap or a duplicate", f.Sequence, m.seq)
	}
	m.seq = f.Sequence
	return m.applyOp(f.op().Op)
}

func (m *model) applyOp(op map[string]any) error {
	id, _ := op["clip_id"].(string)
	switch op["type"] {
	case "add_clip":
		m.clips[id] = map[string]any{"caption": ""}
	case "remove_clip":
		delete(m.clips, id)
	case "put_clip":
		c := op["clip"].(map[string]any)
		m.clips[id] = map[string]any{"caption": c["caption"], "title": c["title"]}
	case "set":
		if m.clips[id] == nil {
			return fmt.Errorf("set on unknown clip %s", id)
		}
		m.clips[id][op["field"].(string)] = op["value"]
	case "edit_text":
		c := m.clips[id]
		if c == nil {
			return fmt.Errorf("edit_text on unknown clip %s", id)
		}
		text, err := applyTextOp(c["caption"].(string), op["text_op"].([]any))
		if err != nil {
			return err
		}
		c["caption"] = text
	case "undo", "redo", "restore":
		ops, _ := op["ops"].([]any)
		for _, e := range ops {
			if err := m.applyOp(e.(map[string]any)); err != nil {
				return err
			}
		}
	}
	return nil
}

// applyTextOp applies an ot.js text operation: n > 0 keeps n characters,
// n < 0 deletes -n, a string inserts itself.
func applyTextOp(s string, ops []any) (string, error) {
	rs := []rune(s)
	var b strings.Builder
	i := 0
	for _, c := range ops {
		switch v := c.(type) {
		case string:
			b.WriteString(v)
		case float64:
			n := int(v)
			if n > 0 {
				if i+n > len(rs) {
					return "", fmt.Errorf("text op retains past the end of %q", s)
				}
				b.WriteString(string(rs[i : i+n]))
				i += n
			} else {
				i -= n
			}
		}
	}
	if i != len(rs) {
		return "", fmt.Errorf("text op covers %d of %d characters", i, len(rs))
	}
	return b.String(), nil
}

// caption returns the clip's caption in the model.
func (m *model) caption(id string) string {
	if c := m.clips[id]; c != nil {
		s, _ := c["caption"].(string)
		return s
	}
	return ""
}

// serverDoc asks for the document and returns its sequence and clips by
// id; operation frames that arrive first go to m (which may be nil).
func (cl *cclient) serverDoc(m *model) (int64, map[string]map[string]any) {
	cl.t.Helper()
	cl.mustSend(map[string]any{"action": "document"})
	for {
		f, err := cl.next(false)
		if err != nil {
			cl.t.Fatalf("document: %v", err)
		}
		switch f.Kind {
		case "operation":
			if m != nil {
				if err := m.apply(f); err != nil {
					cl.t.Fatal(err)
				}
			}
			continue
		case "document":
		default:
			cl.t.Fatalf("document: got %s %q %s", f.Kind, f.Error, f.Payload)
		}
		var d struct {
			Clips []map[string]any `json:"clips"`
		}
		if err := json.Unmarshal(f.Payload, &d); err != nil {
			cl.t.Fatal(err)
		}
		out := map[string]map[string]any{}
		for _, c := range d.Clips {
			out[c["id"].(string)] = c
		}
		return f.Sequence, out
	}
}

// catchUp reads operation frames into m until it reaches seq.
func (cl *cclient) catchUp(m *model, seq int64) error {
	for m.seq < seq {
		f, err := cl.next(false)
		if err != nil {
			return fmt.Errorf("at %d waiting for %d: %w", m.seq, seq, err)
		}
		if f.Kind != "operation" {
			return fmt.Errorf("at %d: unexpected %s %q %s", m.seq, f.Kind, f.Error, f.Payload)
		}
		if err := m.apply(f); err != nil {
			return err
		}
	}
	return nil
}
