package server_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/test/bufconn"

	collabv1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/collab/v1"
	"github.com/clipmesh/clipmesh/platform/auth"
	"github.com/clipmesh/clipmesh/platform/natsx"
	platformserver "github.com/clipmesh/clipmesh/platform/server"
	"github.com/clipmesh/clipmesh/platform/store"
	"github.com/clipmesh/clipmesh/services/collab/internal/projects"
	"github.com/clipmesh/clipmesh/services/collab/internal/server"
)

// mesh is two collab replicas, A and B, sharing one database and one
// embedded NATS server (B connects to A's over TCP, as a separate process
// would), each served over bufconn with the production interceptors.
type mesh struct {
	DB       *store.DB
	Keys     *auth.Keys
	Projects *projects.Store
	A, B     collabv1.CollabServiceClient
}

func connectNATS(t *testing.T, opts natsx.Options) *natsx.Conn {
	t.Helper()
	opts.Logger = slog.New(slog.DiscardHandler)
	nc, err := natsx.Connect(t.Context(), opts)
	if err != nil {
		t.Fatalf("natsx.Connect: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = nc.Close(ctx)
	})
	return nc
}

func newMesh(t *testing.T, db *store.DB) *mesh {
	t.Helper()
	ncA := connectNATS(t, natsx.Options{StoreDir: t.TempDir(), ListenAddr: "127.0.0.1:0", Name: "collab-a"})
	ncB := connectNATS(t, natsx.Options{URL: ncA.ClientURL(), Name: "collab-b"})
	keys := auth.NewKeys(db.DB)
	m := &mesh{DB: db, Keys: keys, Projects: &projects.Store{DB: db}}
	m.A = serve(t, db, keys, ncA)
	m.B = serve(t, db, keys, ncB)
	return m
}

func serve(t *testing.T, db *store.DB, keys *auth.Keys, nc *natsx.Conn) collabv1.CollabServiceClient {
	t.Helper()
	logger := slog.New(slog.DiscardHandler)
	srv := &server.Server{Projects: &projects.Store{DB: db}, NC: nc.NC, Logger: logger}
	stop, err := srv.Listen()
	if err != nil {
		t.Fatalf("Listen: %v", err)
	}
	t.Cleanup(stop)
	gs := platformserver.NewGRPCServer(platformserver.Options{Auth: auth.NewAuthenticator(keys, false, "mesh-token"), Logger: logger})
	srv.Register(gs)
	lis := bufconn.Listen(1 << 20)
	go func() { _ = gs.Serve(lis) }()
	t.Cleanup(gs.Stop)
	cc, err := grpc.NewClient("passthrough:///bufnet",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatalf("grpc.NewClient: %v", err)
	}
	t.Cleanup(func() { _ = cc.Close() })
	return collabv1.NewCollabServiceClient(cc)
}

// user is an API key of a tenant: its subject (the key id) and a context
// that sends it.
type user struct {
	Subject string
	Ctx     context.Context
}

func (m *mesh) user(t *testing.T, tenant string, role auth.Role) user {
	t.Helper()
	id, k, err := m.Keys.Create(t.Context(), tenant, role, t.Name())
	if err != nil {
		t.Fatalf("Keys.Create: %v", err)
	}
	return user{Subject: id, Ctx: metadata.AppendToOutgoingContext(t.Context(), "authorization", "Bearer "+k)}
}

// project creates a project as u and gives each of the others their role,
// writing the members table directly so that the log starts empty (sharing
// through the log is tested on its own).
func (m *mesh) project(t *testing.T, u user, members map[string]projects.Role) string {
	t.Helper()
	res, err := m.A.CreateProject(u.Ctx, &collabv1.CreateProjectRequest{Name: "p"})
	if err != nil {
		t.Fatalf("CreateProject: %v", err)
	}
	id := res.GetProject().GetId()
	for subject, role := range members {
		if _, err := m.DB.ExecContext(t.Context(), `INSERT INTO collab_members (project_id, subject, role, added_at)
			VALUES ($1, $2, $3, 0)`, id, subject, string(role)); err != nil {
			t.Fatalf("add member: %v", err)
		}
	}
	return id
}

// session is a client's Session stream with its responses in a channel.
type session struct {
	t      *testing.T
	stream grpc.BidiStreamingClient[collabv1.SessionRequest, collabv1.SessionResponse]
	in     chan *collabv1.SessionResponse
	cancel context.CancelFunc
}

func openSession(t *testing.T, c collabv1.CollabServiceClient, u user) *session {
	t.Helper()
	ctx, cancel := context.WithCancel(u.Ctx)
	stream, err := c.Session(ctx)
	if err != nil {
		cancel()
		t.Fatalf("Session: %v", err)
	}
	s := &session{t: t, stream: stream, in: make(chan *collabv1.SessionResponse, 10000), cancel: cancel}
	go func() {
		defer close(s.in)
		for {
			r, err := stream.Recv()
			if err != nil {
				return
			}
			s.in <- r
		}
	}()
	t.Cleanup(cancel)
	return s
}

func (s *session) send(req *collabv1.SessionRequest) {
	s.t.Helper()
	if err := s.stream.Send(req); err != nil {
		s.t.Fatalf("Send: %v", err)
	}
}

func (s *session) join(project string, lastSeen int64) {
	s.t.Helper()
	s.send(&collabv1.SessionRequest{Action: server.ActionJoin, ProjectId: project, LastSeenSequence: lastSeen})
}

// edit sends op (a doc.Op as a map) made on the log up to base.
func (s *session) edit(base int64, op map[string]any) {
	s.t.Helper()
	b, err := json.Marshal(op)
	if err != nil {
		s.t.Fatal(err)
	}
	s.send(&collabv1.SessionRequest{Action: server.ActionEdit, LastSeenSequence: base, PayloadJson: string(b)})
}

// next returns the next response, failing after a timeout.
func (s *session) next() *collabv1.SessionResponse {
	s.t.Helper()
	select {
	case r, ok := <-s.in:
		if !ok {
			s.t.Fatal("stream ended")
		}
		return r
	case <-time.After(10 * time.Second):
		s.t.Fatal("no response within 10s")
	}
	return nil
}

// expect returns the next response, which must be of kind; presence
// responses are skipped unless kind is presence.
func (s *session) expect(kind string) *collabv1.SessionResponse {
	s.t.Helper()
	r := s.next()
	for kind != server.KindPresence && r.GetKind() == server.KindPresence {
		r = s.next()
	}
	if r.GetKind() != kind {
		s.t.Fatalf("got %s (%q, %s), want %s", r.GetKind(), r.GetError(), r.GetPayloadJson(), kind)
	}
	return r
}

// opOf decodes an operation response's op.
func opOf(t *testing.T, r *collabv1.SessionResponse) map[string]any {
	t.Helper()
	var p struct {
		Author string         `json:"author"`
		Op     map[string]any `json:"op"`
	}
	if err := json.Unmarshal([]byte(r.GetPayloadJson()), &p); err != nil {
		t.Fatalf("operation payload %s: %v", r.GetPayloadJson(), err)
	}
	p.Op["author"] = p.Author
	return p.Op
}
