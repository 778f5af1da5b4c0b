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
	// ErrUnknownComment means the operation names a comment the project
	// does not have (or has deleted).
	ErrUnknownComment = errors.New("unknown comment")
	// ErrNothingToUndo means the author has no change left to undo (or
	// redo).
	ErrNothingToUndo = errors.New("nothing to undo")
)

// Operation types.
const (
	TypeAddClip    = "add_clip"
	TypeRemoveClip = "remove_clip"
	TypeSet        = "set"
	TypeEditText   = "edit_text"
	TypeInsertText = "insert_text"
	TypeDeleteText = "delete_text"
	// TypePutClip re-creates a removed clip whole. Only undo, redo and
	// restore produce it, inside their ops.
	TypePutClip = "put_clip"

	TypeAddComment     = "add_comment"
	TypeEditComment    = "edit_comment"
	TypeDeleteComment  = "delete_comment"
	TypeResolveComment = "resolve_comment"
	TypeReopenComment  = "reopen_comment"

	// Compound operations: the server computes their effect, a list of
	// document ops stored in Ops, when it sequences them.
	TypeUndo    = "undo"
	TypeRedo    = "redo"
	TypeRestore = "restore"

	// Sharing: a member's role is set or removed. The projects store keeps
	// the members table in step; the document keeps them for history.
	TypeSetRole      = "set_role"
	TypeRemoveMember = "remove_member"
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
	MaxCommentLen = 5000  // code points
	MaxMentions   = 50
	MaxSubjectLen = 200 // bytes
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
//   - put_clip: ClipID, Clip (only inside Ops).
//   - add_comment: CommentID (optional: the server names it), ParentID (a
//     reply) or ClipID and TimeMs (a new thread's anchor), Text, Mentions.
//   - edit_comment: CommentID, Text, Mentions; delete_comment,
//     resolve_comment, reopen_comment: CommentID.
//   - undo, redo: nothing; the server fills Undoes or Redoes and Ops.
//   - restore: ToSeq and optionally ClipID; the server fills Ops.
//   - set_role: Subject, Role; remove_member: Subject.
//
// OpID is the client's own id for the operation, echoed back so it can
// recognise its operation when it comes back sequenced. Author is set by
// the server on comments.
type Op struct {
	Type      string          `json:"type"`
	OpID      string          `json:"op_id,omitempty"`
	ClipID    string          `json:"clip_id,omitempty"`
	Field     string          `json:"field,omitempty"`
	Value     json.RawMessage `json:"value,omitempty"`
	TextOp    *TextOp         `json:"text_op,omitempty"`
	Pos       *int            `json:"pos,omitempty"`
	Text      string          `json:"text,omitempty"`
	Len       int             `json:"len,omitempty"`
	Clip      *Clip           `json:"clip,omitempty"`
	CommentID string          `json:"comment_id,omitempty"`
	ParentID  string          `json:"parent_id,omitempty"`
	TimeMs    *int64          `json:"time_ms,omitempty"`
	Mentions  []string        `json:"mentions,omitempty"`
	Author    string          `json:"author,omitempty"`
	Undoes    int64           `json:"undoes,omitempty"`
	Redoes    int64           `json:"redoes,omitempty"`
	ToSeq     *int64          `json:"to_seq,omitempty"`
	Subject   string          `json:"subject,omitempty"`
	Role      string          `json:"role,omitempty"`
	Ops       []Op            `json:"ops,omitempty"`
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

// Document is a project's clips, comments and members after some prefix
// of its log.
type Document struct {
	// Seq is the sequence number of the last operation applied.
	Seq      int64
	clips    map[string]*Clip
	used     map[string]bool // every clip id ever added, removed ones too
	comments map[string]*Comment
	members  map[string]string // subject → role, as shared in the log
}

// New returns an empty document.
func New() *Document {
	return &Document{clips: map[string]*Clip{}, used: map[string]bool{},
		comments: map[string]*Comment{}, members: map[string]string{}}
}

// Clone returns a deep copy of d.
func (d *Document) Clone() *Document {
	c := &Document{Seq: d.Seq,
		clips:    make(map[string]*Clip, len(d.clips)),
		used:     make(map[string]bool, len(d.used)),
		comments: make(map[string]*Comment, len(d.comments)),
		members:  make(map[string]string, len(d.members)),
	}
	for k, v := range d.clips {
		cp := *v
		c.clips[k] = &cp
	}
	for k, v := range d.used {
		c.used[k] = v
	}
	for k, v := range d.comments {
		cp := *v
		c.comments[k] = &cp
	}
	for k, v := range d.members {
		c.members[k] = v
	}
	return c
}

// MarshalJSON writes the document as {"sequence","clips","comments",
// "members"}: a snapshot a client can start from.
func (d *Document) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Sequence int64             `json:"sequence"`
		Clips    []Clip            `json:"clips"`
		Comments []Comment         `json:"comments"`
		Members  map[string]string `json:"members"`
	}{d.Seq, d.Clips(), d.Comments(), d.members})
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
	switch op.Type {
	case TypeAddClip, TypeRemoveClip, TypeSet, TypeEditText, TypeInsertText, TypeDeleteText, TypePutClip:
		if !clipIDRe.MatchString(op.ClipID) {
			return invalid("clip_id must be 1-64 characters of A-Z, a-z, 0-9, '_', '-'")
		}
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
	case TypePutClip:
		if op.Clip == nil || op.Clip.ID != op.ClipID {
			return invalid("put_clip needs clip, with the id clip_id")
		}
	case TypeAddComment, TypeEditComment, TypeDeleteComment, TypeResolveComment, TypeReopenComment:
		return op.checkComment()
	case TypeUndo, TypeRedo:
	case TypeRestore:
		if op.ToSeq == nil || *op.ToSeq < 0 {
			return invalid("restore needs to_seq >= 0, the version to go back to")
		}
		if op.ClipID != "" && !clipIDRe.MatchString(op.ClipID) {
			return invalid("clip_id must be 1-64 characters of A-Z, a-z, 0-9, '_', '-'")
		}
	case TypeSetRole, TypeRemoveMember:
		if op.Subject == "" || len(op.Subject) > MaxSubjectLen || !utf8.ValidString(op.Subject) {
			return invalid("subject must be 1-%d bytes", MaxSubjectLen)
		}
		if op.Type == TypeSetRole && !validRole(op.Role) {
			return invalid("role must be owner, editor, commenter or viewer, not %q", op.Role)
		}
	case "":
		return invalid("type is required")
	default:
		return invalid("unknown type %q", op.Type)
	}
	return nil
}

func validRole(r string) bool {
	return r == "owner" || r == "editor" || r == "commenter" || r == "viewer"
}

// IsDocumentEdit reports whether op edits clips: what an editor may do,
// and what undo and redo work on.
func (op Op) IsDocumentEdit() bool {
	switch op.Type {
	case TypeAddClip, TypeRemoveClip, TypeSet, TypeEditText, TypeInsertText, TypeDeleteText,
		TypePutClip, TypeUndo, TypeRedo, TypeRestore:
		return true
	}
	return false
}

// IsComment reports whether op is a comment operation.
func (op Op) IsComment() bool {
	switch op.Type {
	case TypeAddComment, TypeEditComment, TypeDeleteComment, TypeResolveComment, TypeReopenComment:
		return true
	}
	return false
}

// IsSharing reports whether op changes the project's members.
func (op Op) IsSharing() bool { return op.Type == TypeSetRole || op.Type == TypeRemoveMember }

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
	case TypePutClip:
		out.Clip = op.Clip
	case TypeAddComment, TypeEditComment, TypeDeleteComment, TypeResolveComment, TypeReopenComment:
		out.CommentID, out.ParentID, out.TimeMs, out.Text, out.Mentions, out.Author =
			op.CommentID, op.ParentID, op.TimeMs, op.Text, op.Mentions, op.Author
	case TypeUndo, TypeRedo, TypeRestore:
		out.Undoes, out.Redoes, out.ToSeq, out.Ops = op.Undoes, op.Redoes, op.ToSeq, op.Ops
	case TypeSetRole, TypeRemoveMember:
		out.Subject, out.Role = op.Subject, op.Role
	}
	return out
}

// isText reports whether op edits caption text.
func (op Op) isText() bool {
	return op.Type == TypeEditText || op.Type == TypeInsertText || op.Type == TypeDeleteText
}

// effects returns the document ops op stands for: its Ops for a compound
// op, else op itself.
func (op Op) effects() []Op {
	switch op.Type {
	case TypeUndo, TypeRedo, TypeRestore:
		return op.Ops
	}
	return []Op{op}
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
// document is unchanged, except for a compound op (undo, redo, restore)
// whose stored Ops stop applying part way: that only happens to a corrupt
// log.
func (d *Document) Apply(op Op) error {
	if err := op.check(); err != nil {
		return err
	}
	switch op.Type {
	case TypeUndo, TypeRedo, TypeRestore:
		for i, e := range op.Ops {
			if !e.IsDocumentEdit() || e.Type == TypeUndo || e.Type == TypeRedo || e.Type == TypeRestore {
				return invalid("%s op %d: %s cannot be nested", op.Type, i, e.Type)
			}
			if err := d.Apply(e); err != nil {
				return fmt.Errorf("%s op %d: %w", op.Type, i, err)
			}
		}
		return nil
	case TypeAddComment, TypeEditComment, TypeDeleteComment, TypeResolveComment, TypeReopenComment:
		return d.applyComment(op)
	case TypeSetRole:
		d.members[op.Subject] = op.Role
		return nil
	case TypeRemoveMember:
		delete(d.members, op.Subject)
		return nil
	case TypeAddClip:
		if d.used[op.ClipID] {
			return fmt.Errorf("%w: %q", ErrClipExists, op.ClipID)
		}
		d.used[op.ClipID] = true
		d.clips[op.ClipID] = &Clip{ID: op.ClipID}
		return nil
	case TypePutClip:
		if _, ok := d.clips[op.ClipID]; ok {
			return fmt.Errorf("%w: %q", ErrClipExists, op.ClipID)
		}
		c := *op.Clip
		if utf8.RuneCountInString(c.Caption) > MaxCaptionLen || utf8.RuneCountInString(c.Title) > MaxTitleLen {
			return invalid("put_clip: caption or title too long")
		}
		d.used[op.ClipID] = true
		d.clips[op.ClipID] = &c
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

// Sequence prepares op, made by author having seen log up to sequence base,
// to be appended to log (whose i-th op has sequence i+1); see
// (*Log).Sequence. It returns the op to store and the document with it
// applied.
func Sequence(log []Op, base int64, op Op) (Op, *Document, error) {
	l, err := LogOf(log, nil)
	if err != nil {
		return Op{}, nil, err
	}
	out, err := l.Sequence(base, "", op)
	if err != nil {
		return Op{}, nil, err
	}
	return out, l.Head().Clone(), nil
}
