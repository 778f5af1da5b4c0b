package gateway

import (
	"bytes"
	"context"
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/clipmesh/clipmesh/gateway/openapi"
	jobsv1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/jobs/v1"
)

// DefaultSSEHeartbeat is how often an idle Server-Sent Events stream gets a
// comment line, so that proxies and load balancers do not close it.
const DefaultSSEHeartbeat = 15 * time.Second

// eventStream is the media type of Server-Sent Events.
const eventStream = "text/event-stream"

// wantsEventStream reports whether the client asked for Server-Sent Events:
// text/event-stream is one of the media ranges of its Accept header (with a
// q above zero). */* alone does not count: curl and most HTTP clients send
// it, and they keep today's newline-delimited JSON.
func wantsEventStream(r *http.Request) bool {
	for _, h := range r.Header.Values("Accept") {
		for _, part := range strings.Split(h, ",") {
			mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
			if err != nil || !strings.EqualFold(mt, eventStream) {
				continue
			}
			if q, err := strconv.ParseFloat(strings.TrimSpace(params["q"]), 64); err == nil && q <= 0 {
				continue
			}
			return true
		}
	}
	return false
}

// watchRoute is one of the streaming routes served as SSE.
type watchRoute struct {
	path   string // the proto's path template
	event  string // SSE event name of every message
	method string // full gRPC method name, for AnnotateContext
	// open starts the stream for the path parameters and returns a function
	// receiving the next message to send as the event's data.
	open func(ctx context.Context, params map[string]string) (func() (proto.Message, error), error)
}

func (g *gateway) watchRoutes() []watchRoute {
	return []watchRoute{
		{
			path: openapi.WatchJobPath, event: "job", method: jobsv1.JobService_WatchJob_FullMethodName,
			open: func(ctx context.Context, params map[string]string) (func() (proto.Message, error), error) {
				st, err := g.jobs.WatchJob(ctx, &jobsv1.WatchJobRequest{JobId: params["job_id"]})
				if err != nil {
					return nil, err
				}
				return func() (proto.Message, error) {
					m, err := st.Recv()
					return m.GetJob(), err
				}, nil
			},
		},
		{
			path: openapi.WatchBatchPath, event: "batch", method: jobsv1.JobService_WatchBatch_FullMethodName,
			open: func(ctx context.Context, params map[string]string) (func() (proto.Message, error), error) {
				st, err := g.jobs.WatchBatch(ctx, &jobsv1.WatchBatchRequest{BatchId: params["batch_id"]})
				if err != nil {
					return nil, err
				}
				return func() (proto.Message, error) {
					m, err := st.Recv()
					return m.GetBatch(), err
				}, nil
			},
		},
	}
}

// watch serves GET /v1/jobs/{job_id}:watch and /v1/batches/{batch_id}:watch.
// With Accept: text/event-stream it answers Server-Sent Events; otherwise it
// hands the request to the generated binding (newline-delimited JSON), kept
// on a mux of its own because this handler shadows it on the main one.
func (g *gateway) watch(rt watchRoute) runtime.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request, params map[string]string) {
		if !wantsEventStream(r) {
			g.streams.ServeHTTP(w, r)
			return
		}
		g.serveEvents(w, r, params, rt)
	}
}

// serveEvents streams rt as Server-Sent Events:
//
//	event: job
//	data: {"id":"job_…","state":"JOB_STATE_RUNNING",…}
//
// one per message, each flushed at once; a ": heartbeat" comment every
// Options.SSEHeartbeat while nothing happens; the response ends when the
// stream does (after the final state). A failure is an "error" event whose
// data is {"code":…,"message":…} (the gRPC code, as in every error body);
// before the first event it also sets the HTTP status (404 for an unknown
// job, 401 without a valid key, …), so an EventSource does not reconnect
// to something that cannot work. A client that goes away cancels the gRPC
// stream, since its context is the request's; so does the end of New's
// context (shutdown).
func (g *gateway) serveEvents(w http.ResponseWriter, r *http.Request, params map[string]string, rt watchRoute) {
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	// A stream lasts as long as its job; on shutdown it ends, so that the
	// HTTP server's graceful shutdown does not wait for it.
	defer context.AfterFunc(g.life, cancel)()
	ctx, err := runtime.AnnotateContext(ctx, g.mux, r, rt.method, runtime.WithHTTPPathPattern(rt.path))
	if err == nil {
		var recv func() (proto.Message, error)
		if recv, err = rt.open(ctx, params); err == nil {
			g.pumpEvents(ctx, w, rt.event, recv)
			return
		}
	}
	ew := &eventWriter{w: w, rc: http.NewResponseController(w), marshal: g.eventMarshal}
	ew.fail(err)
}

// pumpEvents writes the messages recv returns until the stream ends, the
// client goes away or a write fails.
func (g *gateway) pumpEvents(ctx context.Context, w http.ResponseWriter, event string, recv func() (proto.Message, error)) {
	type result struct {
		msg proto.Message
		err error
	}
	// recv blocks, so it runs on its own goroutine; ctx (cancelled when
	// this returns) ends both it and the gRPC stream.
	results := make(chan result)
	go func() {
		for {
			m, err := recv()
			select {
			case results <- result{m, err}:
			case <-ctx.Done():
				return
			}
			if err != nil {
				return
			}
		}
	}()

	ew := &eventWriter{w: w, rc: http.NewResponseController(w), marshal: g.eventMarshal}
	heartbeat := time.NewTicker(g.opts.SSEHeartbeat)
	defer heartbeat.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-heartbeat.C:
			if !ew.started {
				continue // the status is not known before the first message
			}
			if ew.write([]byte(": heartbeat\n\n")) != nil {
				return
			}
		case res := <-results:
			if errors.Is(res.err, io.EOF) {
				if !ew.started { // an empty stream is still a 200
					ew.start(http.StatusOK)
				}
				return
			}
			if res.err != nil {
				ew.fail(res.err)
				return
			}
			if ew.event(event, res.msg) != nil {
				return
			}
			heartbeat.Reset(g.opts.SSEHeartbeat)
		}
	}
}

// eventWriter writes the events of one response.
type eventWriter struct {
	w       http.ResponseWriter
	rc      *http.ResponseController
	marshal protojson.MarshalOptions
	started bool
}

func (e *eventWriter) start(code int) {
	if e.started {
		return
	}
	e.started = true
	h := e.w.Header()
	h.Set("Content-Type", eventStream)
	h.Set("Cache-Control", "no-cache")
	// Tells nginx not to buffer the stream, which would delay every event.
	h.Set("X-Accel-Buffering", "no")
	if code == http.StatusUnauthorized {
		h.Set("WWW-Authenticate", `Bearer realm="clipmesh"`)
	}
	e.w.WriteHeader(code)
	_ = e.rc.Flush()
}

// write sends b and flushes it.
func (e *eventWriter) write(b []byte) error {
	e.start(http.StatusOK)
	if _, err := e.w.Write(b); err != nil {
		return err
	}
	return e.rc.Flush()
}

// event writes one event whose data is m in protojson. protojson writes no
// newline, but any would be split into data lines as the format requires.
func (e *eventWriter) event(name string, m proto.Message) error {
	data, err := e.marshal.Marshal(m)
	if err != nil {
		e.fail(status.Errorf(codes.Internal, "encode %s: %v", name, err))
		return err
	}
	return e.write(formatEvent(name, data))
}

// fail writes err as an "error" event; before the first event it also sets
// the HTTP status grpc-gateway uses for the code.
func (e *eventWriter) fail(err error) {
	st := status.Convert(err)
	if !e.started {
		e.start(runtime.HTTPStatusFromCode(st.Code()))
	}
	data, merr := protojson.MarshalOptions{EmitUnpopulated: true}.Marshal(st.Proto())
	if merr != nil {
		data = []byte(`{"code":13,"message":"internal error","details":[]}`)
	}
	_ = e.write(formatEvent("error", data))
}

// formatEvent returns one SSE message: the event line, a data line per line
// of data, and the blank line that dispatches it.
func formatEvent(name string, data []byte) []byte {
	var b bytes.Buffer
	b.WriteString("event: ")
	b.WriteString(name)
	b.WriteByte('\n')
	for line := range bytes.SplitSeq(data, []byte("\n")) {
		b.WriteString("data: ")
		b.Write(bytes.TrimSuffix(line, []byte("\r")))
		b.WriteByte('\n')
	}
	b.WriteByte('\n')
	return b.Bytes()
}
