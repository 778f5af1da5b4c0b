package doc

import (
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
	"unicode/utf8"
)

// Comment is one comment: a thread's first comment is anchored to a clip
// and a time in it; a reply names its thread's first comment as parent and
// shares its anchor. Resolving and reopening apply to a thread.
type Comment struct {
	ID       string   `json:"id"`
	ParentID string   `json:"parent_id,omitempty"`
	ClipID   string   `json:"clip_id"`
	TimeMs   int64    `json:"time_ms"`
	Author   string   `json:"author"`
	Text     string   `json:"text"`
	Mentions []string `json:"mentions,omitempty"`
	Resolved bool     `json:"resolved"`
	// Seq is the sequence of the operation that added it; Edited of the
	// last edit (0: never edited).
	Seq    int64 `json:"sequence"`
	Edited int64 `json:"edited_sequence,omitempty"`
}

var (
	commentIDRe = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)
	// mentionRe finds @subject in a comment's text.
	mentionRe = regexp.MustCompile(`(?:^|[^\w@])@([A-Za-z0-9_.:-]{1,200})`)
)

// Mentioned returns the @subjects written in text, in order, once each.
func Mentioned(text string) []string {
	var out []string
	for _, m := range mentionRe.FindAllStringSubmatch(text, -1) {
		s := strings.TrimRight(m[1], ".:-")
		if s != "" && !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

func (op Op) checkComment() error {
	if op.Type != TypeAddComment || op.CommentID != "" {
		if !commentIDRe.MatchString(op.CommentID) {
			return invalid("comment_id must be 1-64 characters of A-Z, a-z, 0-9, '_', '-'")
		}
	}
	if op.Type != TypeAddComment && op.Type != TypeEditComment {
		return nil
	}
	if op.Type == TypeAddComment && op.ParentID == "" {
		if !clipIDRe.MatchString(op.ClipID) {
			return invalid("a new thread needs clip_id, the clip it is about")
		}
		if op.TimeMs == nil || *op.TimeMs < 0 {
			return invalid("a new thread needs time_ms >= 0, the moment it is about")
		}
	}
	if strings.TrimSpace(op.Text) == "" || !utf8.ValidString(op.Text) || utf8.RuneCountInString(op.Text) > MaxCommentLen {
		return invalid("text must be 1-%d characters of UTF-8", MaxCommentLen)
	}
	if len(op.Mentions) > MaxMentions {
		return invalid("at most %d mentions", MaxMentions)
	}
	for _, m := range op.Mentions {
		if m == "" || len(m) > MaxSubjectLen {
			return invalid("a mention must be a subject of 1-%d bytes", MaxSubjectLen)
		}
	}
	return nil
}

// Comment returns a copy of the comment with id.
func (d *Document) Comment(id string) (Comment, bool) {
	c, ok := d.comments[id]
	if !ok {
		return Comment{}, false
	}
	return *c, true
}

// Comments returns copies of the comments in the order they were added.
func (d *Document) Comments() []Comment {
	out := make([]Comment, 0, len(d.comments))
	for _, c := range d.comments {
		out = append(out, *c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Seq < out[j].Seq })
	return out
}

// Members returns the roles given in the log by set_role, by subject.
func (d *Document) Members() map[string]string {
	out := make(map[string]string, len(d.members))
	for k, v := range d.members {
		out[k] = v
	}
	return out
}

// applyComment applies a comment op; the op's sequence is d.Seq+1.
func (d *Document) applyComment(op Op) error {
	if op.Type == TypeAddComment {
		if _, ok := d.comments[op.CommentID]; ok {
			return fmt.Errorf("%w: comment %q", ErrClipExists, op.CommentID)
		}
		c := &Comment{ID: op.CommentID, Author: op.Author, Text: op.Text, Mentions: op.Mentions, Seq: d.Seq + 1}
		if op.ParentID != "" {
			parent, ok := d.comments[op.ParentID]
			if !ok {
				return fmt.Errorf("%w: %q", ErrUnknownComment, op.ParentID)
			}
			if parent.ParentID != "" { // a reply to a reply joins the thread
				parent = d.comments[parent.ParentID]
			}
			c.ParentID, c.ClipID, c.TimeMs = parent.ID, parent.ClipID, parent.TimeMs
		} else {
			if _, ok := d.clips[op.ClipID]; !ok {
				return fmt.Errorf("%w: %q", ErrUnknownClip, op.ClipID)
			}
			c.ClipID, c.TimeMs = op.ClipID, *op.TimeMs
		}
		d.comments[c.ID] = c
		return nil
	}
	c, ok := d.comments[op.CommentID]
	if !ok {
		return fmt.Errorf("%w: %q", ErrUnknownComment, op.CommentID)
	}
	switch op.Type {
	case TypeEditComment:
		c.Text, c.Mentions, c.Edited = op.Text, op.Mentions, d.Seq+1
	case TypeDeleteComment:
		delete(d.comments, c.ID)
		if c.ParentID == "" { // the thread goes with its first comment
			for id, r := range d.comments {
				if r.ParentID == c.ID {
					delete(d.comments, id)
				}
			}
		}
	case TypeResolveComment, TypeReopenComment:
		if c.ParentID != "" {
			return invalid("resolve and reopen a thread by its first comment (%q), not a reply", c.ParentID)
		}
		c.Resolved = op.Type == TypeResolveComment
	}
	return nil
}

// Touches reports whether op is about clip id: it edits the clip, or one
// of its effects does, or it comments on it.
func (op Op) Touches(id string) bool {
	if op.ClipID == id {
		return true
	}
	for _, e := range op.Ops {
		if e.ClipID == id {
			return true
		}
	}
	return false
}
