package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	collabv1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/collab/v1"
	"github.com/clipmesh/clipmesh/services/collab/internal/doc"
)

// History limits.
const (
	defaultHistory = 50
	maxHistory     = 500
)

// strictJSON decodes one JSON object into v, refusing unknown fields.
func strictJSON(s string, v any) error {
	dec := json.NewDecoder(bytes.NewReader([]byte(s)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errors.New("trailing data after the object")
	}
	return nil
}

// compose turns the actions that are operations under another name
// (comment, undo, redo, restore, share, unshare) into their doc.Op and
// appends it.
func (ss *session) compose(ctx context.Context, req *collabv1.SessionRequest) {
	action := req.GetAction()
	if ss.project == "" {
		ss.fail(action, CodeNotJoined, "", "not joined to a project: send join_project first")
		return
	}
	if id := req.GetProjectId(); id != "" && id != ss.project {
		ss.fail(action, CodeInvalid, "", fmt.Sprintf("project_id %q is not the joined project", id))
		return
	}
	op := doc.Op{}
	if pj := req.GetPayloadJson(); pj != "" {
		var err error
		if op, err = doc.ParseOp([]byte(pj)); err != nil {
			ss.fail(action, CodeInvalid, "", "malformed payload_json: "+err.Error())
			return
		}
	}
	want := map[string]string{ActionUndo: doc.TypeUndo, ActionRedo: doc.TypeRedo, ActionRestore: doc.TypeRestore,
		ActionShare: doc.TypeSetRole, ActionUnshare: doc.TypeRemoveMember}[action]
	switch {
	case action == ActionComment:
		if op.Type == "" {
			op.Type = doc.TypeAddComment
		}
		if !op.IsComment() {
			ss.fail(action, CodeInvalid, op.OpID, fmt.Sprintf("a comment's type is add_comment, edit_comment, delete_comment, resolve_comment or reopen_comment, not %q", op.Type))
			return
		}
	case op.Type == "" || op.Type == want:
		op.Type = want
	default:
		ss.fail(action, CodeInvalid, op.OpID, fmt.Sprintf("action %s takes type %s, not %q", action, want, op.Type))
		return
	}
	ss.appendOp(ctx, action, req.GetLastSeenSequence(), op)
}

// historyRequest is the payload_json of history.
type historyRequest struct {
	Before int64  `json:"before"`
	Limit  int    `json:"limit"`
	Author string `json:"author"`
	ClipID string `json:"clip_id"`
}

// historyEntry is one operation of a history response.
type historyEntry struct {
	Sequence   int64           `json:"sequence"`
	Author     string          `json:"author"`
	CreateTime string          `json:"create_time"`
	Op         json.RawMessage `json:"op"`
}

// history answers the joined project's operations, newest first.
func (ss *session) history(ctx context.Context, req *collabv1.SessionRequest) {
	if ss.project == "" {
		ss.fail(ActionHistory, CodeNotJoined, "", "not joined to a project: send join_project first")
		return
	}
	var h historyRequest
	if pj := req.GetPayloadJson(); pj != "" {
		if err := strictJSON(pj, &h); err != nil {
			ss.fail(ActionHistory, CodeInvalid, "", "malformed payload_json: "+err.Error())
			return
		}
	}
	if h.Limit == 0 {
		h.Limit = defaultHistory
	}
	if h.Limit < 0 || h.Limit > maxHistory || h.Before < 0 {
		ss.fail(ActionHistory, CodeInvalid, "", fmt.Sprintf("limit must be 1-%d and before >= 0", maxHistory))
		return
	}
	ops, err := ss.srv.Projects.History(ctx, ss.project, h.Before, h.Limit, h.Author, h.ClipID)
	if err != nil {
		code, reason := ss.reason(ctx, err)
		ss.fail(ActionHistory, code, "", reason)
		return
	}
	out := struct {
		ProjectID  string         `json:"project_id"`
		Operations []historyEntry `json:"operations"`
		// NextBefore is the before of the next page; 0 when this is the
		// last.
		NextBefore int64 `json:"next_before"`
	}{ProjectID: ss.project, Operations: make([]historyEntry, 0, len(ops))}
	for _, o := range ops {
		out.Operations = append(out.Operations, historyEntry{Sequence: o.Seq, Author: o.Author,
			CreateTime: o.CreatedAt.Format(timeFormat), Op: json.RawMessage(o.PayloadJSON)})
	}
	if len(ops) == h.Limit {
		out.NextBefore = ops[len(ops)-1].Seq
	}
	b, _ := json.Marshal(out)
	ss.push(item{resp: &collabv1.SessionResponse{Kind: KindHistory, PayloadJson: string(b)}})
}

// documentRequest is the payload_json of document.
type documentRequest struct {
	// Sequence is the version wanted; 0 or absent: the newest.
	Sequence int64 `json:"sequence"`
}

// document answers the joined project's document at a version: what a
// restore to it would bring back.
func (ss *session) document(ctx context.Context, req *collabv1.SessionRequest) {
	if ss.project == "" {
		ss.fail(ActionDocument, CodeNotJoined, "", "not joined to a project: send join_project first")
		return
	}
	var d documentRequest
	if pj := req.GetPayloadJson(); pj != "" {
		if err := strictJSON(pj, &d); err != nil {
			ss.fail(ActionDocument, CodeInvalid, "", "malformed payload_json: "+err.Error())
			return
		}
	}
	p, _, err := ss.srv.Projects.Get(ctx, ss.caller, ss.project)
	if err != nil {
		code, reason := ss.reason(ctx, err)
		ss.fail(ActionDocument, code, "", reason)
		return
	}
	at := d.Sequence
	if at == 0 {
		at = p.LastSeq
	}
	if at < 0 || at > p.LastSeq {
		ss.fail(ActionDocument, CodeStaleSequence, "", fmt.Sprintf("sequence %d is not one of the project's (it is at %d)", at, p.LastSeq))
		return
	}
	resp, err := ss.documentResponse(ctx, KindDocument, ss.project, at)
	if err != nil {
		code, reason := ss.reason(ctx, err)
		ss.fail(ActionDocument, code, "", reason)
		return
	}
	ss.push(item{resp: resp})
}

// documentResponse is project's document at sequence at, as a response of
// kind (document or snapshot).
func (ss *session) documentResponse(ctx context.Context, kind, project string, at int64) (*collabv1.SessionResponse, error) {
	d, err := ss.srv.Projects.Document(ctx, project, at)
	if err != nil {
		return nil, err
	}
	b, err := json.Marshal(d)
	if err != nil {
		return nil, fmt.Errorf("collab: document: %w", err)
	}
	return &collabv1.SessionResponse{Kind: kind, Sequence: at, PayloadJson: string(b)}, nil
}

// sendSnapshot sends the joined project's document at sequence at, from
// the sender.
func (ss *session) sendSnapshot(ctx context.Context, at int64) error {
	resp, err := ss.documentResponse(ctx, KindSnapshot, ss.joinedToSend, at)
	if err != nil {
		return ss.srv.toStatus(ctx, err)
	}
	return ss.stream.Send(resp)
}
