package gateway

import (
	"context"
	"errors"
	"io"
	"math"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/felixge/httpsnoop"
	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/clipmesh/clipmesh/gateway/openapi"
)

// requestState is what the layers of one request tell each other: the route
// the mux matched (for the span name) and whether the body hit its limit
// (for the 413). It travels in the request's context because the mux hands
// its handlers a copy of the request, not the one the outer layers hold.
type requestState struct {
	route string // e.g. "/v1/videos/{video_id}"; set by limitBody
	limit int64  // body limit applied to this route
	what  string // "request body" or "upload", for the 413 message
	// tooLarge is set once the body exceeded limit. It is atomic because a
	// client-streaming binding may read the body on its own goroutine.
	tooLarge atomic.Bool
}

type stateKey struct{}

func stateFrom(ctx context.Context) *requestState {
	st, _ := ctx.Value(stateKey{}).(*requestState)
	return st
}

// withRequestState attaches a requestState and, once the mux has run, records
// the matched route as r.Pattern. otelhttp, which must be the next layer out,
// names its span and sets http.route from r.Pattern after the handler
// returns, as it does for http.ServeMux; unmatched requests keep the bare
// method as their span name so unknown paths do not explode cardinality.
func withRequestState(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		st := &requestState{}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), stateKey{}, st)))
		if st.route != "" && r.Pattern == "" {
			r.Pattern = r.Method + " " + st.route
		}
	})
}

// routeOf returns the template of the mux route serving r, written as in the
// proto ("/v1/videos/{video_id}", not the pattern's "{video_id=*}").
func routeOf(r *http.Request) string {
	p, ok := runtime.HTTPPattern(r.Context())
	if !ok {
		return ""
	}
	return strings.ReplaceAll(p.String(), "=*}", "}")
}

// limitBody is a mux middleware, so it runs only for matched routes and knows
// which one: the upload gets MaxUploadBytes, every other body
// MaxRequestBytes. A declared Content-Length over the limit is refused before
// anything is read or called; a chunked body is cut off by
// http.MaxBytesReader, and the flag lets handleError turn whatever error the
// reader caused into a 413.
func (g *gateway) limitBody(next runtime.HandlerFunc) runtime.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request, params map[string]string) {
		st := stateFrom(r.Context())
		if st == nil { // the mux served without withRequestState; never in New
			st = &requestState{}
			r = r.WithContext(context.WithValue(r.Context(), stateKey{}, st))
		}
		st.route = routeOf(r)
		st.limit, st.what = g.opts.MaxRequestBytes, "request body"
		if r.Method == http.MethodPost && st.route == openapi.UploadPath {
			st.limit, st.what = g.opts.MaxUploadBytes, "upload"
		}
		if r.ContentLength > st.limit {
			st.tooLarge.Store(true)
			g.handleError(r.Context(), g.mux, nil, w, r, errors.New("declared Content-Length over the limit"))
			return
		}
		if r.Body != nil && r.Body != http.NoBody {
			r.Body = &limitedBody{ReadCloser: http.MaxBytesReader(w, r.Body, st.limit), st: st}
		}
		next(w, r, params)
	}
}

// limitedBody flags the request state when the body exceeds its limit: the
// generated bindings wrap decode errors with %v, which loses the
// *http.MaxBytesError, so the error itself cannot tell handleError.
type limitedBody struct {
	io.ReadCloser
	st *requestState
}

func (b *limitedBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		b.st.tooLarge.Store(true)
	}
	return n, err
}

// handleError is the mux's error handler: grpc-gateway's default (status
// from runtime.HTTPStatusFromCode, body {"code","message","details"}), except
// for a body over its limit. An oversize upload is a bad file like any
// other (400, InvalidArgument, naming the limit), as the jobs service
// answers over gRPC; any other oversize body is 413 (ResourceExhausted, what
// gRPC itself answers for an oversized message).
func (g *gateway) handleError(ctx context.Context, mux *runtime.ServeMux, _ runtime.Marshaler, w http.ResponseWriter, r *http.Request, err error) {
	if st := stateFrom(r.Context()); st != nil && st.tooLarge.Load() {
		httpCode, code := http.StatusRequestEntityTooLarge, codes.ResourceExhausted
		if st.what == "upload" {
			httpCode, code = http.StatusBadRequest, codes.InvalidArgument
		}
		err = &runtime.HTTPStatusError{
			HTTPStatus: httpCode,
			Err:        status.Errorf(code, "%s exceeds the limit of %d bytes (%s)", st.what, st.limit, iecBytes(st.limit)),
		}
	}
	if status.Code(err) == codes.Unauthenticated {
		w = challengeWriter{w}
	}
	runtime.DefaultHTTPErrorHandler(ctx, mux, g.errMarshaler, w, r, err)
}

// challengeWriter sends a proper RFC 6750 challenge: grpc-gateway's default
// puts the status message in WWW-Authenticate, which is not one.
type challengeWriter struct{ http.ResponseWriter }

func (c challengeWriter) WriteHeader(code int) {
	c.Header().Set("WWW-Authenticate", `Bearer realm="clipmesh"`)
	c.ResponseWriter.WriteHeader(code)
}

// iecBytes writes n for people: 8589934592 → "8 GiB", 1536 → "1.5 KiB".
func iecBytes(n int64) string {
	if n < 1024 {
		return strconv.FormatInt(n, 10) + " B"
	}
	f, unit := float64(n), ""
	for _, u := range []string{"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"} {
		if f < 1024 {
			break
		}
		f, unit = f/1024, u
	}
	return strconv.FormatFloat(math.Round(f*10)/10, 'f', -1, 64) + " " + unit
}

// recoverPanics turns a panic in any handler into a logged error and a 500
// "internal error", so a bug answers one request badly instead of killing
// the process's connection silently; the real panic goes to the log only. If
// the response had already started, a 500 can no longer be sent, so the
// connection is aborted: the client then sees a broken response, never a
// truncated one that looks complete.
func (g *gateway) recoverPanics(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var started atomic.Bool
		mark := func() { started.Store(true) }
		ww := httpsnoop.Wrap(w, httpsnoop.Hooks{
			WriteHeader: func(f httpsnoop.WriteHeaderFunc) httpsnoop.WriteHeaderFunc {
				return func(code int) { mark(); f(code) }
			},
			Write: func(f httpsnoop.WriteFunc) httpsnoop.WriteFunc {
				return func(b []byte) (int, error) { mark(); return f(b) }
			},
			ReadFrom: func(f httpsnoop.ReadFromFunc) httpsnoop.ReadFromFunc {
				return func(src io.Reader) (int64, error) { mark(); return f(src) }
			},
			Flush: func(f httpsnoop.FlushFunc) httpsnoop.FlushFunc {
				return func() { mark(); f() }
			},
		})
		defer func() {
			v := recover()
			if v == nil {
				return
			}
			if v == http.ErrAbortHandler { // net/http's own signal to abort quietly
				panic(v)
			}
			g.log.ErrorContext(r.Context(), "gateway: panic serving request",
				"method", r.Method, "path", r.URL.Path, "panic", v, "stack", string(debug.Stack()))
			if started.Load() {
				panic(http.ErrAbortHandler)
			}
			runtime.DefaultHTTPErrorHandler(r.Context(), g.mux, g.errMarshaler, w, r,
				status.Error(codes.Internal, "internal error"))
		}()
		next.ServeHTTP(ww, r)
	})
}
