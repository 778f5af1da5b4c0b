//go:build unix

package e2e

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"

	"github.com/coder/websocket"

	"github.com/clipmesh/clipmesh/platform/auth"
	"github.com/clipmesh/clipmesh/platform/store"
	"github.com/clipmesh/clipmesh/platform/store/storetest"
)

// TestCollabConvergence is the seeded property test over the real stack:
// simulated clients on both replicas, each through its replica's gateway,
// edit one caption and title at once from stale bases (and, every other
// round, delete, undo and redo). Every client receives every operation
// once, in order; every client's copy equals the document both replicas
// serve; in insert-only rounds every inserted character is there exactly
// once (both concurrent inserts kept), and in the others none is there
// twice.
func TestCollabConvergence(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		t.Parallel()
		c := newCollabCluster(t, db)
		_, key := c.key("acme", auth.RoleEditor)
		rounds, clients, edits := 8, 6, 8
		if testing.Short() {
			rounds = 2
		}
		// Every client is its own user (undo is per user), shared into
		// each project as an editor by the owner.
		subjects, keys := make([]string, clients), make([]string, clients)
		for i := range keys {
			subjects[i], keys[i] = c.key("acme", auth.RoleEditor)
		}
		for round := range rounds {
			project := c.createProject(round%2, key)
			setup := c.dial(0, key)
			setup.join(project, 0)
			setup.mustSend(map[string]any{"action": "edit", "last_seen_sequence": 0, "payload": map[string]any{"type": "add_clip", "clip_id": "c"}})
			setup.expect("operation")
			for _, s := range subjects {
				setup.mustSend(map[string]any{"action": "share", "payload": map[string]any{"subject": s, "role": "editor"}})
				setup.expect("operation")
			}

			var mu sync.Mutex
			next := rune(0x4E00)
			inserted := map[rune]bool{}
			fresh := func() string {
				mu.Lock()
				defer mu.Unlock()
				r := next
				next++
				inserted[r] = true
				return string(r)
			}
			mixed := round%2 == 1
			cls := make([]*cclient, clients)
			models := make([]*model, clients)
			for i := range cls {
				cls[i] = c.dial(i%2, keys[i])
				j := cls[i].join(project, 0)
				models[i] = newModel()
				if err := cls[i].catchUp(models[i], j.Sequence); err != nil {
					t.Fatal(err)
				}
			}
			var wg sync.WaitGroup
			for i := range cls {
				wg.Go(func() {
					rng := rand.New(rand.NewPCG(12, uint64(round*100+i)))
					if err := randomEdits(cls[i], models[i], rng, edits, mixed, fresh, fmt.Sprintf("r%dc%d", round, i)); err != nil {
						t.Errorf("round %d client %d: %v", round, i, err)
					}
				})
			}
			wg.Wait()
			if t.Failed() {
				return
			}
			head, docA := cls[0].serverDoc(models[0])
			_, docB := cls[1].serverDoc(models[1])
			for i, cl := range cls {
				if err := cl.catchUp(models[i], head); err != nil {
					t.Fatalf("round %d client %d: %v", round, i, err)
				}
				if got, want := models[i].caption("c"), docA["c"]["caption"]; got != want {
					t.Fatalf("round %d: client %d has caption %q, replica A %q", round, i, got, want)
				}
				if got, want := models[i].clips["c"]["title"], docA["c"]["title"]; fmt.Sprint(got) != fmt.Sprint(want) && !(got == nil && want == "") {
					t.Fatalf("round %d: client %d has title %v, replica A %v", round, i, got, want)
				}
			}
			if docA["c"]["caption"] != docB["c"]["caption"] || docA["c"]["title"] != docB["c"]["title"] {
				t.Fatalf("round %d: replica A has %v, replica B %v", round, docA["c"], docB["c"])
			}
			caption := models[0].caption("c")
			seen := map[rune]bool{}
			for _, r := range caption {
				if seen[r] || !inserted[r] {
					t.Fatalf("round %d: caption %q has %q twice or from nowhere", round, caption, r)
				}
				seen[r] = true
			}
			if !mixed && len(seen) != len(inserted) {
				t.Fatalf("round %d: caption %q keeps %d of the %d inserted characters", round, caption, len(seen), len(inserted))
			}
			for _, cl := range append(cls, setup) {
				_ = cl.conn.Close(websocket.StatusNormalClosure, "done")
			}
		}
	})
}

// randomEdits makes n edits on cl, one in flight at a time, each based on
// what the client has seen: it waits for its own operation (or a refusal)
// to come back before the next, applying everyone's operations to m.
func randomEdits(cl *cclient, m *model, rng *rand.Rand, n int, mixed bool, fresh func() string, prefix string) error {
	for e := range n {
		opID := fmt.Sprintf("%s-%d", prefix, e)
		caption := []rune(m.caption("c"))
		frame := map[string]any{"action": "edit", "last_seen_sequence": m.seq}
		var payload map[string]any
		switch k := rng.IntN(10); {
		case m.clips["c"] == nil:
			return fmt.Errorf("clip c missing at %d", m.seq)
		case mixed && k == 0:
			frame["action"], payload = "undo", map[string]any{}
		case mixed && k == 1:
			frame["action"], payload = "redo", map[string]any{}
		case mixed && k < 4 && len(caption) > 0:
			p := rng.IntN(len(caption))
			payload = map[string]any{"type": "delete_text", "clip_id": "c", "pos": p, "len": 1 + rng.IntN(min(3, len(caption)-p))}
		case k == 4:
			payload = map[string]any{"type": "set", "clip_id": "c", "field": "title", "value": opID}
		default:
			payload = map[string]any{"type": "insert_text", "clip_id": "c", "pos": rng.IntN(len(caption) + 1), "text": fresh()}
		}
		payload["op_id"] = opID
		frame["payload"] = payload
		if err := cl.send(frame); err != nil {
			return err
		}
		for done := false; !done; {
			f, err := cl.next(false)
			if err != nil {
				return fmt.Errorf("edit %s: %w", opID, err)
			}
			switch f.Kind {
			case "operation":
				if err := m.apply(f); err != nil {
					return err
				}
				done = f.op().Op["op_id"] == opID
			case "error":
				if f.code() != "nothing_to_undo" {
					return fmt.Errorf("edit %s refused: %s (%s)", opID, f.Error, f.Payload)
				}
				done = true
			default:
				return fmt.Errorf("edit %s: unexpected %s", opID, f.Kind)
			}
		}
	}
	return nil
}

// TestCollabReplicas walks through everything a team does on a project,
// with its members on different replicas: live edits across replicas,
// comments and mentions, sharing and role changes as operations, permission
// refusals that reach no one, presence, per-user undo, history and restore,
// reconnect and resume, bad input, a flood, and a restart.
func TestCollabReplicas(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		t.Parallel()
		c := newCollabCluster(t, db)
		ownerID, ownerKey := c.key("acme", auth.RoleEditor)
		bobID, bobKey := c.key("acme", auth.RoleEditor)
		_, viewerKey := c.key("acme", auth.RoleEditor) // of the tenant, not a member: a viewer
		_, eveKey := c.key("evil", auth.RoleAdmin)
		project := c.createProject(0, ownerKey)

		owner := c.dial(0, ownerKey) // replica A
		bob := c.dial(1, bobKey)     // replica B
		owner.mustSend(map[string]any{"action": "join_project", "project_id": project, "payload": map[string]any{"presence": true}})
		if j := owner.expect("joined"); !strings.Contains(string(j.Payload), `"role":"owner"`) {
			t.Fatalf("owner joined %s", j.Payload)
		}
		if p := owner.expect("presence"); !strings.Contains(string(p.Payload), `"full":true`) || !strings.Contains(string(p.Payload), `"user":"`+ownerID+`"`) {
			t.Fatalf("owner's first presence %s, want the full list with the owner", p.Payload)
		}
		if j := bob.join(project, 0); !strings.Contains(string(j.Payload), `"role":"viewer"`) {
			t.Fatalf("bob, not shared yet, joined %s; want viewer", j.Payload)
		}
		om, bm := newModel(), newModel()
		// recv reads the next operation on both clients and checks they
		// agree.
		both := func(what string) cop {
			t.Helper()
			fo, fb := owner.expect("operation"), bob.expect("operation")
			if err := om.apply(fo); err != nil {
				t.Fatalf("%s: owner: %v", what, err)
			}
			if err := bm.apply(fb); err != nil {
				t.Fatalf("%s: bob: %v", what, err)
			}
			if string(fo.Payload) != string(fb.Payload) {
				t.Fatalf("%s: replicas disagree: %s vs %s", what, fo.Payload, fb.Payload)
			}
			return fo.op()
		}
		edit := func(cl *cclient, m *model, payload map[string]any) {
			cl.mustSend(map[string]any{"action": "edit", "last_seen_sequence": m.seq, "payload": payload})
		}

		t.Log("a viewer's edit is refused and reaches no one")
		edit(bob, bm, map[string]any{"type": "add_clip", "clip_id": "x"})
		if f := bob.expect("error"); f.code() != "permission_denied" {
			t.Fatalf("viewer edit: %+v", f)
		}
		t.Log("replica A's edit reaches replica B")
		edit(owner, om, map[string]any{"type": "add_clip", "clip_id": "c1", "op_id": "o1"})
		if op := both("add_clip"); op.Author != ownerID || op.Op["op_id"] != "o1" {
			t.Fatalf("add_clip: %+v", op)
		}
		t.Log("sharing is an operation; only an owner shares")
		bob.mustSend(map[string]any{"action": "share", "payload": map[string]any{"subject": bobID, "role": "owner"}})
		if f := bob.expect("error"); f.code() != "permission_denied" {
			t.Fatalf("viewer shares: %+v", f)
		}
		owner.mustSend(map[string]any{"action": "share", "payload": map[string]any{"subject": bobID, "role": "commenter"}})
		if op := both("share"); op.Op["type"] != "set_role" || op.Op["role"] != "commenter" {
			t.Fatalf("share: %+v", op)
		}
		edit(bob, bm, map[string]any{"type": "set", "clip_id": "c1", "field": "title", "value": "bob's"})
		if f := bob.expect("error"); f.code() != "permission_denied" {
			t.Fatalf("commenter edit: %+v", f)
		}

		t.Log("comments: a thread anchored to a clip and a time, a reply, a mention, resolve and reopen")
		bob.mustSend(map[string]any{"action": "comment", "payload": map[string]any{
			"clip_id": "c1", "time_ms": 1500, "text": "cut here? @" + ownerID, "comment_id": "t1"}})
		if op := both("comment"); op.Author != bobID || op.Op["time_ms"] != float64(1500) || fmt.Sprint(op.Op["mentions"]) != "["+ownerID+"]" {
			t.Fatalf("comment: %+v", op)
		}
		owner.mustSend(map[string]any{"action": "comment", "payload": map[string]any{"parent_id": "t1", "text": "yes", "comment_id": "t1r"}})
		both("reply")
		bob.mustSend(map[string]any{"action": "comment", "payload": map[string]any{"type": "resolve_comment", "comment_id": "t1"}})
		both("resolve")
		owner.mustSend(map[string]any{"action": "comment", "payload": map[string]any{"type": "reopen_comment", "comment_id": "t1"}})
		both("reopen")
		bob.mustSend(map[string]any{"action": "comment", "payload": map[string]any{"type": "edit_comment", "comment_id": "t1r", "text": "mine now"}})
		if f := bob.expect("error"); f.code() != "permission_denied" {
			t.Fatalf("editing another's comment: %+v", f)
		}

		t.Log("presence crosses replicas")
		bob.mustSend(map[string]any{"action": "presence", "payload": map[string]any{"clip_id": "c1", "time_ms": 1500}})
		for {
			f := owner.expect("presence")
			if strings.Contains(string(f.Payload), `"user":"`+bobID+`"`) && strings.Contains(string(f.Payload), `"clip_id":"c1","time_ms":1500`) {
				break
			}
		}

		t.Log("a role change takes effect at once, in presence too")
		owner.mustSend(map[string]any{"action": "share", "payload": map[string]any{"subject": bobID, "role": "editor"}})
		both("promote")
		for {
			f := owner.expect("presence")
			if strings.Contains(string(f.Payload), `"user":"`+bobID+`","role":"editor"`) {
				break
			}
		}
		edit(owner, om, map[string]any{"type": "insert_text", "clip_id": "c1", "pos": 0, "text": "hello"})
		both("hello")
		edit(bob, bm, map[string]any{"type": "insert_text", "clip_id": "c1", "pos": 5, "text": " world"})
		both("world")
		edit(owner, om, map[string]any{"type": "set", "clip_id": "c1", "field": "title", "value": "Launch"})
		both("title")
		version := om.seq

		t.Log("undo takes back only the owner's changes")
		owner.mustSend(map[string]any{"action": "undo", "payload": map[string]any{"op_id": "u1"}})
		both("undo title")
		owner.mustSend(map[string]any{"action": "undo"})
		both("undo hello")
		if got := om.caption("c1"); got != " world" {
			t.Fatalf("after the owner's undos: caption %q, want bob's text only", got)
		}
		owner.mustSend(map[string]any{"action": "redo"})
		both("redo hello")
		if got := bm.caption("c1"); got != "hello world" {
			t.Fatalf("after redo: %q", got)
		}

		t.Log("history lists bob's operations only")
		owner.mustSend(map[string]any{"action": "history", "payload": map[string]any{"author": bobID}})
		var h struct {
			Operations []struct {
				Sequence int64
				Author   string
			}
		}
		if err := json.Unmarshal(owner.expect("history").Payload, &h); err != nil || len(h.Operations) != 3 {
			t.Fatalf("history of bob: %+v, %v; want his 2 comment ops and his insert", h, err)
		}
		for _, o := range h.Operations {
			if o.Author != bobID {
				t.Fatalf("history of bob lists %s's op %d", o.Author, o.Sequence)
			}
		}

		t.Log("restore the project to a version")
		edit(bob, bm, map[string]any{"type": "remove_clip", "clip_id": "c1"})
		both("remove")
		_, before := owner.serverDocAt(version)
		owner.mustSend(map[string]any{"action": "restore", "payload": map[string]any{"to_seq": version}})
		both("restore")
		_, after := owner.serverDoc(nil)
		if before["c1"]["caption"] != "hello world" || after["c1"]["caption"] != before["c1"]["caption"] || after["c1"]["title"] != "Launch" {
			t.Fatalf("restore to %d: %v, want %v", version, after["c1"], before["c1"])
		}

		t.Log("a viewer and another tenant are refused")
		viewer := c.dial(1, viewerKey)
		viewer.join(project, om.seq)
		edit(viewer, om, map[string]any{"type": "remove_clip", "clip_id": "c1"})
		if f := viewer.expect("error"); f.code() != "permission_denied" {
			t.Fatalf("viewer edit: %+v", f)
		}
		viewer.mustSend(map[string]any{"action": "comment", "payload": map[string]any{"clip_id": "c1", "time_ms": 0, "text": "hi"}})
		if f := viewer.expect("error"); f.code() != "permission_denied" {
			t.Fatalf("viewer comment: %+v", f)
		}
		eve := c.dial(0, eveKey)
		eve.mustSend(map[string]any{"action": "join_project", "project_id": project})
		if f := eve.expect("error"); f.code() != "not_found" {
			t.Fatalf("other tenant join: %+v", f)
		}

		t.Log("bad input: error frames, and the connection goes on")
		for _, tt := range []struct {
			frame string
			code  string
		}{
			{`{"action":"edit","payload":`, "invalid_argument"},
			{`{"action":"dance"}`, "invalid_argument"},
			{`{"action":"edit","payload":{"type":"remove_clip","clip_id":"nope"},"last_seen_sequence":1}`, "unknown_clip"},
			{`{"action":"edit","payload":{"type":"remove_clip","clip_id":"c1"},"last_seen_sequence":99999}`, "stale_sequence"},
			{`{"action":"join_project","project_id":"` + project + `","last_seen_sequence":99999}`, "stale_sequence"},
			{`{"action":"comment","payload":{"type":"resolve_comment","comment_id":"nope"}}`, "unknown_comment"},
			{`{"action":"edit","payload":{"type":"set","clip_id":"c1","field":"title","value":"` + strings.Repeat("x", 70<<10) + `"}}`, "message_too_big"},
		} {
			ctx := t.Context()
			if err := bob.conn.Write(ctx, websocket.MessageText, []byte(tt.frame)); err != nil {
				t.Fatal(err)
			}
			if f := bob.expect("error"); f.code() != tt.code || f.Error == "" {
				t.Errorf("%.80s: %+v, want %s with a reason", tt.frame, f, tt.code)
			}
		}

		t.Log("reconnect and resume: no gap, no duplicate")
		_ = bob.conn.Close(websocket.StatusNormalClosure, "bye")
		for i := range 3 {
			edit(owner, om, map[string]any{"type": "set", "clip_id": "c1", "field": "order", "value": i})
			if err := om.apply(owner.expect("operation")); err != nil {
				t.Fatal(err)
			}
		}
		bob = c.dial(0, bobKey) // the other replica this time
		if j := bob.join(project, bm.seq); j.Sequence != om.seq {
			t.Fatalf("rejoined at %d, want %d", j.Sequence, om.seq)
		}
		if err := bob.catchUp(bm, om.seq); err != nil {
			t.Fatalf("resume: %v", err)
		}
		if bm.caption("c1") != om.caption("c1") || fmt.Sprint(bm.clips["c1"]["order"]) != "2" {
			t.Fatalf("resumed bob has %v, owner %v", bm.clips, om.clips)
		}
		t.Log("a snapshot join starts from the document")
		fresh := c.dial(1, bobKey)
		fresh.mustSend(map[string]any{"action": "join_project", "project_id": project, "payload": map[string]any{"snapshot": true}})
		fresh.expect("joined")
		if s := fresh.expect("snapshot"); s.Sequence != om.seq || !strings.Contains(string(s.Payload), `"caption":"hello world"`) {
			t.Fatalf("snapshot %d %s", s.Sequence, s.Payload)
		}

		t.Log("a flood is closed with 1008; everyone else goes on")
		flood := c.dial(1, viewerKey)
		flood.join(project, om.seq)
		go func() {
			for range 3000 {
				if flood.send(map[string]any{"action": "presence", "payload": map[string]any{}}) != nil {
					return
				}
			}
		}()
		<-flood.closed
		if flood.status != websocket.StatusPolicyViolation || flood.reason == "" {
			t.Errorf("flood closed with %v %q, want 1008 with a reason", flood.status, flood.reason)
		}
		edit(owner, om, map[string]any{"type": "set", "clip_id": "c1", "field": "title", "value": "after the flood"})
		both2 := func() {
			t.Helper()
			for _, p := range []struct {
				cl *cclient
				m  *model
			}{{owner, om}, {bob, bm}} {
				if err := p.m.apply(p.cl.expect("operation")); err != nil {
					t.Fatal(err)
				}
			}
		}
		both2()

		t.Log("persistence across a restart of replica A")
		c.stop(0)
		c.start(0)
		back := c.dial(0, ownerKey)
		back.join(project, 0)
		bm2 := newModel()
		if err := back.catchUp(bm2, om.seq); err != nil {
			t.Fatal(err)
		}
		if bm2.caption("c1") != "hello world" || bm2.clips["c1"]["title"] != "after the flood" {
			t.Fatalf("after restart: %v", bm2.clips)
		}
		edit(back, bm2, map[string]any{"type": "set", "clip_id": "c1", "field": "title", "value": "restarted"})
		if err := bm2.apply(back.expect("operation")); err != nil {
			t.Fatal(err)
		}
		for { // replica B still hears the restarted A
			if f := fresh.expect("operation"); f.op().Op["value"] == "restarted" {
				break
			}
		}
	})
}

// serverDocAt asks for the document at version seq.
func (cl *cclient) serverDocAt(seq int64) (int64, map[string]map[string]any) {
	cl.t.Helper()
	cl.mustSend(map[string]any{"action": "document", "payload": map[string]any{"sequence": seq}})
	f := cl.expect("document")
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
