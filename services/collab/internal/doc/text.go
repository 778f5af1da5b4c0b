package doc

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// TextOp is an edit of a whole text, in the form of ot.js's TextOperation:
// a run of components that together walk the text from start to end, each
// retaining, inserting or deleting characters. Lengths count Unicode code
// points. Its JSON form is ot.js's: a positive number retains that many
// characters, a negative number deletes that many, a string inserts itself,
// e.g. [3, "abc", -2, 5].
type TextOp struct {
	comps     []comp
	baseLen   int
	targetLen int
}

// comp is one component: retain n (n > 0, s == ""), delete -n (n < 0), or
// insert s (s != "", n == 0).
type comp struct {
	n int
	s string
}

func (c comp) isRetain() bool { return c.s == "" && c.n > 0 }
func (c comp) isDelete() bool { return c.s == "" && c.n < 0 }
func (c comp) isInsert() bool { return c.s != "" }

// BaseLen is the length of the text the op applies to.
func (o TextOp) BaseLen() int { return o.baseLen }

// TargetLen is the length of the text the op produces.
func (o TextOp) TargetLen() int { return o.targetLen }

// IsNoop reports whether the op changes nothing.
func (o TextOp) IsNoop() bool {
	return len(o.comps) == 0 || (len(o.comps) == 1 && o.comps[0].isRetain())
}

// Retain adds a component that keeps n characters.
func (o *TextOp) Retain(n int) *TextOp {
	if n <= 0 {
		return o
	}
	o.baseLen += n
	o.targetLen += n
	if k := len(o.comps); k > 0 && o.comps[k-1].isRetain() {
		o.comps[k-1].n += n
		return o
	}
	o.comps = append(o.comps, comp{n: n})
	return o
}

// Insert adds a component that inserts s. An insert next to a delete is
// kept before it, so equal edits have one form.
func (o *TextOp) Insert(s string) *TextOp {
	if s == "" {
		return o
	}
	o.targetLen += utf8.RuneCountInString(s)
	k := len(o.comps)
	switch {
	case k > 0 && o.comps[k-1].isInsert():
		o.comps[k-1].s += s
	case k > 0 && o.comps[k-1].isDelete():
		if k > 1 && o.comps[k-2].isInsert() {
			o.comps[k-2].s += s
		} else {
			o.comps = append(o.comps, o.comps[k-1])
			o.comps[k-1] = comp{s: s}
		}
	default:
		o.comps = append(o.comps, comp{s: s})
	}
	return o
}

// Delete adds a component that deletes n characters.
func (o *TextOp) Delete(n int) *TextOp {
	if n <= 0 {
		return o
	}
	o.baseLen += n
	if k := len(o.comps); k > 0 && o.comps[k-1].isDelete() {
		o.comps[k-1].n -= n
		return o
	}
	o.comps = append(o.comps, comp{n: -n})
	return o
}

// ErrTextMismatch means a text op does not fit the text it is applied to
// or transformed against.
var ErrTextMismatch = errors.New("text operation does not match the text")

// Apply returns s edited by the op.
func (o TextOp) Apply(s string) (string, error) {
	rs := []rune(s)
	if len(rs) != o.baseLen {
		return "", fmt.Errorf("%w: it edits %d characters, the text has %d", ErrTextMismatch, o.baseLen, len(rs))
	}
	var b strings.Builder
	i := 0
	for _, c := range o.comps {
		switch {
		case c.isRetain():
			b.WriteString(string(rs[i : i+c.n]))
			i += c.n
		case c.isDelete():
			i -= c.n
		default:
			b.WriteString(c.s)
		}
	}
	return b.String(), nil
}

// Transform returns a' and b' for two ops a and b made concurrently on the
// same text, such that a then b' and b then a' give the same text. Where
// both insert at the same place, a's text comes first. Neither op loses an
// insert: a delete never removes text the other op inserted.
func Transform(a, b TextOp) (TextOp, TextOp, error) {
	if a.baseLen != b.baseLen {
		return TextOp{}, TextOp{}, fmt.Errorf("%w: concurrent ops edit %d and %d characters", ErrTextMismatch, a.baseLen, b.baseLen)
	}
	var ap, bp TextOp
	i, j := 0, 0
	next := func(ops []comp, k *int) (comp, bool) {
		if *k >= len(ops) {
			return comp{}, false
		}
		c := ops[*k]
		*k++
		return c, true
	}
	x, okx := next(a.comps, &i)
	y, oky := next(b.comps, &j)
	for okx || oky {
		if okx && x.isInsert() {
			ap.Insert(x.s)
			bp.Retain(utf8.RuneCountInString(x.s))
			x, okx = next(a.comps, &i)
			continue
		}
		if oky && y.isInsert() {
			ap.Retain(utf8.RuneCountInString(y.s))
			bp.Insert(y.s)
			y, oky = next(b.comps, &j)
			continue
		}
		if !okx || !oky {
			return TextOp{}, TextOp{}, fmt.Errorf("%w: concurrent ops of different lengths", ErrTextMismatch)
		}
		xn, yn := abs(x.n), abs(y.n)
		m := min(xn, yn)
		switch {
		case x.isRetain() && y.isRetain():
			ap.Retain(m)
			bp.Retain(m)
		case x.isDelete() && y.isDelete():
			// Both delete the same text: nothing left to do for either.
		case x.isDelete() && y.isRetain():
			ap.Delete(m)
		case x.isRetain() && y.isDelete():
			bp.Delete(m)
		}
		x, okx = shorten(x, m, a.comps, &i, next)
		y, oky = shorten(y, m, b.comps, &j, next)
	}
	return ap, bp, nil
}

// shorten consumes m characters of the retain or delete c, moving to the
// next component when c is used up.
func shorten(c comp, m int, ops []comp, k *int, next func([]comp, *int) (comp, bool)) (comp, bool) {
	if abs(c.n) == m {
		return next(ops, k)
	}
	if c.n > 0 {
		c.n -= m
	} else {
		c.n += m
	}
	return c, true
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}

// MarshalJSON writes the op in ot.js's form.
func (o TextOp) MarshalJSON() ([]byte, error) {
	out := make([]any, 0, len(o.comps))
	for _, c := range o.comps {
		if c.isInsert() {
			out = append(out, c.s)
		} else {
			out = append(out, c.n)
		}
	}
	return json.Marshal(out)
}

// UnmarshalJSON reads the op from ot.js's form.
func (o *TextOp) UnmarshalJSON(b []byte) error {
	var raw []json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return fmt.Errorf("text op: want an array of numbers and strings: %w", err)
	}
	*o = TextOp{}
	for _, r := range raw {
		var s string
		if err := json.Unmarshal(r, &s); err == nil {
			if s == "" {
				return errors.New("text op: empty insert")
			}
			o.Insert(s)
			continue
		}
		var n int
		if err := json.Unmarshal(r, &n); err != nil {
			return fmt.Errorf("text op: component %s is neither an integer nor a string", r)
		}
		switch {
		case n > 0:
			o.Retain(n)
		case n < 0:
			o.Delete(-n)
		default:
			return errors.New("text op: zero-length component")
		}
	}
	return nil
}
