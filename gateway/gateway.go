package gateway

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/textproto"
	"slices"
	"strings"
	"time"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"github.com/rs/cors"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/clipmesh/clipmesh/gateway/openapi"
	analyticsv1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/analytics/v1"
	audiov1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/audio/v1"
	clipsv1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/clips/v1"
	collabv1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/collab/v1"
	jobsv1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/jobs/v1"
	nlpv1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/nlp/v1"
	transcribev1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/transcribe/v1"
	videosv1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/videos/v1"
	visionv1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/vision/v1"
)

// Default limits, used when the Options field is zero or negative.
const (
	// DefaultMaxUploadBytes is the largest accepted upload: 8 GiB, enough for
	// hours of 1080p video.
	DefaultMaxUploadBytes int64 = 8 << 30
	// DefaultMaxRequestBytes is the largest accepted JSON request body. No
	// JSON request carries media (videos travel by upload and reference), so
	// anything bigger is a mistake or an attack.
	DefaultMaxRequestBytes int64 = 1 << 20
)

// Options configure the gateway.
type Options struct {
	// MaxUploadBytes is the largest accepted upload (POST /v1/videos body);
	// 0 means DefaultMaxUploadBytes. A bigger upload is answered 400 (InvalidArgument) with the
	// limit in the message, and the stream to the server is cancelled.
	MaxUploadBytes int64
	// MaxRequestBytes is the largest accepted body of any other request;
	// 0 means DefaultMaxRequestBytes. A bigger body is answered 413.
	MaxRequestBytes int64
	// CORSAllowedOrigins lists the origins allowed to call from a browser
	// ("*" allows any; patterns such as "https://*.example.com" work). Empty
	// means no CORS headers at all: same-origin web apps need none.
	CORSAllowedOrigins []string
	// Logger receives panics and aborted uploads; nil means slog.Default().
	Logger *slog.Logger
	// SSEHeartbeat is how often an idle Server-Sent Events stream gets a
	// comment line; 0 means DefaultSSEHeartbeat.
	SSEHeartbeat time.Duration
	// WebSocketPing is how often the collaboration WebSocket is pinged; a
	// peer that does not answer within the same time is disconnected. 0
	// means DefaultWebSocketPing.
	WebSocketPing time.Duration
	// CollabRate and CollabBurst limit the frames one collaboration
	// WebSocket may send (a token bucket); 0 means DefaultCollabRate and
	// DefaultCollabBurst.
	CollabRate  float64
	CollabBurst int
}

// gateway holds what the handlers share.
type gateway struct {
	mux *runtime.ServeMux
	// streams serves the generated streaming bindings that a hand-written
	// handler shadows on mux (the :watch routes without SSE).
	streams *runtime.ServeMux
	videos  videosv1.VideoServiceClient
	jobs    jobsv1.JobServiceClient
	collab  collabv1.CollabServiceClient
	opts    Options
	log     *slog.Logger
	// life is New's context: when it ends, open WebSockets are closed.
	life context.Context
	// eventMarshal writes SSE data: the resource JSON dialect.
	eventMarshal protojson.MarshalOptions
	// errMarshaler writes error bodies. It emits unpopulated fields, unlike
	// the resource marshaler, so an error always has code, message and
	// details, as grpc-gateway's documented error shape promises.
	errMarshaler runtime.Marshaler
}

// New returns the HTTP handler serving every clipmesh service's REST bindings
// through cc (a client connection to the gRPC server(s); in the all-in-one it
// is a loopback connection to the process's own gRPC port).
func New(ctx context.Context, cc grpc.ClientConnInterface, opts Options) (http.Handler, error) {
	if cc == nil {
		return nil, fmt.Errorf("gateway: nil client connection")
	}
	if opts.MaxUploadBytes <= 0 {
		opts.MaxUploadBytes = DefaultMaxUploadBytes
	}
	if opts.MaxRequestBytes <= 0 {
		opts.MaxRequestBytes = DefaultMaxRequestBytes
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.SSEHeartbeat <= 0 {
		opts.SSEHeartbeat = DefaultSSEHeartbeat
	}
	if opts.WebSocketPing <= 0 {
		opts.WebSocketPing = DefaultWebSocketPing
	}
	if opts.CollabRate <= 0 {
		opts.CollabRate = DefaultCollabRate
	}
	if opts.CollabBurst <= 0 {
		opts.CollabBurst = DefaultCollabBurst
	}
	// Build the document first: a broken embedded file should stop the
	// gateway at start, not surface as a 500 on the first /openapi.json.
	doc, err := openapi.Document()
	if err != nil {
		return nil, fmt.Errorf("gateway: %w", err)
	}

	g := &gateway{
		videos: videosv1.NewVideoServiceClient(cc),
		jobs:   jobsv1.NewJobServiceClient(cc),
		collab: collabv1.NewCollabServiceClient(cc),
		opts:   opts,
		log:    opts.Logger,
		life:   ctx,
		errMarshaler: &runtime.JSONPb{
			MarshalOptions: protojson.MarshalOptions{EmitUnpopulated: true},
		},
		eventMarshal: protojson.MarshalOptions{EmitUnpopulated: false, UseProtoNames: false},
	}
	g.mux = g.newMux()
	g.streams = g.newMux()
	if err := jobsv1.RegisterJobServiceHandlerClient(ctx, g.streams, g.jobs); err != nil {
		return nil, fmt.Errorf("gateway: register JobService streams: %w", err)
	}

	registrations := []struct {
		name     string
		register func() error
	}{
		{"VideoService", func() error {
			return videosv1.RegisterVideoServiceHandlerClient(ctx, g.mux, g.videos)
		}},
		{"VisionService", func() error {
			return visionv1.RegisterVisionServiceHandlerClient(ctx, g.mux, visionv1.NewVisionServiceClient(cc))
		}},
		{"AudioService", func() error {
			return audiov1.RegisterAudioServiceHandlerClient(ctx, g.mux, audiov1.NewAudioServiceClient(cc))
		}},
		{"TranscribeService", func() error {
			return transcribev1.RegisterTranscribeServiceHandlerClient(ctx, g.mux, transcribev1.NewTranscribeServiceClient(cc))
		}},
		{"NlpService", func() error {
			return nlpv1.RegisterNlpServiceHandlerClient(ctx, g.mux, nlpv1.NewNlpServiceClient(cc))
		}},
		{"AnalyticsService", func() error {
			return analyticsv1.RegisterAnalyticsServiceHandlerClient(ctx, g.mux, analyticsv1.NewAnalyticsServiceClient(cc))
		}},
		{"JobService", func() error {
			return jobsv1.RegisterJobServiceHandlerClient(ctx, g.mux, g.jobs)
		}},
		{"ClipsService", func() error {
			return clipsv1.RegisterClipsServiceHandlerClient(ctx, g.mux, clipsv1.NewClipsServiceClient(cc))
		}},
		{"CollabService", func() error {
			return collabv1.RegisterCollabServiceHandlerClient(ctx, g.mux, g.collab)
		}},
	}
	for _, r := range registrations {
		if err := r.register(); err != nil {
			return nil, fmt.Errorf("gateway: register %s: %w", r.name, err)
		}
	}
	if err := g.mux.HandlePath(http.MethodPost, openapi.UploadPath, g.upload); err != nil {
		return nil, fmt.Errorf("gateway: register upload: %w", err)
	}
	if err := g.registerClipDownloads(cc); err != nil {
		return nil, err
	}
	if err := g.registerTranscriptDownloads(cc); err != nil {
		return nil, err
	}
	if err := g.mux.HandlePath(http.MethodGet, "/openapi.json", serveDocument(doc)); err != nil {
		return nil, fmt.Errorf("gateway: register /openapi.json: %w", err)
	}
	// The mux tries the newest registration first, so these shadow the
	// generated :watch bindings; without Accept: text/event-stream they
	// hand the request to g.streams, which still has them.
	for _, rt := range g.watchRoutes() {
		if err := g.mux.HandlePath(http.MethodGet, rt.path, g.watch(rt)); err != nil {
			return nil, fmt.Errorf("gateway: register %s: %w", rt.path, err)
		}
	}
	for _, p := range openapi.CollaboratePaths {
		if err := g.mux.HandlePath(http.MethodGet, p, g.collaborate); err != nil {
			return nil, fmt.Errorf("gateway: register %s: %w", p, err)
		}
	}

	// Outermost first: the span covers everything, including a recovered
	// panic's 500 and CORS preflights; the request state sits right inside
	// otelhttp so the route the mux matched can name the span afterwards.
	var h http.Handler = g.mux
	if len(opts.CORSAllowedOrigins) > 0 {
		h = newCORS(opts.CORSAllowedOrigins).Handler(h)
	}
	h = g.recoverPanics(h)
	h = withRequestState(h)
	// Outside otelhttp, so that a token in the query never reaches a span.
	return tokenFromQuery(otelhttp.NewHandler(h, "gateway")), nil
}

// newMux returns a grpc-gateway mux with the gateway's dialect, header rules,
// error handler and body limits.
func (g *gateway) newMux() *runtime.ServeMux {
	return runtime.NewServeMux(
		// One JSON dialect for every route, documented in doc.go. The
		// HTTPBody wrapper lets an RPC returning google.api.HttpBody send raw
		// bytes; everything else is protojson.
		runtime.WithMarshalerOption(runtime.MIMEWildcard, &runtime.HTTPBodyMarshaler{
			Marshaler: &runtime.JSONPb{
				MarshalOptions:   protojson.MarshalOptions{EmitUnpopulated: false, UseProtoNames: false},
				UnmarshalOptions: protojson.UnmarshalOptions{DiscardUnknown: true},
			},
		}),
		runtime.WithIncomingHeaderMatcher(incomingHeader),
		runtime.WithErrorHandler(g.handleError),
		runtime.WithMiddlewares(g.limitBody),
	)
}

// accessTokenParam is the query parameter that carries an API key for the
// clients that cannot set a header: a browser's WebSocket and EventSource.
const accessTokenParam = "access_token"

// tokenFromQuery moves ?access_token= into "Authorization: Bearer …" on the
// routes browsers open without headers (the collaboration WebSocket and the
// :watch streams), and strips it from the URL so that no span, log or
// proxy-facing copy of the URL carries the key. An Authorization header, if
// sent too, wins. On every other route the parameter is left alone (and
// ignored by the bindings), so keys in URLs stay the exception.
func tokenFromQuery(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet || !tokenRoute(r.URL.Path) || !strings.Contains(r.URL.RawQuery, accessTokenParam) {
			next.ServeHTTP(w, r)
			return
		}
		q := r.URL.Query()
		tok := q.Get(accessTokenParam)
		if !q.Has(accessTokenParam) {
			next.ServeHTTP(w, r)
			return
		}
		r = r.Clone(r.Context())
		q.Del(accessTokenParam)
		r.URL.RawQuery = q.Encode()
		r.RequestURI = r.URL.RequestURI()
		if tok != "" && r.Header.Get("Authorization") == "" {
			r.Header.Set("Authorization", "Bearer "+tok)
		}
		next.ServeHTTP(w, r)
	})
}

// tokenRoute reports whether path is a route that accepts ?access_token=.
func tokenRoute(path string) bool {
	if slices.Contains(openapi.CollaboratePaths, path) {
		return true
	}
	return strings.HasSuffix(path, ":watch") && (strings.HasPrefix(path, "/v1/jobs/") || strings.HasPrefix(path, "/v1/batches/"))
}

// incomingHeader chooses which HTTP headers become gRPC metadata.
//
// grpc-gateway (v2.33) already forwards Authorization as "authorization",
// unprefixed, whatever the matcher says; the default matcher would also copy
// it to "grpcgateway-authorization", which only spreads the API key to one
// more place where it could be logged, so it is dropped here. Idempotency-Key
// and X-Request-Id reach the services under their own names because the
// services read them; every other header keeps the default "grpcgateway-"
// prefix, so no client header can impersonate a key the mesh trusts.
func incomingHeader(key string) (string, bool) {
	switch textproto.CanonicalMIMEHeaderKey(key) {
	case "Authorization":
		return "", false
	case "Idempotency-Key":
		return "idempotency-key", true
	case "X-Request-Id":
		return "x-request-id", true
	}
	return runtime.DefaultHeaderMatcher(key)
}

// newCORS allows browsers on the given origins to call the API with an API
// key. Credentials (cookies) are not allowed: clipmesh authenticates with a
// bearer header, and "*" with credentials is refused by browsers anyway.
func newCORS(origins []string) *cors.Cors {
	return cors.New(cors.Options{
		AllowedOrigins: origins,
		AllowedMethods: []string{
			http.MethodGet, http.MethodHead, http.MethodPost,
			http.MethodPut, http.MethodPatch, http.MethodDelete,
		},
		AllowedHeaders: []string{"Authorization", "Content-Type", "Idempotency-Key", "X-Request-Id"},
		ExposedHeaders: []string{"Location", "WWW-Authenticate"},
		MaxAge:         600,
	})
}

// serveDocument answers GET /openapi.json with the document built at start.
func serveDocument(doc []byte) runtime.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request, _ map[string]string) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(doc)
	}
}
