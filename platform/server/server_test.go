package server_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"go.opentelemetry.io/otel"
	otelcodes "go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	reflectionpb "google.golang.org/grpc/reflection/grpc_reflection_v1"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/clipmesh/clipmesh/platform/auth"
	"github.com/clipmesh/clipmesh/platform/health"
	"github.com/clipmesh/clipmesh/platform/server"
	"github.com/clipmesh/clipmesh/platform/store/storetest"
	"github.com/clipmesh/clipmesh/platform/telemetry"
)

// The hand-written test service, so these tests need no generated code.
const (
	serviceName   = "clipmesh.test.v1.Test"
	getMethod     = "/" + serviceName + "/Get"     // answers the caller's principal
	sizeMethod    = "/" + serviceName + "/Size"    // answers the length of the request bytes
	panicMethod   = "/" + serviceName + "/Panic"   // panics
	blockMethod   = "/" + serviceName + "/Block"   // stream: blocks until its context ends
	pstreamMethod = "/" + serviceName + "/PStream" // stream: panics
)

// testService is a server.Service, a Starter and a Readier.
type testService struct {
	// ready is what Ready returns.
	ready error
	// events records what happens, in order, across the service and OnStop.
	events *events
	// started is closed when Start runs; blocked when Block's handler runs.
	started, blocked chan struct{}
}

func newTestService() *testService {
	return &testService{events: &events{}, started: make(chan struct{}), blocked: make(chan struct{}, 1)}
}

func (s *testService) Name() string { return "test" }

func (s *testService) Register(g *grpc.Server) { g.RegisterService(&testDesc, s) }

func (s *testService) Ready(context.Context) error { return s.ready }

func (s *testService) Start(ctx context.Context) error {
	s.events.add("worker started")
	close(s.started)
	<-ctx.Done()
	s.events.add("worker stopped")
	return ctx.Err()
}

// plainService is only a server.Service: no Start, no Ready.
type plainService struct{ svc *testService }

func (p plainService) Name() string            { return p.svc.Name() }
func (p plainService) Register(g *grpc.Server) { p.svc.Register(g) }

type events struct {
	mu   sync.Mutex
	list []string
}

func (e *events) add(s string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.list = append(e.list, s)
}

func (e *events) get() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.list)
}

func unary(name string, fn func(s *testService, ctx context.Context, in *wrapperspb.BytesValue) (string, error)) grpc.MethodDesc {
	return grpc.MethodDesc{
		MethodName: name,
		Handler: func(srv any, ctx context.Context, dec func(any) error, ic grpc.UnaryServerInterceptor) (any, error) {
			in := new(wrapperspb.BytesValue)
			if err := dec(in); err != nil {
				return nil, err
			}
			h := func(ctx context.Context, req any) (any, error) {
				out, err := fn(srv.(*testService), ctx, req.(*wrapperspb.BytesValue))
				if err != nil {
					return nil, err
				}
				return wrapperspb.String(out), nil
			}
			if ic == nil {
				return h(ctx, in)
			}
			return ic(ctx, in, &grpc.UnaryServerInfo{Server: srv, FullMethod: "/" + serviceName + "/" + name}, h)
		},
	}
}

var testDesc = grpc.ServiceDesc{
	ServiceName: serviceName,
	HandlerType: (*any)(nil),
	Methods: []grpc.MethodDesc{
		unary("Get", func(_ *testService, ctx context.Context, _ *wrapperspb.BytesValue) (string, error) {
			p, ok := auth.FromContext(ctx)
			if !ok {
				return "-", nil
			}
			return p.Tenant + "/" + string(p.Role) + "/" + p.Subject, nil
		}),
		unary("Size", func(_ *testService, _ context.Context, in *wrapperspb.BytesValue) (string, error) {
			return strings.Repeat("x", len(in.GetValue())%10), nil
		}),
		unary("Panic", func(*testService, context.Context, *wrapperspb.BytesValue) (string, error) {
			panic("boom: secret detail")
		}),
	},
	Streams: []grpc.StreamDesc{
		{
			StreamName:    "Block",
			ServerStreams: true,
			Handler: func(srv any, ss grpc.ServerStream) error {
				srv.(*testService).blocked <- struct{}{}
				<-ss.Context().Done()
				return ss.Context().Err()
			},
		},
		{
			StreamName:    "PStream",
			ServerStreams: true,
			Handler: func(any, grpc.ServerStream) error {
				panic("stream boom")
			},
		},
	},
}

// running is a server.Run in progress.
type running struct {
	grpcAddr, httpAddr string
	cc                 *grpc.ClientConn
	cancel             context.CancelFunc
	done               chan error
}

// start runs server.Run with opts on 127.0.0.1:0 listeners (unless opts
// has its own), a fresh health checker and a logger into the test log
// (unless set), and stops it at cleanup.
func start(t *testing.T, opts server.Options, services ...server.Service) *running {
	t.Helper()
	if opts.GRPC == nil {
		opts.GRPC = listen(t)
	}
	if opts.HTTP == nil {
		opts.HTTP = listen(t)
	}
	if opts.Health == nil {
		opts.Health = health.New()
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(t.Output(), nil))
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{
		grpcAddr: opts.GRPC.Addr().String(), httpAddr: opts.HTTP.Addr().String(),
		cancel: cancel, done: make(chan error, 1),
	}
	go func() { r.done <- server.Run(ctx, opts, services...) }()
	t.Cleanup(func() { _ = r.stop(t) })
	r.cc = dial(t, r.grpcAddr)
	return r
}

// stop cancels Run's context and returns what Run returned.
func (r *running) stop(t *testing.T) error {
	t.Helper()
	r.cancel()
	select {
	case err, ok := <-r.done:
		if ok {
			close(r.done)
		}
		return err
	case <-time.After(30 * time.Second):
		t.Fatal("server.Run did not return within 30s of its context's end")
		return nil
	}
}

func listen(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	return ln
}

func dial(t *testing.T, addr string, extra ...grpc.DialOption) *grpc.ClientConn {
	t.Helper()
	opts := append([]grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials())}, extra...)
	cc, err := grpc.NewClient(addr, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cc.Close() })
	return cc
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func call(ctx context.Context, cc *grpc.ClientConn, method string, in []byte) (string, error) {
	out := new(wrapperspb.StringValue)
	err := cc.Invoke(ctx, method, wrapperspb.Bytes(in), out)
	return out.GetValue(), err
}

// openStream opens a server stream and sends its one request.
func openStream(ctx context.Context, cc *grpc.ClientConn, method string) (grpc.ClientStream, error) {
	s, err := cc.NewStream(ctx, &grpc.StreamDesc{ServerStreams: true}, method)
	if err != nil {
		return nil, err
	}
	if err := s.SendMsg(wrapperspb.Bytes(nil)); err != nil {
		return nil, err
	}
	return s, s.CloseSend()
}

func httpGet(t *testing.T, url string) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(testCtx(t), http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	return res.StatusCode, string(b)
}

func grpcHealth(ctx context.Context, cc *grpc.ClientConn, service string) (healthpb.HealthCheckResponse_ServingStatus, error) {
	res, err := healthpb.NewHealthClient(cc).Check(ctx, &healthpb.HealthCheckRequest{Service: service})
	return res.GetStatus(), err
}

func listServices(ctx context.Context, cc *grpc.ClientConn) ([]string, error) {
	s, err := reflectionpb.NewServerReflectionClient(cc).ServerReflectionInfo(ctx)
	if err != nil {
		return nil, err
	}
	defer func() { _ = s.CloseSend() }()
	if err := s.Send(&reflectionpb.ServerReflectionRequest{
		MessageRequest: &reflectionpb.ServerReflectionRequest_ListServices{ListServices: "*"},
	}); err != nil {
		return nil, err
	}
	res, err := s.Recv()
	if err != nil {
		return nil, err
	}
	var names []string
	for _, svc := range res.GetListServicesResponse().GetService() {
		names = append(names, svc.GetName())
	}
	slices.Sort(names)
	return names, nil
}

// TestRun runs a whole process: gRPC, HTTP and admin listeners, a worker,
// OnStop hooks and metrics. Not parallel: telemetry.Setup sets globals.
func TestRun(t *testing.T) {
	tel, err := telemetry.Setup(t.Context(), "server-test", "v0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tel.Shutdown(context.Background()) })

	svc := newTestService()
	admin := listen(t)
	var stopDeadline bool
	r := start(t, server.Options{
		Admin:   admin,
		Metrics: tel.MetricsHandler,
		Auth:    auth.NewAuthenticator(auth.NewKeys(storetest.SQLite(t).DB), true, ""),
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.WriteString(w, "fallback "+r.Method+" "+r.URL.Path)
		}),
		ShutdownTimeout: 10 * time.Second,
		OnStop: []func(context.Context) error{
			func(ctx context.Context) error {
				_, stopDeadline = ctx.Deadline()
				svc.events.add("on stop 1")
				return nil
			},
			func(context.Context) error { svc.events.add("on stop 2"); return nil },
		},
	}, svc)
	ctx := testCtx(t)

	select {
	case <-svc.started:
	case <-ctx.Done():
		t.Fatal("the service's Start was never called")
	}

	// gRPC: the service itself, behind the authenticator.
	if got, err := call(ctx, r.cc, getMethod, nil); err != nil || got != "local/admin/local" {
		t.Errorf("Get = %q, %v; want the local admin", got, err)
	}
	for _, name := range []string{"", serviceName} {
		if st, err := grpcHealth(ctx, r.cc, name); err != nil || st != healthpb.HealthCheckResponse_SERVING {
			t.Errorf("grpc health %q = %v, %v; want SERVING", name, st, err)
		}
	}
	names, err := listServices(ctx, r.cc)
	if err != nil {
		t.Fatalf("reflection: %v", err)
	}
	for _, want := range []string{serviceName, "grpc.health.v1.Health", "grpc.reflection.v1.ServerReflection"} {
		if !slices.Contains(names, want) {
			t.Errorf("reflection lists %q, missing %q", names, want)
		}
	}

	// HTTP.
	base := "http://" + r.httpAddr
	for _, tt := range []struct {
		path     string
		wantCode int
		want     string
	}{
		{"/healthz", http.StatusOK, `{"status":"ok"}`},
		{"/readyz", http.StatusOK, `{"status":"ok"}`},
		{"/metrics", http.StatusOK, "go_goroutines"},
		{"/metrics", http.StatusOK, "rpc_server"}, // otelgrpc metrics of the Get above
		{"/v1/videos", http.StatusOK, "fallback GET /v1/videos"},
		{"/", http.StatusOK, "fallback GET /"},
	} {
		code, body := httpGet(t, base+tt.path)
		if code != tt.wantCode || !strings.Contains(body, tt.want) {
			t.Errorf("GET %s = %d %.200q; want %d containing %q", tt.path, code, body, tt.wantCode, tt.want)
		}
	}
	adminBase := "http://" + admin.Addr().String()
	for _, path := range []string{"/debug/pprof/", "/debug/pprof/cmdline", "/healthz"} {
		if code, body := httpGet(t, adminBase+path); code != http.StatusOK {
			t.Errorf("admin GET %s = %d %.200q; want 200", path, code, body)
		}
	}

	if err := r.stop(t); err != nil {
		t.Errorf("Run() after cancel = %v, want nil", err)
	}
	want := []string{"worker started", "worker stopped", "on stop 1", "on stop 2"}
	if diff := cmp.Diff(want, svc.events.get()); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
	if !stopDeadline {
		t.Error("OnStop context has no deadline; want the remaining shutdown time")
	}
	for _, addr := range []string{r.grpcAddr, r.httpAddr, admin.Addr().String()} {
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			_ = c.Close()
			t.Errorf("%s still accepts connections after Run returned", addr)
		}
	}
}

// TestSpans checks that otelgrpc records one server span per call, child of
// the client's span. Not parallel: it sets the global tracer provider.
func TestSpans(t *testing.T) {
	sr := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(sr))
	otel.SetTracerProvider(tp)
	otel.SetTextMapPropagator(propagation.TraceContext{})
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })

	r := start(t, server.Options{}, newTestService())
	cc := dial(t, r.grpcAddr, grpc.WithStatsHandler(otelgrpc.NewClientHandler()))
	ctx := testCtx(t)
	if _, err := call(ctx, cc, getMethod, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := call(ctx, cc, panicMethod, nil); status.Code(err) != codes.Internal {
		t.Fatalf("Panic: %v, want Internal", err)
	}

	// The server ends its span after the client has its answer: wait.
	spans := func(name string, kind trace.SpanKind) []sdktrace.ReadOnlySpan {
		var out []sdktrace.ReadOnlySpan
		for _, s := range sr.Ended() {
			if s.Name() == name && s.SpanKind() == kind {
				out = append(out, s)
			}
		}
		return out
	}
	deadline := time.Now().Add(10 * time.Second)
	for len(spans(serviceName+"/Panic", trace.SpanKindServer)) == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}

	for _, tt := range []struct {
		method string
		code   otelcodes.Code
	}{
		{"Get", otelcodes.Unset},
		{"Panic", otelcodes.Error},
	} {
		name := serviceName + "/" + tt.method
		srv, cli := spans(name, trace.SpanKindServer), spans(name, trace.SpanKindClient)
		if len(srv) != 1 || len(cli) != 1 {
			t.Errorf("%s: %d server and %d client spans, want one each", name, len(srv), len(cli))
			continue
		}
		if srv[0].Parent().SpanID() != cli[0].SpanContext().SpanID() ||
			srv[0].SpanContext().TraceID() != cli[0].SpanContext().TraceID() {
			t.Errorf("%s: server span is not the child of the client span", name)
		}
		if got := srv[0].Status().Code; got != tt.code {
			t.Errorf("%s: server span status %v, want %v", name, got, tt.code)
		}
	}
}

func TestPanicBecomesInternal(t *testing.T) {
	t.Parallel()
	r := start(t, server.Options{}, newTestService())
	ctx := testCtx(t)

	_, err := call(ctx, r.cc, panicMethod, nil)
	if status.Code(err) != codes.Internal || status.Convert(err).Message() != "internal error" {
		t.Errorf("unary panic: %v; want Internal \"internal error\"", err)
	}
	s, err := openStream(ctx, r.cc, pstreamMethod)
	if err == nil {
		err = s.RecvMsg(new(wrapperspb.StringValue))
	}
	if status.Code(err) != codes.Internal || status.Convert(err).Message() != "internal error" {
		t.Errorf("stream panic: %v; want Internal \"internal error\"", err)
	}
	// The process survives.
	if _, err := call(ctx, r.cc, getMethod, nil); err != nil {
		t.Errorf("Get after the panics: %v", err)
	}
}

func TestAuthRequired(t *testing.T) {
	t.Parallel()
	db := storetest.SQLite(t)
	keys := auth.NewKeys(db.DB)
	id, key, err := keys.Create(t.Context(), "acme", auth.RoleViewer, "")
	if err != nil {
		t.Fatal(err)
	}
	r := start(t, server.Options{Auth: auth.NewAuthenticator(keys, false, "")}, newTestService())
	ctx := testCtx(t)

	if _, err := call(ctx, r.cc, getMethod, nil); status.Code(err) != codes.Unauthenticated {
		t.Errorf("anonymous Get: %v; want Unauthenticated", err)
	}
	s, err := openStream(ctx, r.cc, blockMethod)
	if err == nil {
		err = s.RecvMsg(new(wrapperspb.StringValue))
	}
	if status.Code(err) != codes.Unauthenticated {
		t.Errorf("anonymous stream: %v; want Unauthenticated", err)
	}
	if st, err := grpcHealth(ctx, r.cc, ""); err != nil || st != healthpb.HealthCheckResponse_SERVING {
		t.Errorf("anonymous health = %v, %v; want SERVING", st, err)
	}
	if _, err := listServices(ctx, r.cc); err != nil {
		t.Errorf("anonymous reflection: %v", err)
	}
	kctx := metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+key)
	if got, err := call(kctx, r.cc, getMethod, nil); err != nil || got != "acme/viewer/"+id {
		t.Errorf("Get with a key = %q, %v", got, err)
	}
}

func TestReadierFailing(t *testing.T) {
	t.Parallel()
	svc := newTestService()
	svc.ready = errors.New("model still loading")
	r := start(t, server.Options{}, svc)
	ctx := testCtx(t)

	code, body := httpGet(t, "http://"+r.httpAddr+"/readyz")
	var got map[string]any
	if err := json.Unmarshal([]byte(body), &got); err != nil {
		t.Fatalf("/readyz body %q: %v", body, err)
	}
	want := map[string]any{
		"status":  "unavailable",
		"failing": []any{"test"},
		"checks":  map[string]any{"test": "model still loading"},
	}
	if code != http.StatusServiceUnavailable {
		t.Errorf("/readyz = %d, want 503", code)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("/readyz (-want +got):\n%s", diff)
	}
	// The whole server's gRPC health follows the checks.
	deadline := time.Now().Add(10 * time.Second)
	for {
		st, err := grpcHealth(ctx, r.cc, "")
		if err == nil && st == healthpb.HealthCheckResponse_NOT_SERVING {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("grpc health = %v, %v; want NOT_SERVING", st, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if code, _ := httpGet(t, "http://"+r.httpAddr+"/healthz"); code != http.StatusOK {
		t.Errorf("/healthz = %d, want 200 (alive while not ready)", code)
	}
}

func TestPlainService(t *testing.T) {
	t.Parallel()
	svc := newTestService()
	svc.ready = errors.New("never asked")
	r := start(t, server.Options{}, plainService{svc})
	ctx := testCtx(t)
	if code, body := httpGet(t, "http://"+r.httpAddr+"/readyz"); code != http.StatusOK {
		t.Errorf("/readyz = %d %s; want 200 for a service that is no Readier", code, body)
	}
	if _, err := call(ctx, r.cc, getMethod, nil); err != nil {
		t.Errorf("Get: %v", err)
	}
	if code, _ := httpGet(t, "http://"+r.httpAddr+"/metrics"); code != http.StatusNotFound {
		t.Errorf("/metrics without a Metrics handler = %d, want 404", code)
	}
	if err := r.stop(t); err != nil {
		t.Errorf("Run() = %v, want nil", err)
	}
	if got := svc.events.get(); len(got) != 0 {
		t.Errorf("events = %q; want none for a service that is no Starter", got)
	}
}

func TestShutdownTimeoutStopsHangingCalls(t *testing.T) {
	t.Parallel()
	svc := newTestService()
	stopped := make(chan struct{})
	r := start(t, server.Options{
		ShutdownTimeout: 200 * time.Millisecond,
		OnStop:          []func(context.Context) error{func(context.Context) error { close(stopped); return nil }},
	}, svc)
	ctx := testCtx(t)
	s, err := openStream(ctx, r.cc, blockMethod)
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-svc.blocked:
	case <-ctx.Done():
		t.Fatal("the Block handler never ran")
	}
	if err := r.stop(t); err != nil {
		t.Errorf("Run() = %v, want nil", err)
	}
	select {
	case <-stopped:
	default:
		t.Error("OnStop did not run after a forced stop")
	}
	if err := s.RecvMsg(new(wrapperspb.StringValue)); err == nil || errors.Is(err, io.EOF) {
		t.Errorf("hanging stream after the forced stop: %v; want an error", err)
	}
}

func TestOnStopErrors(t *testing.T) {
	t.Parallel()
	errFlush := errors.New("flush failed")
	ran := 0
	r := start(t, server.Options{OnStop: []func(context.Context) error{
		func(context.Context) error { ran++; return errFlush },
		func(context.Context) error { ran++; return nil },
	}}, newTestService())
	err := r.stop(t)
	if !errors.Is(err, errFlush) {
		t.Errorf("Run() = %v, want %v", err, errFlush)
	}
	if ran != 2 {
		t.Errorf("%d OnStop functions ran, want 2 (an error does not stop the rest)", ran)
	}
}

func TestServeError(t *testing.T) {
	t.Parallel()
	ln := listen(t)
	_ = ln.Close()
	ran := false
	r := start(t, server.Options{
		GRPC:   ln,
		OnStop: []func(context.Context) error{func(context.Context) error { ran = true; return nil }},
	}, newTestService())
	select {
	case err := <-r.done:
		r.done <- err // for the cleanup's stop
		if err == nil || !strings.Contains(err.Error(), "grpc serve") {
			t.Errorf("Run() on a closed listener = %v; want a grpc serve error", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not return after its gRPC listener failed")
	}
	if !ran {
		t.Error("OnStop did not run after a serve error")
	}
}

func TestMaxRecvBytes(t *testing.T) {
	t.Parallel()
	r := start(t, server.Options{MaxRecvBytes: 1024}, newTestService())
	ctx := testCtx(t)
	if _, err := call(ctx, r.cc, sizeMethod, make([]byte, 900)); err != nil {
		t.Errorf("900-byte request: %v", err)
	}
	if _, err := call(ctx, r.cc, sizeMethod, make([]byte, 2048)); status.Code(err) != codes.ResourceExhausted {
		t.Errorf("2048-byte request over a 1024-byte limit: %v; want ResourceExhausted", err)
	}

	// The default accepts far more than grpc-go's own 4 MiB.
	r = start(t, server.Options{}, newTestService())
	if _, err := call(ctx, r.cc, sizeMethod, make([]byte, 6<<20)); err != nil {
		t.Errorf("6 MiB request with the default limit: %v", err)
	}
}

// TestNewGRPCServerWithoutLogger: the zero Options are usable, and a panic
// still becomes Internal rather than crashing the process while logging it.
func TestNewGRPCServerWithoutLogger(t *testing.T) {
	t.Parallel()
	gs := server.NewGRPCServer(server.Options{})
	newTestService().Register(gs)
	ln := listen(t)
	go func() { _ = gs.Serve(ln) }()
	t.Cleanup(gs.Stop)
	cc := dial(t, ln.Addr().String())
	ctx := testCtx(t)
	if _, err := call(ctx, cc, panicMethod, nil); status.Code(err) != codes.Internal {
		t.Errorf("unary panic: %v; want Internal", err)
	}
	s, err := openStream(ctx, cc, pstreamMethod)
	if err == nil {
		err = s.RecvMsg(new(wrapperspb.StringValue))
	}
	if status.Code(err) != codes.Internal {
		t.Errorf("stream panic: %v; want Internal", err)
	}
	if got, err := call(ctx, cc, getMethod, nil); err != nil || got != "-" {
		t.Errorf("Get without Auth = %q, %v; want no principal", got, err)
	}
}

// TestRunMinimalOptions: only the listeners are required.
func TestRunMinimalOptions(t *testing.T) {
	t.Parallel()
	grpcLn, httpLn := listen(t), listen(t)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		done <- server.Run(ctx, server.Options{GRPC: grpcLn, HTTP: httpLn}, newTestService())
	}()
	cc := dial(t, grpcLn.Addr().String())
	if _, err := call(testCtx(t), cc, getMethod, nil); err != nil {
		t.Errorf("Get: %v", err)
	}
	if code, _ := httpGet(t, "http://"+httpLn.Addr().String()+"/readyz"); code != http.StatusOK {
		t.Errorf("/readyz = %d, want 200", code)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run() = %v, want nil", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
}

// failingWorker is a service whose background work fails at once.
type failingWorker struct{ plainService }

func (failingWorker) Start(context.Context) error { return errors.New("queue gone") }

func TestFailingWorkerStopsTheProcess(t *testing.T) {
	t.Parallel()
	r := start(t, server.Options{}, failingWorker{plainService{newTestService()}})
	select {
	case err := <-r.done:
		close(r.done)
		if err == nil || !strings.Contains(err.Error(), "queue gone") {
			t.Fatalf("Run returned %v, want the worker's error", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Run kept serving after its worker failed")
	}
}
