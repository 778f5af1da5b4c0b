package doc

import (
	"encoding/json"
	"errors"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// seqAs appends op by author on base, failing the test on error.
func seqAs(t *testing.T, l *Log, base int64, author string, op Op) Op {
	t.Helper()
	got, err := l.Sequence(base, author, op)
	if err != nil {
		t.Fatalf("Sequence(%s, base %d, %+v): %v", author, base, op, err)
	}
	return got
}

func title(v string) json.RawMessage { b, _ := json.Marshal(v); return b }

func clipOf(t *testing.T, l *Log, id string) Clip {
	t.Helper()
	c, ok := l.Head().Clip(id)
	if !ok {
		t.Fatalf("clip %q missing at %d", id, l.Len())
	}
	return c
}

func TestUndoRedo(t *testing.T) {
	t.Parallel()
	l := NewLog()
	seqAs(t, l, 0, "bob", Op{Type: TypeAddClip, ClipID: "c"})
	seqAs(t, l, 1, "alice", Op{Type: TypeSet, ClipID: "c", Field: FieldTitle, Value: title("a1")})
	seqAs(t, l, 2, "alice", Op{Type: TypeSet, ClipID: "c", Field: FieldTitle, Value: title("a2")})
	seqAs(t, l, 3, "alice", Op{Type: TypeInsertText, ClipID: "c", Pos: pos(0), Text: "hello"})
	seqAs(t, l, 4, "bob", Op{Type: TypeInsertText, ClipID: "c", Pos: pos(5), Text: " bob"})
	seqAs(t, l, 4, "alice", Op{Type: TypeInsertText, ClipID: "c", Pos: pos(0), Text: ">"}) // concurrent with bob's

	// Alice's undos take back only her changes, newest first; bob's insert
	// stays wherever the text moved.
	u := seqAs(t, l, 6, "alice", Op{Type: TypeUndo})
	if u.Undoes != 6 || clipOf(t, l, "c").Caption != "hello bob" {
		t.Fatalf("first undo %+v → %q, want the '>' gone", u, clipOf(t, l, "c").Caption)
	}
	seqAs(t, l, 7, "alice", Op{Type: TypeUndo})
	if got := clipOf(t, l, "c").Caption; got != " bob" {
		t.Fatalf("second undo → %q, want bob's text only", got)
	}
	seqAs(t, l, 8, "alice", Op{Type: TypeUndo})
	if got := clipOf(t, l, "c").Title; got != "a1" {
		t.Fatalf("third undo → title %q, want a1", got)
	}
	// Redo brings back the newest undone, in reverse order of the undos.
	seqAs(t, l, 9, "alice", Op{Type: TypeRedo})
	if got := clipOf(t, l, "c").Title; got != "a2" {
		t.Fatalf("redo → title %q, want a2", got)
	}
	seqAs(t, l, 10, "alice", Op{Type: TypeRedo})
	if got := clipOf(t, l, "c").Caption; got != "hello bob" {
		t.Fatalf("second redo → %q, want hello back", got)
	}
	// A new edit clears the redo stack.
	seqAs(t, l, 11, "alice", Op{Type: TypeSet, ClipID: "c", Field: FieldAspect, Value: title("9:16")})
	if _, err := l.Sequence(12, "alice", Op{Type: TypeRedo}); !errors.Is(err, ErrNothingToUndo) {
		t.Errorf("redo after a new edit = %v, want ErrNothingToUndo", err)
	}
	// Someone else's later change of a field stands over an undo.
	seqAs(t, l, 12, "bob", Op{Type: TypeSet, ClipID: "c", Field: FieldTitle, Value: title("bob's")})
	seqAs(t, l, 13, "alice", Op{Type: TypeUndo}) // the aspect
	seqAs(t, l, 14, "alice", Op{Type: TypeUndo}) // the caption again
	u = seqAs(t, l, 15, "alice", Op{Type: TypeUndo})
	if c := clipOf(t, l, "c"); c.Title != "bob's" || len(u.Ops) != 0 {
		t.Errorf("undo of a title bob changed since: title %q, ops %+v; want bob's to stand", c.Title, u.Ops)
	}
	// Bob's undo of his add_clip removes it; his redo puts it back whole.
	before := clipOf(t, l, "c")
	for range 2 { // bob's title, then his insert
		seqAs(t, l, l.Len(), "bob", Op{Type: TypeUndo})
	}
	seqAs(t, l, l.Len(), "bob", Op{Type: TypeUndo})
	if _, ok := l.Head().Clip("c"); ok {
		t.Fatal("undo of add_clip left the clip")
	}
	seqAs(t, l, l.Len(), "bob", Op{Type: TypeRedo})
	c := clipOf(t, l, "c")
	if c.Caption != before.Caption[:len(before.Caption)-len(" bob")] && c.Caption != strings.ReplaceAll(before.Caption, " bob", "") {
		t.Errorf("redo of add_clip: caption %q", c.Caption)
	}
	if _, err := l.Sequence(l.Len(), "carol", Op{Type: TypeUndo}); !errors.Is(err, ErrNothingToUndo) {
		t.Errorf("undo with no changes = %v, want ErrNothingToUndo", err)
	}
	if _, err := Replay(l.ops); err != nil {
		t.Errorf("the log does not replay: %v", err)
	}
}

func TestRestore(t *testing.T) {
	t.Parallel()
	l := NewLog()
	seqAs(t, l, 0, "a", Op{Type: TypeAddClip, ClipID: "c"})
	seqAs(t, l, 1, "a", Op{Type: TypeInsertText, ClipID: "c", Pos: pos(0), Text: "first take"})
	seqAs(t, l, 2, "a", Op{Type: TypeSet, ClipID: "c", Field: FieldOutMs, Value: json.RawMessage(`5000`)})
	seqAs(t, l, 3, "a", Op{Type: TypeAddClip, ClipID: "d"})
	v4, _ := l.At(4)
	seqAs(t, l, 4, "b", Op{Type: TypeDeleteText, ClipID: "c", Pos: pos(0), Len: 6})
	seqAs(t, l, 5, "b", Op{Type: TypeSet, ClipID: "c", Field: FieldInMs, Value: json.RawMessage(`3000`)})
	seqAs(t, l, 6, "b", Op{Type: TypeRemoveClip, ClipID: "d"})
	seqAs(t, l, 7, "b", Op{Type: TypeAddClip, ClipID: "e"})

	// One clip: only c goes back.
	seqAs(t, l, 8, "a", Op{Type: TypeRestore, ToSeq: ptr64(4), ClipID: "c"})
	if c := clipOf(t, l, "c"); c.Caption != "first take" || c.InMs != 0 || c.OutMs != 5000 {
		t.Errorf("restored clip = %+v", c)
	}
	if _, ok := l.Head().Clip("d"); ok {
		t.Error("restoring c brought d back")
	}
	// The whole project.
	seqAs(t, l, 9, "a", Op{Type: TypeRestore, ToSeq: ptr64(4)})
	if got, want := l.Head().Clips(), v4.Clips(); !slices.Equal(got, want) {
		t.Errorf("after restore: %+v, want %+v", got, want)
	}
	// A restore is undone like any change.
	seqAs(t, l, 10, "a", Op{Type: TypeUndo})
	if _, ok := l.Head().Clip("e"); !ok {
		t.Error("undo of the restore did not bring e back")
	}
	if _, err := l.Sequence(11, "a", Op{Type: TypeRestore, ToSeq: ptr64(99)}); !errors.Is(err, ErrStaleBase) {
		t.Errorf("restore to a future version = %v", err)
	}
	if _, err := l.Sequence(11, "a", Op{Type: TypeRestore, ToSeq: ptr64(1), ClipID: "zz"}); !errors.Is(err, ErrUnknownClip) {
		t.Errorf("restore of an unknown clip = %v", err)
	}
	if _, err := l.Sequence(11, "a", Op{Type: TypePutClip, ClipID: "z", Clip: &Clip{ID: "z"}}); !errors.Is(err, ErrInvalid) {
		t.Errorf("put_clip from a client = %v, want ErrInvalid", err)
	}
}

func ptr64(n int64) *int64 { return &n }

func TestComments(t *testing.T) {
	t.Parallel()
	l := NewLog()
	seqAs(t, l, 0, "a", Op{Type: TypeAddClip, ClipID: "c"})
	th := seqAs(t, l, 1, "a", Op{Type: TypeAddComment, ClipID: "c", TimeMs: ptr64(1500), Text: "cut here? @bob, @carol."})
	if th.CommentID != "cm2" || th.Author != "a" || !slices.Equal(th.Mentions, []string{"bob", "carol"}) {
		t.Fatalf("thread op = %+v", th)
	}
	seqAs(t, l, 2, "bob", Op{Type: TypeAddComment, CommentID: "r1", ParentID: "cm2", Text: "yes", Author: "mallory"})
	seqAs(t, l, 3, "carol", Op{Type: TypeAddComment, CommentID: "r2", ParentID: "r1", Text: "agreed"})
	seqAs(t, l, 4, "bob", Op{Type: TypeResolveComment, CommentID: "cm2"})
	r2, _ := l.Head().Comment("r2")
	r1, _ := l.Head().Comment("r1")
	thread, _ := l.Head().Comment("cm2")
	if r1.Author != "bob" || r2.ParentID != "cm2" || r2.ClipID != "c" || r2.TimeMs != 1500 || !thread.Resolved {
		t.Errorf("thread %+v, replies %+v %+v", thread, r1, r2)
	}
	seqAs(t, l, 5, "a", Op{Type: TypeReopenComment, CommentID: "cm2"})
	seqAs(t, l, 6, "bob", Op{Type: TypeEditComment, CommentID: "r1", Text: "yes, at 1.5 s"})
	if c, _ := l.Head().Comment("r1"); c.Text != "yes, at 1.5 s" || c.Edited != 7 {
		t.Errorf("edited = %+v", c)
	}
	for _, tt := range []struct {
		op   Op
		want error
	}{
		{Op{Type: TypeAddComment, ClipID: "zz", TimeMs: ptr64(0), Text: "x"}, ErrUnknownClip},
		{Op{Type: TypeAddComment, ClipID: "c", Text: "x"}, ErrInvalid},
		{Op{Type: TypeAddComment, ClipID: "c", TimeMs: ptr64(0), Text: "  "}, ErrInvalid},
		{Op{Type: TypeAddComment, ParentID: "nope", Text: "x"}, ErrUnknownComment},
		{Op{Type: TypeResolveComment, CommentID: "r1"}, ErrInvalid},
		{Op{Type: TypeAddComment, CommentID: "r1", ParentID: "cm2", Text: "x"}, ErrClipExists},
	} {
		if _, err := l.Sequence(l.Len(), "a", tt.op); !errors.Is(err, tt.want) {
			t.Errorf("Sequence(%+v) = %v, want %v", tt.op, err, tt.want)
		}
	}
	seqAs(t, l, 7, "a", Op{Type: TypeDeleteComment, CommentID: "cm2"})
	if n := len(l.Head().Comments()); n != 0 {
		t.Errorf("deleting a thread left %d comments", n)
	}
	// Comments are not undone by undo.
	if u, r := l.CanUndo("bob"); u != 0 || r != 0 {
		t.Errorf("bob can undo %d, redo %d; comments are not undoable", u, r)
	}
}

// TestUndoConvergence is a property test of undo under concurrency:
// several authors insert unique characters on lagging bases and undo and
// redo at random. In the end one author undoes everything of theirs: the
// caption then holds exactly the other authors' live characters, and the
// log replays to the same document.
func TestUndoConvergence(t *testing.T) {
	t.Parallel()
	for round := range 200 {
		rng := rand.New(rand.NewPCG(7, uint64(round)))
		l := NewLog()
		seqAs(t, l, 0, "setup", Op{Type: TypeAddClip, ClipID: "c"})
		next := rune(0x4E00)
		owner := map[rune]string{}
		authors := []string{"a0", "a1", "a2"}
		seen := map[string]int64{}
		for range 20 + rng.IntN(40) {
			a := authors[rng.IntN(len(authors))]
			seen[a] = max(1, min(l.Len(), seen[a]+int64(rng.IntN(4))))
			base := seen[a]
			switch k := rng.IntN(10); {
			case k < 6:
				d, _ := l.At(base)
				c, _ := d.Clip("c")
				r := next
				next++
				owner[r] = a
				seqAs(t, l, base, a, Op{Type: TypeInsertText, ClipID: "c", Pos: pos(rng.IntN(len([]rune(c.Caption)) + 1)), Text: string(r)})
			case k < 8:
				if _, err := l.Sequence(base, a, Op{Type: TypeUndo}); err != nil && !errors.Is(err, ErrNothingToUndo) {
					t.Fatalf("round %d: undo: %v", round, err)
				}
			default:
				if _, err := l.Sequence(base, a, Op{Type: TypeRedo}); err != nil && !errors.Is(err, ErrNothingToUndo) {
					t.Fatalf("round %d: redo: %v", round, err)
				}
			}
		}
		// Everyone's live characters, before a0 undoes all.
		live := map[rune]bool{}
		for _, r := range clipOf(t, l, "c").Caption {
			if live[r] {
				t.Fatalf("round %d: %q twice", round, r)
			}
			live[r] = true
		}
		for {
			if _, err := l.Sequence(l.Len(), "a0", Op{Type: TypeUndo}); errors.Is(err, ErrNothingToUndo) {
				break
			} else if err != nil {
				t.Fatalf("round %d: undo all: %v", round, err)
			}
		}
		got := clipOf(t, l, "c").Caption
		for _, r := range got {
			if owner[r] == "a0" || !live[r] {
				t.Fatalf("round %d: after a0 undid everything, %q (by %s) is in %q", round, r, owner[r], got)
			}
		}
		for r := range live {
			if owner[r] != "a0" && !strings.ContainsRune(got, r) {
				t.Fatalf("round %d: %s's %q lost by a0's undo: %q", round, owner[r], r, got)
			}
		}
		d, err := Replay(l.ops)
		if err != nil {
			t.Fatalf("round %d: replay: %v", round, err)
		}
		if c, _ := d.Clip("c"); c.Caption != got {
			t.Fatalf("round %d: replay %q, head %q", round, c.Caption, got)
		}
	}
}
