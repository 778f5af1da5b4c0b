package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"

	"golang.org/x/time/rate"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	collabv1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/collab/v1"
	"github.com/clipmesh/clipmesh/services/collab/internal/doc"
	"github.com/clipmesh/clipmesh/services/collab/internal/projects"
)

// Session limits.
const (
	// MaxPayloadBytes is the largest payload_json a session accepts.
	MaxPayloadBytes = 64 << 10
	// maxQueued is how many live operations wait for a slow session before
	// further ones are left for it to read back from the log.
	maxQueued = 1024
	// pageSize is how many operations one catch-up read returns.
	pageSize = 500
	// actionRate and actionBurst bound the actions one session may send (a
	// token bucket); an action over it is answered rate_limited. floodRate
	// and floodBurst bound those refusals: a client that keeps sending
	// past them is flooding, and its stream ends with ResourceExhausted.
	// The gateway's WebSocket limits are tighter; these hold for gRPC
	// clients.
	actionRate  = 200
	actionBurst = 400
	floodRate   = 5
	floodBurst  = 20
)

// Session actions.
const (
	ActionJoin     = "join_project"
	ActionEdit     = "edit"
	ActionComment  = "comment"
	ActionUndo     = "undo"
	ActionRedo     = "redo"
	ActionRestore  = "restore"
	ActionShare    = "share"
	ActionUnshare  = "unshare"
	ActionPresence = "presence"
	ActionHistory  = "history"
	ActionDocument = "document"
	ActionLeave    = "leave"
)

// actions lists them for the error of an unknown one.
const actions = "join_project, edit, comment, undo, redo, restore, share, unshare, presence, history, document or leave"

// Response kinds.
const (
	KindOperation = "operation"
	KindJoined    = "joined"
	KindError     = "error"
	KindPresence  = "presence"
	KindSnapshot  = "snapshot"
	KindHistory   = "history"
	KindDocument  = "document"
)

// Error codes, in an error response's payload_json ("code").
const (
	CodeInvalid        = "invalid_argument"
	CodeNotFound       = "not_found"
	CodePermission     = "permission_denied"
	CodeUnknownClip    = "unknown_clip"
	CodeConflict       = "already_exists"
	CodeStaleSequence  = "stale_sequence"
	CodeNotJoined      = "not_joined"
	CodeUnsupported    = "unsupported_action"
	CodeUnknownComment = "unknown_comment"
	CodeNothingToUndo  = "nothing_to_undo"
	CodeRateLimited    = "rate_limited"
	CodeInternal       = "internal"
)

// errorPayload is the payload_json of an error response.
type errorPayload struct {
	Action string `json:"action"`
	Code   string `json:"code"`
	OpID   string `json:"op_id,omitempty"`
}

// joinedPayload is the payload_json of a joined response.
type joinedPayload struct {
	ProjectID string `json:"project_id"`
	Role      string `json:"role"`
	// Sequence is the project's newest sequence when the session joined;
	// the operations after last_seen_sequence up to it follow at once.
	Sequence int64 `json:"sequence"`
	// SessionID names this session in presence; User is the caller.
	SessionID string `json:"session_id"`
	User      string `json:"user"`
}

// joinOptions is the optional payload_json of join_project.
type joinOptions struct {
	// Snapshot asks for the document at the head instead of every
	// operation after last_seen_sequence: a fast start for a new client.
	Snapshot bool `json:"snapshot"`
	// Presence asks for presence responses: everyone online at once, then
	// every change. Without it the session gets none (its own presence is
	// still published), so clients that only edit see only operations.
	Presence bool `json:"presence"`
}

// Session is a live editing session. The client's actions are handled in
// order; responses go out through one sender goroutine, which delivers a
// project's operations in sequence order with no gap or duplicate: an
// operation older than the last one sent is dropped, and one past a gap
// (a message lost or overtaken on NATS) makes it read the missing ones from
// the log first.
func (s *Server) Session(stream grpc.BidiStreamingServer[collabv1.SessionRequest, collabv1.SessionResponse]) error {
	ctx := stream.Context()
	c, err := caller(ctx)
	if err != nil {
		return err
	}
	sess := &session{srv: s, stream: stream, caller: c, wake: make(chan struct{}, 1), id: newSessionID()}
	sendErr := make(chan error, 1)
	go func() { sendErr <- sess.sendLoop(ctx) }()
	limit, flood := rate.NewLimiter(actionRate, actionBurst), rate.NewLimiter(floodRate, floodBurst)
	defer func() {
		if sess.project != "" {
			s.removeSession(sess.project, sess)
			s.leavePresence(context.WithoutCancel(ctx), sess)
		}
	}()
	for {
		req, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			// Flush what is queued, then end the stream.
			sess.close()
			return <-sendErr
		}
		if err != nil {
			sess.close()
			<-sendErr
			return err
		}
		if !limit.Allow() {
			if !flood.Allow() {
				sess.close()
				<-sendErr
				return status.Errorf(codes.ResourceExhausted, "flood: more than %d actions per second, and more refused after that", actionRate)
			}
			sess.fail(req.GetAction(), CodeRateLimited, "", fmt.Sprintf("too many actions: the limit is %d per second (bursts of %d); this one was dropped", actionRate, actionBurst))
			continue
		}
		sess.handle(ctx, req)
		select {
		case err := <-sendErr:
			return err
		default:
		}
	}
}

// session is one Session stream.
type session struct {
	srv    *Server
	stream grpc.BidiStreamingServer[collabv1.SessionRequest, collabv1.SessionResponse]
	caller projects.Caller
	id     string
	// project is the joined project, as the receiving side sees it, and
	// role the caller's role in it.
	project string
	role    string
	// presence is this session's own presence, guarded by srv.mu.
	presence *collabv1.PresenceChanged
	// wantsPresence says the current join asked for presence responses,
	// guarded by srv.mu: only those sessions are handed presence changes,
	// so a thousand edit-only sessions joining do not wake each other a
	// million times.
	wantsPresence bool

	mu           sync.Mutex
	queue        []item
	behindProj   string // a live op of behindProj with sequence behindSeq
	behindSeq    int64  // was dropped for a full queue
	closing      bool
	wake         chan struct{}
	closeOnce    sync.Once
	joinedToSend string // sender side: the project being delivered
}

// item is one thing for the sender: a response, a join, a leave or a live
// operation.
type item struct {
	resp     *collabv1.SessionResponse
	join     *joinedPayload
	from     int64 // join: the client's last seen sequence
	snapshot bool  // join: send the document at the head first
	presence bool  // join: send presence responses
	leave    bool
	op       *collabv1.Operation
	// presence is for the project named in it; dropped if the session has
	// moved on.
	presResp *collabv1.SessionResponse
	presProj string
}

func (ss *session) push(it item) {
	ss.mu.Lock()
	ss.queue = append(ss.queue, it)
	ss.mu.Unlock()
	ss.signal()
}

func (ss *session) pushOp(op *collabv1.Operation, resp *collabv1.SessionResponse) {
	ss.mu.Lock()
	if len(ss.queue) >= maxQueued {
		if ss.behindProj != op.GetProjectId() || op.GetSequence() > ss.behindSeq {
			ss.behindProj, ss.behindSeq = op.GetProjectId(), op.GetSequence()
		}
	} else {
		ss.queue = append(ss.queue, item{op: op, resp: resp})
	}
	ss.mu.Unlock()
	ss.signal()
}

func (ss *session) signal() {
	select {
	case ss.wake <- struct{}{}:
	default:
	}
}

func (ss *session) close() {
	ss.closeOnce.Do(func() {
		ss.mu.Lock()
		ss.closing = true
		ss.mu.Unlock()
		ss.signal()
	})
}

// sendLoop sends queued items until the session closes with nothing left
// or the stream ends.
func (ss *session) sendLoop(ctx context.Context) error {
	var lastSent int64
	presenceOn := false
	for {
		ss.mu.Lock()
		items, closing := ss.queue, ss.closing
		behindProj, behindSeq := ss.behindProj, ss.behindSeq
		ss.queue, ss.behindProj, ss.behindSeq = nil, "", 0
		ss.mu.Unlock()
		for _, it := range items {
			var err error
			switch {
			case it.resp != nil && it.op == nil:
				err = ss.stream.Send(it.resp)
			case it.join != nil:
				ss.joinedToSend, lastSent = it.join.ProjectID, it.from
				b, _ := json.Marshal(it.join)
				err = ss.stream.Send(&collabv1.SessionResponse{Kind: KindJoined, Sequence: it.join.Sequence, PayloadJson: string(b)})
				if err == nil && it.snapshot {
					err = ss.sendSnapshot(ctx, it.join.Sequence)
					lastSent = it.join.Sequence
				}
				presenceOn = it.presence
				if err == nil && presenceOn {
					err = ss.stream.Send(ss.srv.presenceList(it.join.ProjectID, ss))
				}
				if err == nil {
					lastSent, err = ss.fill(ctx, lastSent, -1)
				}
			case it.presResp != nil:
				if presenceOn && it.presProj == ss.joinedToSend {
					err = ss.stream.Send(it.presResp)
				}
			case it.leave:
				ss.joinedToSend = ""
			case it.op.GetProjectId() != ss.joinedToSend || it.op.GetSequence() <= lastSent:
				// Another project's, or already sent.
			case it.op.GetSequence() == lastSent+1:
				if err = ss.stream.Send(it.resp); err == nil {
					lastSent++
				}
			default:
				lastSent, err = ss.fill(ctx, lastSent, it.op.GetSequence())
			}
			if err != nil {
				return err
			}
		}
		if behindProj != "" && behindProj == ss.joinedToSend && behindSeq > lastSent {
			var err error
			if lastSent, err = ss.fill(ctx, lastSent, behindSeq); err != nil {
				return err
			}
		}
		if len(items) > 0 || behindProj != "" {
			continue
		}
		if closing {
			return nil
		}
		select {
		case <-ss.wake:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// fill sends the joined project's operations after `after` up to `to` (-1:
// all there are) from the log, and returns the last sequence sent.
func (ss *session) fill(ctx context.Context, after, to int64) (int64, error) {
	for to < 0 || after < to {
		ops, err := ss.srv.Projects.Ops(ctx, ss.joinedToSend, after, pageSize)
		if err != nil {
			return after, ss.srv.toStatus(ctx, err)
		}
		for _, o := range ops {
			if to >= 0 && o.Seq > to {
				return after, nil
			}
			if err := ss.stream.Send(opResponse(operationProto(o))); err != nil {
				return after, err
			}
			after = o.Seq
		}
		if len(ops) < pageSize {
			return after, nil
		}
	}
	return after, nil
}

func operationProto(o projects.Operation) *collabv1.Operation {
	return &collabv1.Operation{
		ProjectId: o.ProjectID, Sequence: o.Seq, Author: o.Author,
		PayloadJson: o.PayloadJSON, CreateTime: timestamppb.New(o.CreatedAt),
	}
}

// opPayload is the payload_json of an operation response.
type opPayload struct {
	ProjectID  string          `json:"project_id"`
	Author     string          `json:"author"`
	CreateTime string          `json:"create_time"`
	Op         json.RawMessage `json:"op"`
}

func opResponse(op *collabv1.Operation) *collabv1.SessionResponse {
	b, _ := json.Marshal(opPayload{
		ProjectID: op.GetProjectId(), Author: op.GetAuthor(),
		CreateTime: op.GetCreateTime().AsTime().Format(timeFormat),
		Op:         json.RawMessage(op.GetPayloadJson()),
	})
	return &collabv1.SessionResponse{Kind: KindOperation, Sequence: op.GetSequence(), PayloadJson: string(b)}
}

// fail queues an error response.
func (ss *session) fail(action, code, opID, reason string) {
	b, _ := json.Marshal(errorPayload{Action: action, Code: code, OpID: opID})
	ss.push(item{resp: &collabv1.SessionResponse{Kind: KindError, Error: reason, PayloadJson: string(b)}})
}

// handle runs one client action. Bad input answers an error response; the
// stream goes on.
func (ss *session) handle(ctx context.Context, req *collabv1.SessionRequest) {
	action := req.GetAction()
	if len(req.GetPayloadJson()) > MaxPayloadBytes {
		ss.fail(action, CodeInvalid, "", fmt.Sprintf("payload_json is %d bytes, more than the limit of %d", len(req.GetPayloadJson()), MaxPayloadBytes))
		return
	}
	switch action {
	case ActionJoin:
		ss.join(ctx, req)
	case ActionEdit:
		ss.edit(ctx, req)
	case ActionLeave:
		if ss.project == "" {
			ss.fail(action, CodeNotJoined, "", "not joined to a project")
			return
		}
		ss.srv.removeSession(ss.project, ss)
		ss.srv.leavePresence(ctx, ss)
		ss.project = ""
		ss.push(item{leave: true})
	case ActionComment, ActionUndo, ActionRedo, ActionRestore, ActionShare, ActionUnshare:
		ss.compose(ctx, req)
	case ActionPresence:
		ss.setPresence(ctx, req)
	case ActionHistory:
		ss.history(ctx, req)
	case ActionDocument:
		ss.document(ctx, req)
	case "":
		ss.fail(action, CodeInvalid, "", "action is required")
	default:
		ss.fail(action, CodeInvalid, "", fmt.Sprintf("unknown action %q (want %s)", action, actions))
	}
}

func (ss *session) join(ctx context.Context, req *collabv1.SessionRequest) {
	id := req.GetProjectId()
	if err := validProjectID(id); err != nil {
		ss.fail(ActionJoin, CodeInvalid, "", "project_id must be a project id (prj_…)")
		return
	}
	p, role, err := ss.srv.Projects.Get(ctx, ss.caller, id)
	if err != nil {
		code, reason := ss.reason(ctx, err)
		ss.fail(ActionJoin, code, "", reason)
		return
	}
	var opts joinOptions
	if pj := req.GetPayloadJson(); pj != "" {
		if err := strictJSON(pj, &opts); err != nil {
			ss.fail(ActionJoin, CodeInvalid, "", "malformed payload_json: "+err.Error())
			return
		}
	}
	from := req.GetLastSeenSequence()
	if from < 0 || from > p.LastSeq {
		ss.fail(ActionJoin, CodeStaleSequence, "", fmt.Sprintf("last_seen_sequence %d is not one of the project's (it is at %d)", from, p.LastSeq))
		return
	}
	if ss.project != "" {
		ss.srv.removeSession(ss.project, ss)
		ss.srv.leavePresence(ctx, ss)
	}
	// Registered before the join is queued: a live op that arrives first
	// is skipped by the sender, and read back from the log by the join.
	ss.project, ss.role = id, string(role)
	ss.srv.addSession(id, ss, opts.Presence)
	// Announced first, so that the sender's presence list has it.
	ss.srv.joinPresence(ctx, ss)
	ss.push(item{join: &joinedPayload{ProjectID: id, Role: string(role), Sequence: p.LastSeq, SessionID: ss.id, User: ss.caller.Subject},
		from: from, snapshot: opts.Snapshot, presence: opts.Presence})
}

// edit appends the doc.Op in payload_json, made on the log up to
// last_seen_sequence, and publishes it.
func (ss *session) edit(ctx context.Context, req *collabv1.SessionRequest) {
	if ss.project == "" {
		ss.fail(ActionEdit, CodeNotJoined, "", "not joined to a project: send join_project first")
		return
	}
	if id := req.GetProjectId(); id != "" && id != ss.project {
		ss.fail(ActionEdit, CodeInvalid, "", fmt.Sprintf("project_id %q is not the joined project", id))
		return
	}
	op, err := doc.ParseOp([]byte(req.GetPayloadJson()))
	if err != nil {
		ss.fail(ActionEdit, CodeInvalid, "", "malformed payload_json: "+err.Error())
		return
	}
	ss.appendOp(ctx, ActionEdit, req.GetLastSeenSequence(), op)
}

// appendOp appends op and publishes it; a refusal is an error response to
// this session only.
func (ss *session) appendOp(ctx context.Context, action string, base int64, op doc.Op) {
	stored, err := ss.srv.Projects.Append(ctx, ss.caller, ss.project, base, op)
	if err != nil {
		code, reason := ss.reason(ctx, err)
		ss.fail(action, code, op.OpID, reason)
		return
	}
	ss.srv.publish(ctx, operationProto(stored))
}

// reason maps an error to an error response's code and reason.
func (ss *session) reason(ctx context.Context, err error) (code, reason string) {
	switch {
	case errors.Is(err, projects.ErrNotFound):
		return CodeNotFound, err.Error()
	case errors.Is(err, projects.ErrPermission):
		return CodePermission, err.Error()
	case errors.Is(err, projects.ErrInvalidArgument), errors.Is(err, doc.ErrInvalid):
		return CodeInvalid, err.Error()
	case errors.Is(err, doc.ErrUnknownClip):
		return CodeUnknownClip, err.Error()
	case errors.Is(err, doc.ErrClipExists):
		return CodeConflict, err.Error()
	case errors.Is(err, doc.ErrStaleBase):
		return CodeStaleSequence, err.Error()
	case errors.Is(err, doc.ErrUnknownComment):
		return CodeUnknownComment, err.Error()
	case errors.Is(err, doc.ErrNothingToUndo):
		return CodeNothingToUndo, err.Error()
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return CodeInternal, err.Error()
	}
	ss.srv.Logger.ErrorContext(ctx, "collab: session", "err", err)
	return CodeInternal, "internal error"
}
