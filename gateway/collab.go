package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/coder/websocket"
	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"golang.org/x/time/rate"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	collabv1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/collab/v1"
)

// Collaboration WebSocket defaults, used when the Options field is zero.
const (
	// DefaultWebSocketPing is how often an open WebSocket is pinged.
	DefaultWebSocketPing = 30 * time.Second
	// DefaultCollabRate is how many frames per second a collaboration
	// WebSocket may send, sustained.
	DefaultCollabRate = 50
	// DefaultCollabBurst is how many frames it may send at once.
	DefaultCollabBurst = 100
)

const (
	// maxFrameBytes is the largest frame a client may send: the collab
	// service's payload limit. A bigger one is answered with an error frame
	// and dropped, and the connection goes on.
	maxFrameBytes = 64 << 10
	// maxReadBytes is the largest frame read at all: past it the socket
	// closes with 1009 (message too big), since reading on would let one
	// client hold the gateway's memory.
	maxReadBytes = 1 << 20
	// writeTimeout bounds every write to a client; a client that does not
	// read for that long is disconnected rather than holding the session.
	writeTimeout = 10 * time.Second
	// floodRate and floodBurst bound the frames refused for the rate limit:
	// a client that keeps sending after that many refusals is flooding and
	// is disconnected with 1008.
	floodRate  = 5
	floodBurst = 20
)

// clientFrame is one frame from a collaboration client: the seed's shape
// ({"action":"join_project","project_id":…,"user_id":…}) plus the resume
// point and the action's body.
type clientFrame struct {
	Action           string          `json:"action"`
	ProjectID        string          `json:"project_id"`
	LastSeenSequence json.Number     `json:"last_seen_sequence"`
	Payload          json.RawMessage `json:"payload"`
	// UserID is accepted for the seed's clients and ignored: the user is
	// the authenticated caller, never a name the client chose.
	UserID json.RawMessage `json:"user_id"`
}

// serverFrame is one frame to a collaboration client, a SessionResponse
// whose payload_json is inlined as JSON.
type serverFrame struct {
	Kind     string          `json:"kind"`
	Sequence int64           `json:"sequence"`
	Payload  json.RawMessage `json:"payload,omitempty"`
	Error    string          `json:"error,omitempty"`
}

// collaborate serves the collaboration WebSocket (GET /v1/collaborate and
// the seed's /collaborate): one CollabService.Session per connection, each
// client frame one SessionRequest, each SessionResponse one server frame.
//
// The caller is whoever the Authorization header (or ?access_token=, moved
// into it by tokenFromQuery) authenticates, as on every route; the collab
// service checks it when the stream opens. A bad frame is answered with an
// error frame and the connection goes on; the gRPC stream ends when the
// socket closes, and the socket closes when the stream ends.
func (g *gateway) collaborate(w http.ResponseWriter, r *http.Request, _ map[string]string) {
	ctx, err := runtime.AnnotateContext(r.Context(), g.mux, r, collabv1.CollabService_Session_FullMethodName,
		runtime.WithHTTPPathPattern(r.URL.Path))
	if err != nil {
		g.handleError(r.Context(), g.mux, nil, w, r, err)
		return
	}
	// Same-origin pages are always allowed; other origins only when CORS
	// allows them. Without this check any web page could drive a keyless
	// loopback mesh from its visitor's browser.
	conn, err := websocket.Accept(w, r, &websocket.AcceptOptions{OriginPatterns: g.opts.CORSAllowedOrigins})
	if err != nil {
		g.log.InfoContext(ctx, "gateway: websocket refused", "path", r.URL.Path, "error", err)
		return // Accept has answered
	}
	defer func() { _ = conn.CloseNow() }()
	conn.SetReadLimit(maxReadBytes)

	// The request's context is not reliable once the connection is
	// hijacked; this one ends with the handler, and so does the stream.
	ctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	stop := context.AfterFunc(g.life, func() {
		_ = conn.Close(websocket.StatusGoingAway, "server shutting down")
		cancel()
	})
	defer stop()

	stream, err := g.collab.Session(ctx)
	if err != nil {
		closeForStatus(ctx, conn, err)
		return
	}
	s := &wsSession{g: g, conn: conn, stream: stream, cancel: cancel,
		limit: rate.NewLimiter(rate.Limit(g.opts.CollabRate), g.opts.CollabBurst),
		flood: rate.NewLimiter(floodRate, floodBurst),
	}
	done := make(chan struct{})
	go func() { defer close(done); s.forward(ctx) }()
	go s.keepalive(ctx)
	s.receive(ctx)
	cancel()
	<-done
}

// wsSession is one collaboration WebSocket and its Session stream.
type wsSession struct {
	g      *gateway
	conn   *websocket.Conn
	stream interface {
		Send(*collabv1.SessionRequest) error
		Recv() (*collabv1.SessionResponse, error)
		CloseSend() error
	}
	cancel context.CancelFunc
	limit  *rate.Limiter // frames accepted
	flood  *rate.Limiter // frames refused for the rate limit
}

// receive reads client frames and sends them on the stream until the socket
// closes or the stream fails.
func (s *wsSession) receive(ctx context.Context) {
	for {
		typ, data, err := s.conn.Read(ctx)
		if err != nil {
			// Closed by the client (its close status is in err), over
			// maxReadBytes (the library has closed with 1009), or cancelled.
			return
		}
		if !s.limit.Allow() {
			if !s.flood.Allow() {
				_ = s.conn.Close(websocket.StatusPolicyViolation, fmt.Sprintf("rate limit exceeded: more than %g frames per second", s.g.opts.CollabRate))
				return
			}
			s.reject(ctx, "", "rate_limited", fmt.Sprintf("too many frames: the limit is %g per second (bursts of %d); this frame was dropped", s.g.opts.CollabRate, s.g.opts.CollabBurst))
			continue
		}
		if len(data) > maxFrameBytes {
			s.reject(ctx, "", "message_too_big", fmt.Sprintf("frame is %d bytes, more than the limit of %d; it was dropped", len(data), maxFrameBytes))
			continue
		}
		if typ != websocket.MessageText {
			s.reject(ctx, "", "invalid_argument", "frames must be text frames holding one JSON object")
			continue
		}
		req, action, err := parseFrame(data)
		if err != nil {
			s.reject(ctx, action, "invalid_argument", err.Error())
			continue
		}
		if err := s.stream.Send(req); err != nil {
			// The stream has ended; forward reports why and closes.
			return
		}
	}
}

// parseFrame turns a client frame into a SessionRequest. It returns the
// action, when it could read one, for the error frame.
func parseFrame(data []byte) (*collabv1.SessionRequest, string, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	dec.UseNumber()
	var f clientFrame
	if err := dec.Decode(&f); err != nil {
		var action struct {
			Action string `json:"action"`
		}
		_ = json.Unmarshal(data, &action)
		return nil, action.Action, fmt.Errorf("malformed frame: %v", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, f.Action, errors.New("malformed frame: want exactly one JSON object")
	}
	req := &collabv1.SessionRequest{Action: f.Action, ProjectId: f.ProjectID}
	if f.LastSeenSequence != "" {
		n, err := strconv.ParseInt(f.LastSeenSequence.String(), 10, 64)
		if err != nil || n < 0 {
			return nil, f.Action, fmt.Errorf("last_seen_sequence must be a whole number ≥ 0, not %s", f.LastSeenSequence)
		}
		req.LastSeenSequence = n
	}
	if p := bytes.TrimSpace(f.Payload); len(p) > 0 && !bytes.Equal(p, []byte("null")) {
		if p[0] != '{' {
			return nil, f.Action, errors.New("payload must be a JSON object")
		}
		var b bytes.Buffer
		if err := json.Compact(&b, p); err != nil {
			return nil, f.Action, fmt.Errorf("malformed payload: %v", err)
		}
		req.PayloadJson = b.String()
	}
	return req, f.Action, nil
}

// reject sends an error frame of the gateway's own, shaped like the collab
// service's: payload {"action","code"}.
func (s *wsSession) reject(ctx context.Context, action, code, reason string) {
	payload, _ := json.Marshal(map[string]string{"action": action, "code": code})
	_ = s.write(ctx, serverFrame{Kind: "error", Error: reason, Payload: payload})
}

// forward sends each SessionResponse to the client until the stream ends,
// then closes the socket: normally if the service ended it, with a reason
// if it failed.
func (s *wsSession) forward(ctx context.Context) {
	defer s.cancel()
	// This is the one write per operation per client, so it does without
	// writeBytes' context per write (a timer and a context.AfterFunc inside
	// the library each time): one timer, re-armed per write, disconnects a
	// client that stops reading, and the session's end closes the socket,
	// which ends a write in progress.
	wctx := context.WithoutCancel(ctx)
	stuck := time.AfterFunc(writeTimeout, func() { _ = s.conn.CloseNow() })
	stuck.Stop()
	defer stuck.Stop()
	defer context.AfterFunc(ctx, func() { _ = s.conn.CloseNow() })()
	var buf []byte
	for {
		resp, err := s.stream.Recv()
		if errors.Is(err, io.EOF) {
			_ = s.conn.Close(websocket.StatusNormalClosure, "session ended")
			return
		}
		if err != nil {
			if ctx.Err() == nil { // not our own cancel after the socket closed
				closeForStatus(ctx, s.conn, err)
			}
			return
		}
		buf = appendFrame(buf[:0], resp)
		stuck.Reset(writeTimeout)
		err = s.conn.Write(wctx, websocket.MessageText, buf)
		stuck.Stop()
		if err != nil {
			return
		}
	}
}

// write sends one JSON frame, bounded by writeTimeout. coder/websocket
// allows concurrent writers, so the forwarder and the receiver both write.
func (s *wsSession) write(ctx context.Context, f serverFrame) error {
	b, err := json.Marshal(f)
	if err != nil {
		return err
	}
	return s.writeBytes(ctx, b)
}

func (s *wsSession) writeBytes(ctx context.Context, b []byte) error {
	wctx, cancel := context.WithTimeout(ctx, writeTimeout)
	defer cancel()
	return s.conn.Write(wctx, websocket.MessageText, b)
}

// appendFrame appends resp as a server frame, the JSON of serverFrame,
// written by hand: this runs once per operation per client, and the
// payload_json is inlined as it is (when it is valid JSON) rather than
// decoded and encoded again.
func appendFrame(b []byte, resp *collabv1.SessionResponse) []byte {
	b = append(b, `{"kind":`...)
	if k := resp.GetKind(); plainWord(k) {
		b = append(append(append(b, '"'), k...), '"')
	} else {
		q, _ := json.Marshal(k)
		b = append(b, q...)
	}
	b = append(b, `,"sequence":`...)
	b = strconv.AppendInt(b, resp.GetSequence(), 10)
	if p := resp.GetPayloadJson(); p != "" {
		b = append(b, `,"payload":`...)
		if json.Valid([]byte(p)) {
			b = append(b, p...)
		} else {
			q, _ := json.Marshal(p)
			b = append(b, q...)
		}
	}
	if e := resp.GetError(); e != "" {
		q, _ := json.Marshal(e)
		b = append(b, `,"error":`...)
		b = append(b, q...)
	}
	return append(b, '}')
}

// plainWord reports whether s is made of a-z and '_' only, as every kind
// is: JSON quotes such a string as it is.
func plainWord(s string) bool {
	for i := range len(s) {
		if (s[i] < 'a' || s[i] > 'z') && s[i] != '_' {
			return false
		}
	}
	return s != ""
}

// keepalive pings the client every WebSocketPing; one that does not answer
// in time is disconnected, which ends the stream.
func (s *wsSession) keepalive(ctx context.Context) {
	t := time.NewTicker(s.g.opts.WebSocketPing)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			pctx, cancel := context.WithTimeout(ctx, s.g.opts.WebSocketPing)
			err := s.conn.Ping(pctx)
			cancel()
			if err != nil {
				if ctx.Err() == nil {
					_ = s.conn.Close(websocket.StatusPolicyViolation, "no pong: the client stopped answering pings")
					s.cancel()
				}
				return
			}
		}
	}
}

// closeForStatus sends the stream's failure as an error frame, then closes
// the socket with a status that says whether retrying can help.
func closeForStatus(ctx context.Context, conn *websocket.Conn, err error) {
	st := status.Convert(err)
	code := websocket.StatusInternalError
	switch st.Code() {
	case codes.Unauthenticated, codes.PermissionDenied:
		code = websocket.StatusPolicyViolation
	case codes.Unavailable, codes.ResourceExhausted:
		code = websocket.StatusTryAgainLater
	case codes.Canceled, codes.DeadlineExceeded:
		code = websocket.StatusGoingAway
	}
	payload, _ := json.Marshal(map[string]any{"code": grpcCodeName(st.Code()), "grpc_code": int(st.Code())})
	b, _ := json.Marshal(serverFrame{Kind: "error", Error: st.Message(), Payload: payload})
	wctx, cancel := context.WithTimeout(ctx, writeTimeout)
	_ = conn.Write(wctx, websocket.MessageText, b)
	cancel()
	_ = conn.Close(code, closeReason(st.Code().String()+": "+st.Message()))
}

// grpcCodeName is a gRPC code written like the collab service's error codes
// ("unauthenticated", "unavailable", …).
func grpcCodeName(c codes.Code) string {
	switch c {
	case codes.InvalidArgument:
		return "invalid_argument"
	case codes.NotFound:
		return "not_found"
	case codes.PermissionDenied:
		return "permission_denied"
	case codes.Unauthenticated:
		return "unauthenticated"
	case codes.Unavailable:
		return "unavailable"
	case codes.Unimplemented:
		return "unimplemented"
	case codes.ResourceExhausted:
		return "resource_exhausted"
	}
	return "internal"
}

// closeReason fits s in a close frame, whose reason is at most 123 bytes,
// without cutting a UTF-8 sequence.
func closeReason(s string) string {
	const max = 123
	if len(s) <= max {
		return s
	}
	cut := max - len("…")
	for cut > 0 && s[cut]&0xC0 == 0x80 {
		cut--
	}
	return s[:cut] + "…"
}
