package doc

import (
	"encoding/json"
	"errors"
	"math/rand/v2"
	"testing"
)

func pos(n int) *int { return &n }

func mustSequence(t *testing.T, log []Op, base int64, op Op) []Op {
	t.Helper()
	got, _, err := Sequence(log, base, op)
	if err != nil {
		t.Fatalf("Sequence(base %d, %+v): %v", base, op, err)
	}
	return append(log, got)
}

func TestSequence(t *testing.T) {
	t.Parallel()
	// setup: clip c1 with caption "hello", title "a" (seq 1-3).
	setup := func(t *testing.T) []Op {
		log := mustSequence(t, nil, 0, Op{Type: TypeAddClip, ClipID: "c1"})
		log = mustSequence(t, log, 1, Op{Type: TypeInsertText, ClipID: "c1", Pos: pos(0), Text: "hello"})
		return mustSequence(t, log, 2, Op{Type: TypeSet, ClipID: "c1", Field: FieldTitle, Value: json.RawMessage(`"a"`)})
	}
	type sub struct {
		base int64
		op   Op
	}
	tests := []struct {
		name    string
		ops     []sub
		want    Clip
		wantErr error
	}{
		{
			name: "last writer wins by server order, whatever the bases",
			ops: []sub{
				{3, Op{Type: TypeSet, ClipID: "c1", Field: FieldTitle, Value: json.RawMessage(`"x"`)}},
				{3, Op{Type: TypeSet, ClipID: "c1", Field: FieldTitle, Value: json.RawMessage(`"y"`)}},
				{1, Op{Type: TypeSet, ClipID: "c1", Field: FieldAspect, Value: json.RawMessage(`"9:16"`)}},
			},
			want: Clip{ID: "c1", Title: "y", Caption: "hello", Aspect: "9:16"},
		},
		{
			name: "concurrent inserts at one place both survive, first sequenced first",
			ops: []sub{
				{3, Op{Type: TypeInsertText, ClipID: "c1", Pos: pos(5), Text: " world"}},
				{3, Op{Type: TypeInsertText, ClipID: "c1", Pos: pos(5), Text: " there"}},
			},
			want: Clip{ID: "c1", Title: "a", Caption: "hello world there"},
		},
		{
			name: "a delete keeps a concurrent insert inside its range",
			ops: []sub{
				{3, Op{Type: TypeInsertText, ClipID: "c1", Pos: pos(2), Text: "XX"}},
				{3, Op{Type: TypeDeleteText, ClipID: "c1", Pos: pos(1), Len: 3}},
			},
			want: Clip{ID: "c1", Title: "a", Caption: "hXXo"},
		},
		{
			name: "edit_text in ot.js form",
			ops:  []sub{{3, Op{Type: TypeEditText, ClipID: "c1", TextOp: &TextOp{}}}},
		},
		{
			name:    "base ahead of the log",
			ops:     []sub{{4, Op{Type: TypeRemoveClip, ClipID: "c1"}}},
			wantErr: ErrStaleBase,
		},
		{
			name:    "unknown clip",
			ops:     []sub{{3, Op{Type: TypeRemoveClip, ClipID: "nope"}}},
			wantErr: ErrUnknownClip,
		},
		{
			name: "edit of a clip removed concurrently",
			ops: []sub{
				{3, Op{Type: TypeRemoveClip, ClipID: "c1"}},
				{3, Op{Type: TypeInsertText, ClipID: "c1", Pos: pos(0), Text: "x"}},
			},
			wantErr: ErrUnknownClip,
		},
		{
			name:    "clip id reused",
			ops:     []sub{{3, Op{Type: TypeRemoveClip, ClipID: "c1"}}, {4, Op{Type: TypeAddClip, ClipID: "c1"}}},
			wantErr: ErrClipExists,
		},
		{"insert past the end", []sub{{3, Op{Type: TypeInsertText, ClipID: "c1", Pos: pos(6), Text: "x"}}}, Clip{}, ErrInvalid},
		{"in after out", []sub{
			{3, Op{Type: TypeSet, ClipID: "c1", Field: FieldOutMs, Value: json.RawMessage(`1000`)}},
			{4, Op{Type: TypeSet, ClipID: "c1", Field: FieldInMs, Value: json.RawMessage(`2000`)}},
		}, Clip{}, ErrInvalid},
		{"bad aspect", []sub{{3, Op{Type: TypeSet, ClipID: "c1", Field: FieldAspect, Value: json.RawMessage(`"wide"`)}}}, Clip{}, ErrInvalid},
		{"set caption", []sub{{3, Op{Type: TypeSet, ClipID: "c1", Field: "caption", Value: json.RawMessage(`"x"`)}}}, Clip{}, ErrInvalid},
		{"unknown field", []sub{{3, Op{Type: TypeSet, ClipID: "c1", Field: "colour", Value: json.RawMessage(`1`)}}}, Clip{}, ErrInvalid},
		{"unknown type", []sub{{3, Op{Type: "paint", ClipID: "c1"}}}, Clip{}, ErrInvalid},
		{"bad clip id", []sub{{3, Op{Type: TypeAddClip, ClipID: "a b"}}}, Clip{}, ErrInvalid},
		{"text_op of the wrong length", []sub{{3, Op{Type: TypeEditText, ClipID: "c1", TextOp: new(TextOp).Retain(4)}}}, Clip{}, ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			log := setup(t)
			if tt.name == "edit_text in ot.js form" {
				tt.ops[0].op.TextOp = new(TextOp).Retain(5).Insert("!")
				tt.want = Clip{ID: "c1", Title: "a", Caption: "hello!"}
			}
			var err error
			for _, s := range tt.ops {
				var op Op
				if op, _, err = Sequence(log, s.base, s.op); err != nil {
					break
				}
				log = append(log, op)
			}
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Sequence error = %v, want %v", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			d, err := Replay(log)
			if err != nil {
				t.Fatal(err)
			}
			if got, _ := d.Clip("c1"); got != tt.want {
				t.Errorf("clip = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestParseOp(t *testing.T) {
	t.Parallel()
	if _, err := ParseOp([]byte(`{"type":"set","clip_id":"c","field":"title","value":"x"}`)); err != nil {
		t.Errorf("ParseOp(valid) = %v", err)
	}
	for _, bad := range []string{`{`, `{"type":"set","colour":1}`, `{"type":"set"} {}`, `[]`} {
		if _, err := ParseOp([]byte(bad)); !errors.Is(err, ErrInvalid) {
			t.Errorf("ParseOp(%s) = %v, want ErrInvalid", bad, err)
		}
	}
}

// simClient is a simulated client: it has seen the log up to its doc's Seq
// and makes its edits on that document.
type simClient struct{ doc *Document }

func (c *simClient) catchUp(t *testing.T, log []Op, to int) {
	t.Helper()
	for int(c.doc.Seq) < to {
		if err := c.doc.Apply(log[c.doc.Seq]); err != nil {
			t.Fatalf("client replay of op %d: %v", c.doc.Seq+1, err)
		}
		c.doc.Seq++
	}
}

// TestConvergence is the property test: several clients, each lagging a
// random amount behind the log, make random caption edits on what they have
// seen; the server sequences them. Every client replaying the log ends with
// the same caption, and that caption holds exactly the characters that were
// inserted and not deleted by an edit that saw them (every character is
// unique, so "both concurrent inserts survive" is checked character by
// character).
func TestConvergence(t *testing.T) {
	t.Parallel()
	const rounds = 400
	for round := range rounds {
		rng := rand.New(rand.NewPCG(12, uint64(round)))
		insertOnly := round%2 == 0
		next := rune(0x4E00) // unique characters, CJK block onwards
		fresh := func(n int) string {
			rs := make([]rune, n)
			for i := range rs {
				rs[i] = next
				next++
			}
			return string(rs)
		}
		alive := map[rune]bool{}
		log := []Op{{Type: TypeAddClip, ClipID: "c"}}
		init := fresh(5)
		log = mustSequence(t, log, 1, Op{Type: TypeInsertText, ClipID: "c", Pos: pos(0), Text: init})
		for _, r := range init {
			alive[r] = true
		}
		clients := make([]*simClient, 2+rng.IntN(4))
		for i := range clients {
			clients[i] = &simClient{doc: New()}
		}
		steps := 10 + rng.IntN(40)
		for range steps {
			c := clients[rng.IntN(len(clients))]
			// Catch up a random part of what is new, often nothing.
			to := int(c.doc.Seq) + rng.IntN(len(log)-int(c.doc.Seq)+1)
			if rng.IntN(3) == 0 {
				to = int(c.doc.Seq)
			}
			c.catchUp(t, log, max(to, 2))
			clip, _ := c.doc.Clip("c")
			text := []rune(clip.Caption)
			var op Op
			if insertOnly || len(text) == 0 || rng.IntN(3) > 0 {
				s := fresh(1 + rng.IntN(3))
				for _, r := range s {
					alive[r] = true
				}
				op = Op{Type: TypeInsertText, ClipID: "c", Pos: pos(rng.IntN(len(text) + 1)), Text: s}
			} else {
				p := rng.IntN(len(text))
				n := 1 + rng.IntN(min(3, len(text)-p))
				for _, r := range text[p : p+n] {
					delete(alive, r)
				}
				op = Op{Type: TypeDeleteText, ClipID: "c", Pos: pos(p), Len: n}
			}
			log = mustSequence(t, log, c.doc.Seq, op)
		}
		server, err := Replay(log)
		if err != nil {
			t.Fatalf("round %d: replay: %v", round, err)
		}
		want, _ := server.Clip("c")
		for i, c := range clients {
			c.catchUp(t, log, len(log))
			if got, _ := c.doc.Clip("c"); got.Caption != want.Caption {
				t.Fatalf("round %d: client %d has %q, server %q", round, i, got.Caption, want.Caption)
			}
		}
		seen := map[rune]bool{}
		for _, r := range want.Caption {
			if seen[r] || !alive[r] {
				t.Fatalf("round %d: caption %q has %q twice or after its delete", round, want.Caption, r)
			}
			seen[r] = true
		}
		if len(seen) != len(alive) {
			t.Fatalf("round %d: caption %q keeps %d characters, want %d (an insert was lost)", round, want.Caption, len(seen), len(alive))
		}
	}
}
