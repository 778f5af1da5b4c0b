package doc

import (
	"fmt"
	"slices"
	"unicode/utf8"
)

// checkEvery is how many operations apart the log keeps a copy of the
// document, so that the document at any sequence is a copy and at most
// checkEvery-1 replayed operations away.
const checkEvery = 64

// Log is a project's operation log in memory with its document at the head
// and at every checkEvery-th sequence. Not safe for concurrent use.
type Log struct {
	ops     []Op
	authors []string
	marks   []*Document // marks[i] is the document at sequence i*checkEvery
	head    *Document
}

// NewLog returns an empty log.
func NewLog() *Log { return &Log{head: New(), marks: []*Document{New()}} }

// LogOf builds a log from ops (sequence i+1 at index i) and their authors
// (nil: unknown).
func LogOf(ops []Op, authors []string) (*Log, error) {
	l := NewLog()
	for i, op := range ops {
		a := ""
		if authors != nil {
			a = authors[i]
		}
		if err := l.Push(op, a); err != nil {
			return nil, fmt.Errorf("replay op %d: %w", i+1, err)
		}
	}
	return l, nil
}

// Len is the sequence of the newest operation.
func (l *Log) Len() int64 { return int64(len(l.ops)) }

// Head is the document at the newest operation. The caller must not change
// it.
func (l *Log) Head() *Document { return l.head }

// Op returns the operation with sequence seq (1-based).
func (l *Log) Op(seq int64) Op { return l.ops[seq-1] }

// Push appends an already sequenced operation (one read back from the
// store) and applies it to the head.
func (l *Log) Push(op Op, author string) error {
	if err := l.head.Apply(op); err != nil {
		return err
	}
	l.ops = append(l.ops, op)
	l.authors = append(l.authors, author)
	l.head.Seq++
	if l.head.Seq%checkEvery == 0 {
		l.marks = append(l.marks, l.head.Clone())
	}
	return nil
}

// At returns a copy of the document at sequence seq.
func (l *Log) At(seq int64) (*Document, error) {
	if seq < 0 || seq > l.Len() {
		return nil, fmt.Errorf("%w: %d, the project is at %d", ErrStaleBase, seq, l.Len())
	}
	if seq == l.Len() {
		return l.head.Clone(), nil
	}
	d := l.marks[seq/checkEvery].Clone()
	for d.Seq < seq {
		if err := d.Apply(l.ops[d.Seq]); err != nil {
			return nil, fmt.Errorf("replay op %d: %w", d.Seq+1, err)
		}
		d.Seq++
	}
	return d, nil
}

// Sequence prepares op, made by author having seen the log up to sequence
// base, and appends it: it returns the op as stored.
//
// A caption edit is transformed through the caption edits after base, so
// that it means on the current document what it meant on the author's;
// scalar fields are last-writer-wins in log order. Comments get their
// author, an id when they have none, and the @mentions of their text.
// Undo, redo and restore are computed on the head (see undo.go) whatever
// the base. On error nothing is appended.
func (l *Log) Sequence(base int64, author string, op Op) (Op, error) {
	if base < 0 || base > l.Len() {
		return Op{}, fmt.Errorf("%w: base %d, the project is at %d", ErrStaleBase, base, l.Len())
	}
	if err := op.check(); err != nil {
		return Op{}, err
	}
	var err error
	switch {
	case op.Type == TypePutClip:
		return Op{}, invalid("put_clip is made by undo, redo and restore, not sent")
	case op.Type == TypeUndo:
		op, err = l.undo(author, op)
	case op.Type == TypeRedo:
		op, err = l.redo(author, op)
	case op.Type == TypeRestore:
		op, err = l.restore(op)
	case op.IsComment():
		op.Author = author
		if op.Type == TypeAddComment && op.CommentID == "" {
			op.CommentID = fmt.Sprintf("cm%d", l.Len()+1)
		}
		if op.Type == TypeAddComment || op.Type == TypeEditComment {
			for _, m := range Mentioned(op.Text) {
				if !slices.Contains(op.Mentions, m) {
					op.Mentions = append(op.Mentions, m)
				}
			}
			if len(op.Mentions) > MaxMentions {
				return Op{}, invalid("at most %d mentions", MaxMentions)
			}
		}
	case op.isText():
		op, err = l.transformText(base, op)
	}
	if err != nil {
		return Op{}, err
	}
	op = op.canonical()
	if err := l.Push(op, author); err != nil {
		return Op{}, err
	}
	return op, nil
}

// transformText turns a caption edit made at base into edit_text form and
// transforms it through the caption edits of the same clip after base.
func (l *Log) transformText(base int64, op Op) (Op, error) {
	d, err := l.At(base)
	if err != nil {
		return Op{}, err
	}
	c, ok := d.clips[op.ClipID]
	if !ok {
		return Op{}, fmt.Errorf("%w: %q", ErrUnknownClip, op.ClipID)
	}
	n := utf8.RuneCountInString(c.Caption)
	if op, err = op.toEditText(n); err != nil {
		return Op{}, err
	}
	if op.TextOp.BaseLen() != n {
		return Op{}, invalid("text_op edits %d characters, the caption had %d at sequence %d", op.TextOp.BaseLen(), n, base)
	}
	for _, prev := range l.ops[base:] {
		for _, e := range prev.effects() {
			if e.ClipID != op.ClipID {
				continue
			}
			switch e.Type {
			case TypeEditText:
				_, t, err := Transform(*e.TextOp, *op.TextOp)
				if err != nil {
					return Op{}, fmt.Errorf("%w: %v", ErrInvalid, err)
				}
				op.TextOp = &t
			case TypeRemoveClip, TypePutClip:
				return Op{}, fmt.Errorf("%w: %q was removed after sequence %d", ErrUnknownClip, op.ClipID, base)
			}
		}
	}
	return op, nil
}
