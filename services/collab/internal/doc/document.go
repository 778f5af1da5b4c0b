package doc

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"regexp"
	"sort"
	"unicode/utf8"
)

// Errors of the document model. Every error Sequence and Apply return wraps
// one of them.
var (
	// ErrInvalid means the operation is malformed or its values are out of
	// range.
	ErrInvalid = errors.New("invalid operation")
	// ErrUnknownClip means the operation names a clip the project does not
	// have.
	ErrUnknownClip = errors.New("unknown clip")
	// ErrClipExists means add_clip named an id the project already used.
	ErrClipExists = errors.New("clip id already used")
	// ErrStaleBase means the operation's base sequence is not one of the
	// project's (negative, or ahead of its log).
	ErrStaleBase = errors.New("base sequence out of range")
)

// Operation types.
const (
	TypeAddClip    = "add_clip"
	TypeRemoveClip = "remove_clip"
	TypeSet        = "set"
	TypeEditText   = "edit_text"
	TypeInsertText = "insert_text"
	TypeDeleteText = "delete_text"
)

// Scalar fields of a clip, set with TypeSet (last writer wins).
const (
	FieldInMs         = "in_ms"
	FieldOutMs        = "out_ms"
	FieldTitle        = "title"
	FieldCaptionStyle = "caption_style"
	FieldAspect       = "aspect"
	FieldOrder        = "order"
)

// Limits on values.
const (
	MaxCaptionLen = 10000 // code points
	MaxTitleLen   = 200   // code points
	MaxStyleLen   = 1000  // bytes
	MaxOpIDLen    = 128   // bytes
)

// Clip is one clip of a project.
type Clip struct {
	ID           string  `json:"id"`
	InMs         int64   `json:"in_ms"`
	OutMs        int64   `json:"out_ms"`
	Title        string  `json:"title"`
	Caption      string  `json:"caption"`
	CaptionStyle string  `json:"caption_style"`
	Aspect       string  `json:"aspect"`
	Order        float64 `json:"order"`
}

// Op is one operation. Which fields matter depends on Type:
//
//   - add_clip, remove_clip: ClipID.
//   - set: ClipID, Field (one of the Field constants), Value (JSON).
//   - edit_text: ClipID, TextOp, an edit of the whole caption.
//   - insert_text: ClipID, Pos, Text; delete_text: ClipID, Pos, Len. These
//     are shorthands that Sequence turns into edit_text.
//
// OpID is the client's own id for the operation, echoed back so it can
// recognise its operation when it comes back sequenced.
type Op struct {
	Type   string          `json:"type"`
	OpID   string          `json:"op_id,omitempty"`
	ClipID string          `json:"clip_id,omitempty"`
	Field  string          `json:"field,omitempty"`
	Value  json.RawMessage `json:"value,omitempty"`
	TextOp *TextOp         `json:"text_op,omitempty"`
	Pos    *int            `json:"pos,omitempty"`
	Text   string          `json:"text,omitempty"`
	Len    int             `json:"len,omitempty"`
}

// ParseOp decodes an operation from JSON, refusing unknown fields.
func ParseOp(b []byte) (Op, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var op Op
	if err := dec.Decode(&op); err != nil {
		return Op{}, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if dec.More() {
		return Op{}, fmt.Errorf("%w: trailing data after the operation", ErrInvalid)
	}
	return op, nil
}

// Document is a project's clips after some prefix of its log.
type Document struct {
	// Seq is the sequence number of the last operation applied.
	Seq   int64
	clips map[string]*Clip
	used  map[string]bool // every clip id ever added, removed ones too
}

// New returns an empty document.
func New() *Document {
	return &Document{clips: map[string]*Clip{}, used: map[string]bool{}}
}

// Clip returns a copy of the clip with id.
func (d *Document) Clip(id string) (Clip, bool) {
	c, ok := d.clips[id]
	if !ok {
		return Clip{}, false
	}
	return *c, true
}

// Clips returns copies of the clips by order, then id.
func (d *Document) Clips() []Clip {
	out := make([]Clip, 0, len(d.clips))
	for _, c := range d.clips {
		out = append(out, *c)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Order != out[j].Order {
			return out[i].Order < out[j].Order
		}
		return out[i].ID < out[j].ID
	})
	return out
}

var (
	clipIDRe = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)
	aspectRe = regexp.MustCompile(`^[1-9][0-9]{0,3}:[1-9][0-9]{0,3}$`)
)

func invalid(format string, a ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, a...))
}

// check validates what an op says on its own, before any document.
func (op Op) check() error {
	if len(op.OpID) > MaxOpIDLen {
		return invalid("op_id is longer than %d bytes", MaxOpIDLen)
	}
	if !clipIDRe.MatchString(op.ClipID) {
		return invalid("clip_id must be 1-64 characters of A-Z, a-z, 0-9, '_', '-'")
	}
	switch op.Type {
	case TypeAddClip, TypeRemoveClip, TypeSet:
	case TypeEditText:
		if op.TextOp == nil {
			return invalid("edit_text needs text_op")
		}
	case TypeInsertText:
		if op.Pos == nil || *op.Pos < 0 || op.Text == "" || !utf8.ValidString(op.Text) {
			return invalid("insert_text needs pos >= 0 and a non-empty UTF-8 text")
		}
	case TypeDeleteText:
		if op.Pos == nil || *op.Pos < 0 || op.Len <= 0 {
			return invalid("delete_text needs pos >= 0 and len > 0")
		}
	case "":
		return invalid("type is required")
	default:
		return invalid("unknown type %q", op.Type)
	}
	return nil
}

// canonical returns op with only the fields its type uses.
func (op Op) canonical() Op {
	out := Op{Type: op.Type, OpID: op.OpID, ClipID: op.ClipID}
	switch op.Type {
	case TypeSet:
		out.Field, out.Value = op.Field, op.Value
		var buf bytes.Buffer
		if json.Compact(&buf, op.Value) == nil {
			out.Value = buf.Bytes()
		}
	case TypeEditText:
		out.TextOp = op.TextOp
	}
	return out
}

// isText reports whether op edits caption text.
func (op Op) isText() bool {
	return op.Type == TypeEditText || op.Type == TypeInsertText || op.Type == TypeDeleteText
}

// toEditText turns an insert_text or delete_text op into edit_text on a
// caption of n characters.
func (op Op) toEditText(n int) (Op, error) {
	var t TextOp
	switch op.Type {
	case TypeEditText:
		return op, nil
	case TypeInsertText:
		if *op.Pos > n {
			return Op{}, invalid("pos %d is past the caption's end (%d characters)", *op.Pos, n)
		}
		t.Retain(*op.Pos).Insert(op.Text).Retain(n - *op.Pos)
	case TypeDeleteText:
		if *op.Pos+op.Len > n {
			return Op{}, invalid("deleting %d at %d runs past the caption's end (%d characters)", op.Len, *op.Pos, n)
		}
		t.Retain(*op.Pos).Delete(op.Len).Retain(n - *op.Pos - op.Len)
	}
	return Op{Type: TypeEditText, OpID: op.OpID, ClipID: op.ClipID, TextOp: &t}, nil
}

// Apply validates op against the document and applies it. On error the
// document is unchanged.
func (d *Document) Apply(op Op) error {
	if err := op.check(); err != nil {
		return err
	}
	if op.Type == TypeAddClip {
		if d.used[op.ClipID] {
			return fmt.Errorf("%w: %q", ErrClipExists, op.ClipID)
		}
		d.used[op.ClipID] = true
		d.clips[op.ClipID] = &Clip{ID: op.ClipID}
		return nil
	}
	c, ok := d.clips[op.ClipID]
	if !ok {
		return fmt.Errorf("%w: %q", ErrUnknownClip, op.ClipID)
	}
	switch op.Type {
	case TypeRemoveClip:
		delete(d.clips, op.ClipID)
		return nil
	case TypeSet:
		next := *c
		if err := next.set(op.Field, op.Value); err != nil {
			return err
		}
		*c = next
		return nil
	}
	op, err := op.toEditText(utf8.RuneCountInString(c.Caption))
	if err != nil {
		return err
	}
	text, err := op.TextOp.Apply(c.Caption)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if utf8.RuneCountInString(text) > MaxCaptionLen {
		return invalid("caption would be longer than %d characters", MaxCaptionLen)
	}
	c.Caption = text
	return nil
}

// set sets one scalar field of c from its JSON value.
func (c *Clip) set(field string, v json.RawMessage) error {
	if len(v) == 0 {
		return invalid("set needs value")
	}
	switch field {
	case FieldInMs, FieldOutMs:
		var ms int64
		if err := json.Unmarshal(v, &ms); err != nil || ms < 0 {
			return invalid("%s must be a whole number of milliseconds >= 0", field)
		}
		if field == FieldInMs {
			c.InMs = ms
		} else {
			c.OutMs = ms
		}
		if c.OutMs > 0 && c.InMs >= c.OutMs {
			return invalid("in_ms (%d) must be before out_ms (%d)", c.InMs, c.OutMs)
		}
	case FieldTitle:
		var s string
		if err := json.Unmarshal(v, &s); err != nil || utf8.RuneCountInString(s) > MaxTitleLen {
			return invalid("title must be a string of at most %d characters", MaxTitleLen)
		}
		c.Title = s
	case FieldCaptionStyle:
		var s string
		if err := json.Unmarshal(v, &s); err != nil || len(s) > MaxStyleLen {
			return invalid("caption_style must be a string of at most %d bytes", MaxStyleLen)
		}
		c.CaptionStyle = s
	case FieldAspect:
		var s string
		if err := json.Unmarshal(v, &s); err != nil || !aspectRe.MatchString(s) {
			return invalid(`aspect must be "W:H", e.g. "9:16"`)
		}
		c.Aspect = s
	case FieldOrder:
		var f float64
		if err := json.Unmarshal(v, &f); err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return invalid("order must be a number")
		}
		c.Order = f
	case "caption":
		return invalid("caption is edited with edit_text, insert_text and delete_text, not set")
	default:
		return invalid("unknown field %q", field)
	}
	return nil
}

// Replay applies log, whose i-th op has sequence i+1, to a new document.
func Replay(log []Op) (*Document, error) {
	d := New()
	for i, op := range log {
		if err := d.Apply(op); err != nil {
			return nil, fmt.Errorf("replay op %d: %w", i+1, err)
		}
		d.Seq = int64(i + 1)
	}
	return d, nil
}

// Sequence prepares op, made by a client that had seen log up to sequence
// base, to be appended to log (whose i-th op has sequence i+1): it
// transforms op through the ops after base and validates it on the
// document they leave. It returns the op to store, in canonical form
// (text edits as edit_text), and the document with it applied, whose Seq
// is the op's sequence number.
func Sequence(log []Op, base int64, op Op) (Op, *Document, error) {
	if base < 0 || base > int64(len(log)) {
		return Op{}, nil, fmt.Errorf("%w: base %d, the project is at %d", ErrStaleBase, base, len(log))
	}
	if err := op.check(); err != nil {
		return Op{}, nil, err
	}
	d, err := Replay(log[:base])
	if err != nil {
		return Op{}, nil, err
	}
	if op.isText() {
		c, ok := d.clips[op.ClipID]
		if !ok {
			return Op{}, nil, fmt.Errorf("%w: %q", ErrUnknownClip, op.ClipID)
		}
		if op, err = op.toEditText(utf8.RuneCountInString(c.Caption)); err != nil {
			return Op{}, nil, err
		}
		if n := utf8.RuneCountInString(c.Caption); op.TextOp.BaseLen() != n {
			return Op{}, nil, invalid("text_op edits %d characters, the caption had %d at sequence %d", op.TextOp.BaseLen(), n, base)
		}
	}
	for i, prev := range log[base:] {
		if err := d.Apply(prev); err != nil {
			return Op{}, nil, fmt.Errorf("replay op %d: %w", base+int64(i)+1, err)
		}
		if op.isText() && prev.Type == TypeEditText && prev.ClipID == op.ClipID {
			_, t, err := Transform(*prev.TextOp, *op.TextOp)
			if err != nil {
				return Op{}, nil, fmt.Errorf("%w: %v", ErrInvalid, err)
			}
			op.TextOp = &t
		}
	}
	d.Seq = int64(len(log))
	op = op.canonical()
	if err := d.Apply(op); err != nil {
		return Op{}, nil, err
	}
	d.Seq++
	return op, d, nil
}
