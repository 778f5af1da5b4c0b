package projects_test

import (
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/clipmesh/clipmesh/platform/store"
	"github.com/clipmesh/clipmesh/platform/store/storetest"
	"github.com/clipmesh/clipmesh/services/collab/internal/doc"
	"github.com/clipmesh/clipmesh/services/collab/internal/projects"
)

var (
	alice = projects.Caller{Tenant: "acme", Subject: "alice"}
	bob   = projects.Caller{Tenant: "acme", Subject: "bob"}
	admin = projects.Caller{Tenant: "acme", Subject: "root", Admin: true}
	eve   = projects.Caller{Tenant: "evil", Subject: "eve", Admin: true}
)

func TestProjects(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		t.Parallel()
		s := &projects.Store{DB: db}
		ctx := t.Context()
		p, err := s.Create(ctx, alice, "launch")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Create(ctx, alice, ""); !errors.Is(err, projects.ErrInvalidArgument) {
			t.Errorf("Create(empty name) = %v, want ErrInvalidArgument", err)
		}
		if _, err := s.Create(ctx, projects.Caller{Tenant: "acme", Subject: "v", ReadOnly: true}, "x"); !errors.Is(err, projects.ErrPermission) {
			t.Errorf("Create(read-only) = %v, want ErrPermission", err)
		}
		if err := s.SetMember(ctx, alice, p.ID, "bob", projects.RoleCommenter); err != nil {
			t.Fatal(err)
		}
		if err := s.SetMember(ctx, bob, p.ID, "bob", projects.RoleOwner); !errors.Is(err, projects.ErrPermission) {
			t.Errorf("SetMember by a commenter = %v, want ErrPermission", err)
		}
		for _, tt := range []struct {
			name     string
			c        projects.Caller
			wantRole projects.Role
			wantErr  error
		}{
			{"creator is owner", alice, projects.RoleOwner, nil},
			{"member role", bob, projects.RoleCommenter, nil},
			{"tenant admin is owner", admin, projects.RoleOwner, nil},
			{"other of the tenant is viewer", projects.Caller{Tenant: "acme", Subject: "carol"}, projects.RoleViewer, nil},
			{"read-only key is viewer", projects.Caller{Tenant: "acme", Subject: "alice", ReadOnly: true}, projects.RoleViewer, nil},
			{"another tenant: not found", eve, "", projects.ErrNotFound},
		} {
			t.Run(tt.name, func(t *testing.T) {
				got, role, err := s.Get(ctx, tt.c, p.ID)
				if !errors.Is(err, tt.wantErr) || role != tt.wantRole {
					t.Fatalf("Get = %s, %v; want %s, %v", role, err, tt.wantRole, tt.wantErr)
				}
				if err == nil && (got.Name != "launch" || got.CreatedBy != "alice") {
					t.Errorf("Get = %+v", got)
				}
			})
		}
		list, err := s.List(ctx, bob)
		if err != nil || len(list) != 1 || list[0].ID != p.ID {
			t.Errorf("List(acme) = %+v, %v; want the project", list, err)
		}
		if list, err := s.List(ctx, eve); err != nil || len(list) != 0 {
			t.Errorf("List(evil) = %+v, %v; want none", list, err)
		}
	})
}

func TestAppend(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		t.Parallel()
		s := &projects.Store{DB: db}
		ctx := t.Context()
		p, err := s.Create(ctx, alice, "p")
		if err != nil {
			t.Fatal(err)
		}
		if err := s.SetMember(ctx, alice, p.ID, "bob", projects.RoleEditor); err != nil {
			t.Fatal(err)
		}
		// Sharing is an operation too: the log starts with it.
		if _, err := s.Append(ctx, alice, p.ID, 0, doc.Op{Type: doc.TypeAddClip, ClipID: "c"}); err != nil {
			t.Fatal(err)
		}
		// Concurrent appenders, all on base 2: one sequence, no gaps, every
		// insert kept.
		const n = 16
		var wg sync.WaitGroup
		errs := make(chan error, n)
		zero := 0
		for i := range n {
			wg.Go(func() {
				c := alice
				if i%2 == 1 {
					c = bob
				}
				_, err := s.Append(ctx, c, p.ID, 2, doc.Op{Type: doc.TypeInsertText, ClipID: "c", Pos: &zero, Text: fmt.Sprint(i % 10)})
				errs <- err
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatalf("concurrent Append: %v", err)
			}
		}
		ops, err := s.Ops(ctx, p.ID, 0, 100)
		if err != nil || len(ops) != n+2 {
			t.Fatalf("Ops = %d ops, %v; want %d", len(ops), err, n+2)
		}
		if ops[0].Op.Type != doc.TypeSetRole || ops[0].Op.Subject != "bob" || ops[0].Author != "alice" {
			t.Errorf("first op = %+v, want alice's set_role of bob", ops[0])
		}
		log := make([]doc.Op, len(ops))
		for i, o := range ops {
			if o.Seq != int64(i+1) {
				t.Fatalf("op %d has seq %d", i, o.Seq)
			}
			log[i] = o.Op
		}
		d, err := doc.Replay(log)
		if err != nil {
			t.Fatal(err)
		}
		if c, _ := d.Clip("c"); len(c.Caption) != n {
			t.Errorf("caption %q, want %d characters", c.Caption, n)
		}
		if got, _, _ := s.Get(ctx, alice, p.ID); got.LastSeq != n+2 {
			t.Errorf("LastSeq = %d, want %d", got.LastSeq, n+2)
		}

		for _, tt := range []struct {
			name    string
			c       projects.Caller
			base    int64
			op      doc.Op
			wantErr error
		}{
			{"commenter", projects.Caller{Tenant: "acme", Subject: "carol"}, 2, doc.Op{Type: doc.TypeRemoveClip, ClipID: "c"}, projects.ErrPermission},
			{"another tenant", eve, 2, doc.Op{Type: doc.TypeRemoveClip, ClipID: "c"}, projects.ErrNotFound},
			{"unknown clip", alice, 2, doc.Op{Type: doc.TypeRemoveClip, ClipID: "x"}, doc.ErrUnknownClip},
			{"stale base", alice, 99, doc.Op{Type: doc.TypeRemoveClip, ClipID: "c"}, doc.ErrStaleBase},
		} {
			t.Run(tt.name, func(t *testing.T) {
				if _, err := s.Append(ctx, tt.c, p.ID, tt.base, tt.op); !errors.Is(err, tt.wantErr) {
					t.Errorf("Append = %v, want %v", err, tt.wantErr)
				}
			})
		}
		// Refused appends leave no trace and no gap.
		if got, _, _ := s.Get(ctx, alice, p.ID); got.LastSeq != n+2 {
			t.Errorf("LastSeq after refusals = %d, want %d", got.LastSeq, n+2)
		}
	})
}

func TestSharingCommentsHistory(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		t.Parallel()
		s := &projects.Store{DB: db}
		ctx := t.Context()
		p, err := s.Create(ctx, alice, "p")
		if err != nil {
			t.Fatal(err)
		}
		carol := projects.Caller{Tenant: "acme", Subject: "carol"}
		must := func(c projects.Caller, op doc.Op) projects.Operation {
			t.Helper()
			o, err := s.Append(ctx, c, p.ID, 0, op)
			if err != nil {
				t.Fatalf("Append(%s, %+v): %v", c.Subject, op, err)
			}
			return o
		}
		must(alice, doc.Op{Type: doc.TypeAddClip, ClipID: "c"})
		must(alice, doc.Op{Type: doc.TypeSetRole, Subject: "bob", Role: "commenter"})
		must(alice, doc.Op{Type: doc.TypeSetRole, Subject: "carol", Role: "owner"})
		zero := int64(0)
		must(bob, doc.Op{Type: doc.TypeAddComment, CommentID: "k", ClipID: "c", TimeMs: &zero, Text: "hm @alice"})
		for _, tt := range []struct {
			name string
			c    projects.Caller
			op   doc.Op
			want error
		}{
			{"commenter edits the document", bob, doc.Op{Type: doc.TypeRemoveClip, ClipID: "c"}, projects.ErrPermission},
			{"commenter shares", bob, doc.Op{Type: doc.TypeSetRole, Subject: "bob", Role: "owner"}, projects.ErrPermission},
			{"someone else edits a comment", alice, doc.Op{Type: doc.TypeEditComment, CommentID: "k", Text: "x"}, projects.ErrPermission},
			{"a viewer comments", projects.Caller{Tenant: "acme", Subject: "dan"}, doc.Op{Type: doc.TypeAddComment, ClipID: "c", TimeMs: &zero, Text: "x"}, projects.ErrPermission},
			{"edit of an unknown comment", bob, doc.Op{Type: doc.TypeEditComment, CommentID: "nope", Text: "x"}, doc.ErrUnknownComment},
		} {
			t.Run(tt.name, func(t *testing.T) {
				if _, err := s.Append(ctx, tt.c, p.ID, 0, tt.op); !errors.Is(err, tt.want) {
					t.Errorf("Append = %v, want %v", err, tt.want)
				}
			})
		}
		// An owner may delete another's comment.
		must(carol, doc.Op{Type: doc.TypeDeleteComment, CommentID: "k"})
		// The last owner cannot step down; with another owner, they can.
		must(alice, doc.Op{Type: doc.TypeSetRole, Subject: "carol", Role: "editor"})
		if _, err := s.Append(ctx, alice, p.ID, 0, doc.Op{Type: doc.TypeSetRole, Subject: "alice", Role: "editor"}); !errors.Is(err, projects.ErrInvalidArgument) {
			t.Errorf("last owner steps down = %v, want ErrInvalidArgument", err)
		}
		if _, role, _ := s.Get(ctx, carol, p.ID); role != projects.RoleEditor {
			t.Errorf("carol's role = %s after set_role editor", role)
		}
		must(alice, doc.Op{Type: doc.TypeRemoveMember, Subject: "bob"})
		if _, role, _ := s.Get(ctx, bob, p.ID); role != projects.RoleViewer {
			t.Errorf("bob's role after remove_member = %s, want viewer", role)
		}
		// History: newest first, by author, by clip, paged.
		all, err := s.History(ctx, p.ID, 0, 100, "", "")
		if err != nil || len(all) != 7 || all[0].Seq != 7 || all[6].Seq != 1 {
			t.Fatalf("History = %d ops, %v", len(all), err)
		}
		mine, err := s.History(ctx, p.ID, 0, 100, "bob", "")
		if err != nil || len(mine) != 1 || mine[0].Op.Type != doc.TypeAddComment || mine[0].Op.Mentions[0] != "alice" {
			t.Errorf("History(bob) = %+v, %v", mine, err)
		}
		clip, err := s.History(ctx, p.ID, 0, 100, "", "c")
		if err != nil || len(clip) != 2 {
			t.Errorf("History(clip c) = %d ops, %v; want the add_clip and the comment on it", len(clip), err)
		}
		page, err := s.History(ctx, p.ID, 5, 2, "", "")
		if err != nil || len(page) != 2 || page[0].Seq != 4 || page[1].Seq != 3 {
			t.Errorf("History(before 5, 2) = %+v, %v", page, err)
		}
		// The document at a version, from a store with no cache (another
		// replica).
		d, err := (&projects.Store{DB: db}).Document(ctx, p.ID, 4)
		if err != nil || len(d.Comments()) != 1 || d.Members()["carol"] != "owner" {
			t.Errorf("Document(4) = %+v, %v", d, err)
		}
	})
}
