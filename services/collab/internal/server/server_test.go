package server_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	collabv1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/collab/v1"
	"github.com/clipmesh/clipmesh/platform/auth"
	"github.com/clipmesh/clipmesh/platform/store"
	"github.com/clipmesh/clipmesh/platform/store/storetest"
	"github.com/clipmesh/clipmesh/services/collab/internal/doc"
	"github.com/clipmesh/clipmesh/services/collab/internal/projects"
	"github.com/clipmesh/clipmesh/services/collab/internal/server"
)

func TestProjectRPCs(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		t.Parallel()
		m := newMesh(t, db)
		alice := m.user(t, "acme", auth.RoleEditor)
		carol := m.user(t, "acme", auth.RoleViewer)
		eve := m.user(t, "evil", auth.RoleAdmin)
		created, err := m.A.CreateProject(alice.Ctx, &collabv1.CreateProjectRequest{Name: "launch"})
		if err != nil {
			t.Fatal(err)
		}
		id := created.GetProject().GetId()
		got, err := m.B.GetProject(carol.Ctx, &collabv1.GetProjectRequest{ProjectId: id})
		if err != nil || got.GetProject().GetName() != "launch" || !got.GetProject().GetCreateTime().IsValid() {
			t.Errorf("GetProject on B = %v, %v", got, err)
		}
		list, err := m.A.ListProjects(carol.Ctx, &collabv1.ListProjectsRequest{})
		if err != nil || len(list.GetProjects()) != 1 || list.GetProjects()[0].GetId() != id {
			t.Errorf("ListProjects(acme) = %v, %v", list, err)
		}
		if list, err := m.A.ListProjects(eve.Ctx, &collabv1.ListProjectsRequest{}); err != nil || len(list.GetProjects()) != 0 {
			t.Errorf("ListProjects(evil) = %v, %v; want none", list, err)
		}
		for _, tt := range []struct {
			name string
			call func() error
			want codes.Code
		}{
			{"another tenant's project", func() error {
				_, err := m.A.GetProject(eve.Ctx, &collabv1.GetProjectRequest{ProjectId: id})
				return err
			}, codes.NotFound},
			{"bad project id", func() error {
				_, err := m.A.GetProject(alice.Ctx, &collabv1.GetProjectRequest{ProjectId: "x"})
				return err
			}, codes.InvalidArgument},
			{"empty name", func() error {
				_, err := m.A.CreateProject(alice.Ctx, &collabv1.CreateProjectRequest{})
				return err
			}, codes.InvalidArgument},
			{"viewer key creates", func() error {
				_, err := m.A.CreateProject(carol.Ctx, &collabv1.CreateProjectRequest{Name: "x"})
				return err
			}, codes.PermissionDenied},
			{"no key", func() error {
				_, err := m.A.ListProjects(t.Context(), &collabv1.ListProjectsRequest{})
				return err
			}, codes.Unauthenticated},
		} {
			t.Run(tt.name, func(t *testing.T) {
				if got := status.Code(tt.call()); got != tt.want {
					t.Errorf("code = %s, want %s", got, tt.want)
				}
			})
		}
	})
}

func TestSessionAcrossReplicas(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		t.Parallel()
		m := newMesh(t, db)
		alice := m.user(t, "acme", auth.RoleEditor)
		bob := m.user(t, "acme", auth.RoleEditor)
		id := m.project(t, alice, map[string]projects.Role{bob.Subject: projects.RoleEditor})
		sa, sb := openSession(t, m.A, alice), openSession(t, m.B, bob)
		sa.join(id, 0)
		sb.join(id, 0)
		if r := sa.expect(server.KindJoined); !strings.Contains(r.GetPayloadJson(), `"role":"owner"`) {
			t.Errorf("alice joined %s, want the owner role", r.GetPayloadJson())
		}
		if r := sb.expect(server.KindJoined); !strings.Contains(r.GetPayloadJson(), `"role":"editor"`) {
			t.Errorf("bob joined %s, want the editor role", r.GetPayloadJson())
		}

		sb.edit(0, map[string]any{"type": "add_clip", "clip_id": "c1", "op_id": "b1"})
		for _, s := range []*session{sa, sb} {
			r := s.expect(server.KindOperation)
			if op := opOf(t, r); r.GetSequence() != 1 || op["op_id"] != "b1" || op["author"] != bob.Subject {
				t.Fatalf("got seq %d %v, want bob's add_clip as 1", r.GetSequence(), op)
			}
		}
		sa.edit(1, map[string]any{"type": "insert_text", "clip_id": "c1", "pos": 0, "text": "hello"})
		sa.expect(server.KindOperation)
		sb.expect(server.KindOperation)

		// Both insert at the end of "hello" having seen sequence 2: both
		// inserts survive, in sequence order, on both replicas.
		sa.edit(2, map[string]any{"type": "insert_text", "clip_id": "c1", "pos": 5, "text": " A"})
		sb.edit(2, map[string]any{"type": "insert_text", "clip_id": "c1", "pos": 5, "text": " B"})
		for _, s := range []*session{sa, sb} {
			for want := int64(3); want <= 4; want++ {
				if r := s.expect(server.KindOperation); r.GetSequence() != want {
					t.Fatalf("got sequence %d, want %d", r.GetSequence(), want)
				}
			}
		}
		caption := replayCaption(t, m, id, "c1")
		if caption != "hello A B" && caption != "hello B A" {
			t.Errorf("caption = %q, want both inserts", caption)
		}
	})
}

// replayCaption replays the stored log of project id and returns clip's
// caption.
func replayCaption(t *testing.T, m *mesh, id, clip string) string {
	t.Helper()
	ops, err := m.Projects.Ops(t.Context(), id, 0, 10000)
	if err != nil {
		t.Fatal(err)
	}
	log := make([]doc.Op, len(ops))
	for i, o := range ops {
		log[i] = o.Op
	}
	d, err := doc.Replay(log)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := d.Clip(clip)
	return c.Caption
}

func TestSessionPermissions(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		t.Parallel()
		m := newMesh(t, db)
		owner := m.user(t, "acme", auth.RoleEditor)
		commenter := m.user(t, "acme", auth.RoleEditor)
		viewer := m.user(t, "acme", auth.RoleEditor)   // of the tenant, not a member
		readOnly := m.user(t, "acme", auth.RoleViewer) // an editor member, but a viewer key
		id := m.project(t, owner, map[string]projects.Role{
			commenter.Subject: projects.RoleCommenter, readOnly.Subject: projects.RoleEditor,
		})
		watch := openSession(t, m.A, owner)
		watch.join(id, 0)
		watch.expect(server.KindJoined)
		watch.edit(0, map[string]any{"type": "add_clip", "clip_id": "c1"})
		watch.expect(server.KindOperation)

		seq := int64(1)
		for _, tt := range []struct {
			name string
			u    user
		}{
			{"commenter", commenter},
			{"viewer", viewer},
			{"viewer key", readOnly},
		} {
			t.Run(tt.name, func(t *testing.T) {
				s := openSession(t, m.B, tt.u)
				s.join(id, seq)
				s.expect(server.KindJoined)
				s.edit(seq, map[string]any{"type": "remove_clip", "clip_id": "c1", "op_id": "x"})
				r := s.expect(server.KindError)
				if !strings.Contains(r.GetPayloadJson(), server.CodePermission) || !strings.Contains(r.GetError(), "cannot edit") {
					t.Errorf("error %q %s, want a permission refusal", r.GetError(), r.GetPayloadJson())
				}
				// Never stored, never broadcast: the next op everyone sees
				// is the owner's, with the next sequence.
				watch.edit(seq, map[string]any{"type": "set", "clip_id": "c1", "field": "title", "value": tt.name})
				seq++
				for _, c := range []*session{watch, s} {
					r := c.expect(server.KindOperation)
					if op := opOf(t, r); r.GetSequence() != seq || op["value"] != tt.name {
						t.Errorf("got %d %v, want the owner's title as %d", r.GetSequence(), op, seq)
					}
				}
			})
		}
	})
}

func TestSessionResume(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		t.Parallel()
		m := newMesh(t, db)
		u := m.user(t, "acme", auth.RoleEditor)
		id := m.project(t, u, nil)
		s := openSession(t, m.A, u)
		s.join(id, 0)
		s.expect(server.KindJoined)
		s.edit(0, map[string]any{"type": "add_clip", "clip_id": "c"})
		for i := range 5 {
			s.edit(int64(i+1), map[string]any{"type": "set", "clip_id": "c", "field": "order", "value": i})
		}
		for range 6 {
			s.expect(server.KindOperation)
		}
		s.cancel()

		// Reconnect on the other replica having seen 2: 3..6 follow the
		// joined message, then live operations, with no gap or duplicate.
		r := openSession(t, m.B, u)
		r.join(id, 2)
		if j := r.expect(server.KindJoined); j.GetSequence() != 6 {
			t.Errorf("joined at %d, want 6", j.GetSequence())
		}
		s2 := openSession(t, m.A, u)
		s2.join(id, 6)
		s2.expect(server.KindJoined)
		s2.edit(6, map[string]any{"type": "set", "clip_id": "c", "field": "title", "value": "live"})
		for want := int64(3); want <= 7; want++ {
			if got := r.expect(server.KindOperation); got.GetSequence() != want {
				t.Fatalf("got sequence %d, want %d", got.GetSequence(), want)
			}
		}
	})
}

func TestSessionBadInput(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		t.Parallel()
		m := newMesh(t, db)
		u := m.user(t, "acme", auth.RoleEditor)
		eve := m.user(t, "evil", auth.RoleAdmin)
		id := m.project(t, u, nil)
		other := m.project(t, u, nil)

		fresh := openSession(t, m.A, u)
		fresh.edit(0, map[string]any{"type": "add_clip", "clip_id": "c"})
		if r := fresh.expect(server.KindError); !strings.Contains(r.GetPayloadJson(), server.CodeNotJoined) {
			t.Errorf("edit before join: %s", r.GetPayloadJson())
		}
		s := openSession(t, m.A, u)
		s.join(id, 0)
		s.expect(server.KindJoined)
		s.edit(0, map[string]any{"type": "add_clip", "clip_id": "c"})
		s.expect(server.KindOperation)

		for _, tt := range []struct {
			name string
			req  *collabv1.SessionRequest
			code string
		}{
			{"unknown action", &collabv1.SessionRequest{Action: "dance"}, server.CodeInvalid},
			{"no action", &collabv1.SessionRequest{}, server.CodeInvalid},
			{"nothing to redo", &collabv1.SessionRequest{Action: "redo", PayloadJson: `{"op_id":"u"}`}, server.CodeNothingToUndo},
			{"undo with another type", &collabv1.SessionRequest{Action: "undo", PayloadJson: `{"type":"redo"}`}, server.CodeInvalid},
			{"comment of an unknown clip", &collabv1.SessionRequest{Action: "comment", PayloadJson: `{"clip_id":"zz","time_ms":1,"text":"x"}`}, server.CodeUnknownClip},
			{"comment that is an edit", &collabv1.SessionRequest{Action: "comment", PayloadJson: `{"type":"remove_clip","clip_id":"c"}`}, server.CodeInvalid},
			{"resolve an unknown comment", &collabv1.SessionRequest{Action: "comment", PayloadJson: `{"type":"resolve_comment","comment_id":"nope"}`}, server.CodeUnknownComment},
			{"restore to the future", &collabv1.SessionRequest{Action: "restore", PayloadJson: `{"to_seq":99}`}, server.CodeStaleSequence},
			{"restore without a version", &collabv1.SessionRequest{Action: "restore"}, server.CodeInvalid},
			{"share with a bad role", &collabv1.SessionRequest{Action: "share", PayloadJson: `{"subject":"x","role":"god"}`}, server.CodeInvalid},
			{"presence with a bad clip", &collabv1.SessionRequest{Action: "presence", PayloadJson: `{"clip_id":"a b"}`}, server.CodeInvalid},
			{"history with a bad limit", &collabv1.SessionRequest{Action: "history", PayloadJson: `{"limit":100000}`}, server.CodeInvalid},
			{"document of the future", &collabv1.SessionRequest{Action: "document", PayloadJson: `{"sequence":99}`}, server.CodeStaleSequence},
			{"join with a bad option", &collabv1.SessionRequest{Action: "join_project", ProjectId: id, PayloadJson: `{"snap":1}`}, server.CodeInvalid},
			{"malformed json", &collabv1.SessionRequest{Action: "edit", LastSeenSequence: 1, PayloadJson: `{"type":`}, server.CodeInvalid},
			{"unknown op field", &collabv1.SessionRequest{Action: "edit", LastSeenSequence: 1, PayloadJson: `{"type":"add_clip","clip_id":"d","x":1}`}, server.CodeInvalid},
			{"oversized", &collabv1.SessionRequest{Action: "edit", PayloadJson: `"` + strings.Repeat("a", server.MaxPayloadBytes) + `"`}, server.CodeInvalid},
			{"unknown clip", &collabv1.SessionRequest{Action: "edit", LastSeenSequence: 1, PayloadJson: `{"type":"remove_clip","clip_id":"zz"}`}, server.CodeUnknownClip},
			{"duplicate clip", &collabv1.SessionRequest{Action: "edit", LastSeenSequence: 1, PayloadJson: `{"type":"add_clip","clip_id":"c"}`}, server.CodeConflict},
			{"stale edit sequence", &collabv1.SessionRequest{Action: "edit", LastSeenSequence: 9, PayloadJson: `{"type":"remove_clip","clip_id":"c"}`}, server.CodeStaleSequence},
			{"edit of another project", &collabv1.SessionRequest{Action: "edit", ProjectId: other, LastSeenSequence: 1, PayloadJson: `{"type":"add_clip","clip_id":"e"}`}, server.CodeInvalid},
			{"join bad id", &collabv1.SessionRequest{Action: "join_project", ProjectId: "nope"}, server.CodeInvalid},
			{"join unknown project", &collabv1.SessionRequest{Action: "join_project", ProjectId: "prj_0"}, server.CodeNotFound},
			{"join ahead of the log", &collabv1.SessionRequest{Action: "join_project", ProjectId: id, LastSeenSequence: 5}, server.CodeStaleSequence},
		} {
			t.Run(tt.name, func(t *testing.T) {
				s.send(tt.req)
				r := s.expect(server.KindError)
				if !strings.Contains(r.GetPayloadJson(), `"code":"`+tt.code+`"`) || r.GetError() == "" {
					t.Errorf("error %q %s, want code %s", r.GetError(), r.GetPayloadJson(), tt.code)
				}
			})
		}
		// Another tenant cannot join, and the stream survives all of it.
		es := openSession(t, m.A, eve)
		es.join(id, 0)
		if r := es.expect(server.KindError); !strings.Contains(r.GetPayloadJson(), server.CodeNotFound) {
			t.Errorf("other tenant join: %s", r.GetPayloadJson())
		}
		s.edit(1, map[string]any{"type": "set", "clip_id": "c", "field": "title", "value": "still here"})
		if r := s.expect(server.KindOperation); r.GetSequence() != 2 {
			t.Errorf("after bad input: sequence %d, want 2", r.GetSequence())
		}
		s.send(&collabv1.SessionRequest{Action: server.ActionLeave})
		s.edit(2, map[string]any{"type": "remove_clip", "clip_id": "c"})
		if r := s.expect(server.KindError); !strings.Contains(r.GetPayloadJson(), server.CodeNotJoined) {
			t.Errorf("edit after leave: %s", r.GetPayloadJson())
		}
	})
}

// TestSessionConcurrent has sessions on both replicas edit one caption at
// once, each on a stale base: every session receives every operation once,
// in sequence order, and the stored caption keeps every insert.
func TestSessionConcurrent(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		t.Parallel()
		m := newMesh(t, db)
		owner := m.user(t, "acme", auth.RoleEditor)
		id := m.project(t, owner, nil)
		setup := openSession(t, m.A, owner)
		setup.join(id, 0)
		setup.expect(server.KindJoined)
		setup.edit(0, map[string]any{"type": "add_clip", "clip_id": "c"})
		setup.expect(server.KindOperation)

		const clients, edits = 4, 10
		sessions := make([]*session, clients)
		for i := range sessions {
			c := m.A
			if i%2 == 1 {
				c = m.B
			}
			sessions[i] = openSession(t, c, owner)
			sessions[i].join(id, 1)
			sessions[i].expect(server.KindJoined)
		}
		var wg sync.WaitGroup
		for i, s := range sessions {
			wg.Go(func() {
				for j := range edits {
					b := fmt.Sprintf(`{"type":"insert_text","clip_id":"c","pos":0,"text":"%c"}`, rune('a'+i*edits+j))
					if err := s.stream.Send(&collabv1.SessionRequest{Action: server.ActionEdit, LastSeenSequence: 1, PayloadJson: b}); err != nil {
						t.Errorf("Send: %v", err)
					}
				}
			})
		}
		wg.Wait()
		for i, s := range sessions {
			for want := int64(2); want <= 1+clients*edits; want++ {
				if r := s.expect(server.KindOperation); r.GetSequence() != want {
					t.Fatalf("session %d got sequence %d, want %d", i, r.GetSequence(), want)
				}
			}
		}
		if got := replayCaption(t, m, id, "c"); len([]rune(got)) != clients*edits {
			t.Errorf("caption %q has %d characters, want %d", got, len([]rune(got)), clients*edits)
		}
	})
}

// TestSessionFlood floods a gRPC session: actions over the rate are
// refused one by one, then the stream ends with ResourceExhausted; another
// session of the project is untouched.
func TestSessionFlood(t *testing.T) {
	t.Parallel()
	m := newMesh(t, storetest.SQLite(t))
	u := m.user(t, "acme", auth.RoleEditor)
	id := m.project(t, u, nil)
	other := openSession(t, m.B, u)
	other.join(id, 0)
	other.expect(server.KindJoined)
	flood := openSession(t, m.A, u)
	go func() {
		for range 5000 {
			if flood.stream.Send(&collabv1.SessionRequest{Action: "history"}) != nil {
				return
			}
		}
	}()
	limited := 0
	for r := range flood.in {
		if r.GetKind() == server.KindError && strings.Contains(r.GetPayloadJson(), server.CodeRateLimited) {
			limited++
		}
	}
	_, err := flood.stream.Recv()
	if status.Code(err) != codes.ResourceExhausted || limited == 0 {
		t.Errorf("flood: %d rate_limited errors, stream ended with %v; want some, then ResourceExhausted", limited, err)
	}
	other.edit(0, map[string]any{"type": "add_clip", "clip_id": "c"})
	if r := other.expect(server.KindOperation); r.GetSequence() != 1 {
		t.Errorf("the other session after the flood: %v", r)
	}
}

func TestHistoryRPCs(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		t.Parallel()
		m := newMesh(t, db)
		alice := m.user(t, "acme", auth.RoleEditor)
		eve := m.user(t, "evil", auth.RoleAdmin)
		id := m.project(t, alice, nil)
		s := openSession(t, m.A, alice)
		s.join(id, 0)
		s.expect(server.KindJoined)
		s.edit(0, map[string]any{"type": "add_clip", "clip_id": "c"})
		for i := range 4 {
			s.edit(int64(i+1), map[string]any{"type": "insert_text", "clip_id": "c", "pos": 0, "text": fmt.Sprint(i)})
		}
		for range 5 {
			s.expect(server.KindOperation)
		}
		page, err := m.B.ListOperations(alice.Ctx, &collabv1.ListOperationsRequest{ProjectId: id, PageSize: 3})
		if err != nil || len(page.GetOperations()) != 3 || page.GetOperations()[0].GetSequence() != 5 || page.GetNextBeforeSequence() != 3 {
			t.Fatalf("ListOperations = %v, %v", page, err)
		}
		rest, err := m.B.ListOperations(alice.Ctx, &collabv1.ListOperationsRequest{ProjectId: id, BeforeSequence: 3})
		if err != nil || len(rest.GetOperations()) != 2 || rest.GetNextBeforeSequence() != 0 || rest.GetOperations()[1].GetAuthor() != alice.Subject {
			t.Fatalf("ListOperations(before 3) = %v, %v", rest, err)
		}
		d, err := m.B.GetDocument(alice.Ctx, &collabv1.GetDocumentRequest{ProjectId: id, Sequence: 3})
		if err != nil || d.GetSequence() != 3 || !strings.Contains(d.GetDocumentJson(), `"caption":"10"`) {
			t.Fatalf("GetDocument(3) = %v, %v", d, err)
		}
		head, err := m.A.GetDocument(alice.Ctx, &collabv1.GetDocumentRequest{ProjectId: id})
		if err != nil || head.GetSequence() != 5 || !strings.Contains(head.GetDocumentJson(), `"caption":"3210"`) {
			t.Fatalf("GetDocument() = %v, %v", head, err)
		}
		for _, tt := range []struct {
			name string
			err  error
			want codes.Code
		}{
			{"other tenant's history", func() error {
				_, err := m.A.ListOperations(eve.Ctx, &collabv1.ListOperationsRequest{ProjectId: id})
				return err
			}(), codes.NotFound},
			{"page too big", func() error {
				_, err := m.A.ListOperations(alice.Ctx, &collabv1.ListOperationsRequest{ProjectId: id, PageSize: 10000})
				return err
			}(), codes.InvalidArgument},
			{"future version", func() error {
				_, err := m.A.GetDocument(alice.Ctx, &collabv1.GetDocumentRequest{ProjectId: id, Sequence: 99})
				return err
			}(), codes.InvalidArgument},
		} {
			if got := status.Code(tt.err); got != tt.want {
				t.Errorf("%s: %v, want %s", tt.name, tt.err, tt.want)
			}
		}
	})
}
