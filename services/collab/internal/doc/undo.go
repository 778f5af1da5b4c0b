package doc

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
)

// Per-user undo and redo, and restore.
//
// An author's undo stack is their document edits (and redos) not undone;
// their redo stack the undos made since their last new edit. Undo takes the
// top of the undo stack, an operation at sequence s, and computes its
// inverse on the document at s-1 (each effect's inverse, in reverse order);
// it then carries the inverse through every operation after s:
//
//   - a caption edit is transformed through later caption edits of the clip
//     (so a concurrent insert by someone else stays);
//   - setting a field back is dropped if another author set that field
//     since (their change stands);
//   - re-creating or removing a clip is dropped if it was already done.
//
// What is left is applied to the head; a part that no longer fits (in_ms
// after a changed out_ms) is dropped. The stored undo op carries the
// resulting ops, so replaying the log never recomputes it. Redo is the same
// on an undo op. Only the author's own operations are ever undone.

// Invert returns the op that undoes o, given the text s that o applies to.
func (o TextOp) Invert(s string) TextOp {
	rs := []rune(s)
	var inv TextOp
	i := 0
	for _, c := range o.comps {
		switch {
		case c.isRetain():
			inv.Retain(c.n)
			i += c.n
		case c.isInsert():
			inv.Delete(len([]rune(c.s)))
		default:
			inv.Insert(string(rs[i : i-c.n]))
			i -= c.n
		}
	}
	return inv
}

// diffText returns an edit turning a into b: the common prefix and suffix
// kept, the middle replaced.
func diffText(a, b string) TextOp {
	ra, rb := []rune(a), []rune(b)
	p := 0
	for p < len(ra) && p < len(rb) && ra[p] == rb[p] {
		p++
	}
	s := 0
	for s < len(ra)-p && s < len(rb)-p && ra[len(ra)-1-s] == rb[len(rb)-1-s] {
		s++
	}
	var t TextOp
	t.Retain(p).Insert(string(rb[p : len(rb)-s])).Delete(len(ra) - p - s).Retain(s)
	return t
}

// stacks returns author's undo and redo stacks (sequences, top last).
func (l *Log) stacks(author string) (undo, redo []int64) {
	for i, op := range l.ops {
		if l.authors[i] != author {
			continue
		}
		seq := int64(i + 1)
		switch op.Type {
		case TypeUndo:
			undo = slices.DeleteFunc(undo, func(s int64) bool { return s == op.Undoes })
			redo = append(redo, seq)
		case TypeRedo:
			redo = slices.DeleteFunc(redo, func(s int64) bool { return s == op.Redoes })
			undo = append(undo, seq)
		default:
			if op.IsDocumentEdit() {
				undo = append(undo, seq)
				redo = redo[:0]
			}
		}
	}
	return undo, redo
}

// CanUndo reports how many of author's changes can be undone and redone.
func (l *Log) CanUndo(author string) (undo, redo int) {
	u, r := l.stacks(author)
	return len(u), len(r)
}

func (l *Log) undo(author string, op Op) (Op, error) {
	st, _ := l.stacks(author)
	if len(st) == 0 {
		return Op{}, fmt.Errorf("%w: %s has no change left to undo", ErrNothingToUndo, author)
	}
	target := st[len(st)-1]
	ops, err := l.revert(target, author)
	if err != nil {
		return Op{}, err
	}
	return Op{Type: TypeUndo, OpID: op.OpID, Undoes: target, Ops: ops}, nil
}

func (l *Log) redo(author string, op Op) (Op, error) {
	_, st := l.stacks(author)
	if len(st) == 0 {
		return Op{}, fmt.Errorf("%w: %s has no undo left to redo", ErrNothingToUndo, author)
	}
	target := st[len(st)-1]
	ops, err := l.revert(target, author)
	if err != nil {
		return Op{}, err
	}
	return Op{Type: TypeRedo, OpID: op.OpID, Redoes: target, Ops: ops}, nil
}

// revert returns the ops that undo the operation at seq, made by author,
// on the head.
func (l *Log) revert(seq int64, author string) ([]Op, error) {
	d, err := l.At(seq - 1)
	if err != nil {
		return nil, err
	}
	var inv []Op
	for _, e := range l.ops[seq-1].effects() {
		i, err := inverse(d, e)
		if err != nil {
			return nil, err
		}
		if err := d.Apply(e); err != nil {
			return nil, fmt.Errorf("replay op %d: %w", seq, err)
		}
		inv = append(inv, i...)
	}
	slices.Reverse(inv)
	for s := seq + 1; s <= l.Len(); s++ {
		other := l.authors[s-1] != author
		for _, later := range l.ops[s-1].effects() {
			kept := inv[:0]
			for _, e := range inv {
				if e, ok := carry(e, later, other); ok {
					kept = append(kept, e)
				}
			}
			inv = kept
		}
	}
	return l.fit(inv), nil
}

// inverse returns the ops that undo e, a document op valid on d.
func inverse(d *Document, e Op) ([]Op, error) {
	switch e.Type {
	case TypeAddClip, TypePutClip:
		return []Op{{Type: TypeRemoveClip, ClipID: e.ClipID}}, nil
	case TypeRemoveClip:
		c, ok := d.clips[e.ClipID]
		if !ok {
			return nil, nil
		}
		cp := *c
		return []Op{{Type: TypePutClip, ClipID: e.ClipID, Clip: &cp}}, nil
	case TypeSet:
		c, ok := d.clips[e.ClipID]
		if !ok {
			return nil, nil
		}
		old, err := c.get(e.Field)
		if err != nil {
			return nil, err
		}
		return []Op{{Type: TypeSet, ClipID: e.ClipID, Field: e.Field, Value: old}}, nil
	case TypeEditText:
		c, ok := d.clips[e.ClipID]
		if !ok {
			return nil, nil
		}
		t := e.TextOp.Invert(c.Caption)
		return []Op{{Type: TypeEditText, ClipID: e.ClipID, TextOp: &t}}, nil
	}
	return nil, nil
}

// get returns a scalar field's value as JSON.
func (c *Clip) get(field string) (json.RawMessage, error) {
	var v any
	switch field {
	case FieldInMs:
		v = c.InMs
	case FieldOutMs:
		v = c.OutMs
	case FieldTitle:
		v = c.Title
	case FieldCaptionStyle:
		v = c.CaptionStyle
	case FieldAspect:
		if c.Aspect == "" {
			return nil, nil // never set: nothing to set back
		}
		v = c.Aspect
	case FieldOrder:
		v = c.Order
	default:
		return nil, invalid("unknown field %q", field)
	}
	return json.Marshal(v)
}

// carry moves e, an op valid before later, to after it; ok is false when
// e no longer has anything to do. other says whether later's author is
// someone else.
func carry(e, later Op, other bool) (Op, bool) {
	if e.ClipID != later.ClipID {
		return e, true
	}
	switch e.Type {
	case TypeSet:
		if len(e.Value) == 0 {
			return e, false
		}
		if later.Type == TypePutClip || later.Type == TypeRemoveClip {
			return e, false
		}
		return e, !(other && later.Type == TypeSet && later.Field == e.Field)
	case TypeEditText:
		switch later.Type {
		case TypeEditText:
			_, t, err := Transform(*later.TextOp, *e.TextOp)
			if err != nil {
				return e, false
			}
			e.TextOp = &t
			return e, true
		case TypeRemoveClip, TypePutClip:
			return e, false
		}
	case TypeRemoveClip:
		return e, later.Type != TypeRemoveClip
	case TypePutClip:
		return e, later.Type != TypePutClip && later.Type != TypeAddClip
	}
	return e, true
}

// fit keeps the ops that apply, one after another, to a copy of the head.
func (l *Log) fit(ops []Op) []Op {
	d := l.head.Clone()
	var out []Op
	for _, e := range ops {
		if e.Type == TypeEditText && e.TextOp.IsNoop() {
			continue
		}
		if d.Apply(e) == nil {
			out = append(out, e.canonical())
		}
	}
	return out
}

// restore computes the ops that bring the head back to the document at
// op.ToSeq: every clip, or only op.ClipID. Comments and members are not
// restored.
func (l *Log) restore(op Op) (Op, error) {
	to := *op.ToSeq
	if to > l.Len() {
		return Op{}, fmt.Errorf("%w: to_seq %d, the project is at %d", ErrStaleBase, to, l.Len())
	}
	old, err := l.At(to)
	if err != nil {
		return Op{}, err
	}
	ids := map[string]bool{}
	if op.ClipID != "" {
		_, inOld := old.clips[op.ClipID]
		_, inHead := l.head.clips[op.ClipID]
		if !inOld && !inHead {
			return Op{}, fmt.Errorf("%w: %q", ErrUnknownClip, op.ClipID)
		}
		ids[op.ClipID] = true
	} else {
		for id := range old.clips {
			ids[id] = true
		}
		for id := range l.head.clips {
			ids[id] = true
		}
	}
	sorted := make([]string, 0, len(ids))
	for id := range ids {
		sorted = append(sorted, id)
	}
	slices.Sort(sorted)
	var ops []Op
	for _, id := range sorted {
		was, inOld := old.clips[id]
		now, inHead := l.head.clips[id]
		switch {
		case inOld && !inHead:
			cp := *was
			ops = append(ops, Op{Type: TypePutClip, ClipID: id, Clip: &cp})
		case !inOld && inHead:
			ops = append(ops, Op{Type: TypeRemoveClip, ClipID: id})
		default:
			// in_ms and out_ms in an order that keeps in < out on the way.
			fields := []string{FieldInMs, FieldOutMs}
			if was.InMs >= now.OutMs && now.OutMs > 0 {
				fields = []string{FieldOutMs, FieldInMs}
			}
			fields = append(fields, FieldTitle, FieldCaptionStyle, FieldAspect, FieldOrder)
			for _, f := range fields {
				a, _ := was.get(f)
				b, _ := now.get(f)
				if len(a) > 0 && !bytes.Equal(a, b) {
					ops = append(ops, Op{Type: TypeSet, ClipID: id, Field: f, Value: a})
				}
			}
			if was.Caption != now.Caption {
				t := diffText(now.Caption, was.Caption)
				ops = append(ops, Op{Type: TypeEditText, ClipID: id, TextOp: &t})
			}
		}
	}
	return Op{Type: TypeRestore, OpID: op.OpID, ToSeq: op.ToSeq, ClipID: op.ClipID, Ops: l.fit(ops)}, nil
}
