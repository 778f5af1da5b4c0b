package grpcx_test

import (
	"context"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/clipmesh/clipmesh/platform/auth"
	"github.com/clipmesh/clipmesh/platform/grpcx"
	"github.com/clipmesh/clipmesh/platform/store/storetest"
)

const (
	meshToken = "mesh-secret"
	// Methods of the hand-written test service.
	whoMethod = "/clipmesh.test.v1.Test/Who" // the caller's principal and trace id
	bigMethod = "/clipmesh.test.v1.Test/Big" // a reply of the requested size
)

type testServer struct{}

func method(name string, fn func(ctx context.Context, in *wrapperspb.Int64Value) string) grpc.MethodDesc {
	return grpc.MethodDesc{
		MethodName: name,
		Handler: func(srv any, ctx context.Context, dec func(any) error, ic grpc.UnaryServerInterceptor) (any, error) {
			in := new(wrapperspb.Int64Value)
			if err := dec(in); err != nil {
				return nil, err
			}
			h := func(ctx context.Context, req any) (any, error) {
				return wrapperspb.String(fn(ctx, req.(*wrapperspb.Int64Value))), nil
			}
			if ic == nil {
				return h(ctx, in)
			}
			return ic(ctx, in, &grpc.UnaryServerInfo{Server: srv, FullMethod: "/clipmesh.test.v1.Test/" + name}, h)
		},
	}
}

var testDesc = grpc.ServiceDesc{
	ServiceName: "clipmesh.test.v1.Test",
	HandlerType: (*any)(nil),
	Methods: []grpc.MethodDesc{
		method("Who", func(ctx context.Context, _ *wrapperspb.Int64Value) string {
			p, ok := auth.FromContext(ctx)
			if !ok {
				return "-"
			}
			return p.Tenant + "/" + string(p.Role) + "/" + p.Subject
		}),
		method("Big", func(_ context.Context, in *wrapperspb.Int64Value) string {
			return strings.Repeat("x", int(in.GetValue()))
		}),
	},
}

// startServer runs a TCP gRPC server that believes the mesh token and
// refuses anonymous callers, and returns its address.
func startServer(t *testing.T) string {
	t.Helper()
	a := auth.NewAuthenticator(auth.NewKeys(storetest.SQLite(t).DB), false, meshToken)
	gs := grpc.NewServer(grpc.ChainUnaryInterceptor(a.UnaryInterceptor))
	gs.RegisterService(&testDesc, testServer{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = gs.Serve(ln) }()
	t.Cleanup(gs.Stop)
	return ln.Addr().String()
}

func dial(t *testing.T, target, token string, extra ...grpc.DialOption) *grpc.ClientConn {
	t.Helper()
	cc, err := grpcx.Dial(target, token, extra...)
	if err != nil {
		t.Fatalf("Dial(%q): %v", target, err)
	}
	t.Cleanup(func() { _ = cc.Close() })
	return cc
}

func call(ctx context.Context, cc *grpc.ClientConn, method string, n int64) (string, error) {
	out := new(wrapperspb.StringValue)
	err := cc.Invoke(ctx, method, wrapperspb.Int64(n), out)
	return out.GetValue(), err
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestDialPassesThePrincipal(t *testing.T) {
	t.Parallel()
	addr := startServer(t)
	p := auth.Principal{Tenant: "acme", Role: auth.RoleEditor, Subject: "key_1"}
	for _, tt := range []struct {
		name      string
		token     string
		principal bool
		want      string
		code      codes.Code
	}{
		{name: "principal and token", token: meshToken, principal: true, want: "acme/editor/key_1"},
		{name: "no principal", token: meshToken, code: codes.Unauthenticated},
		{name: "no token", token: "", principal: true, code: codes.Unauthenticated},
		{name: "wrong token", token: "guess", principal: true, code: codes.Unauthenticated},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cc := dial(t, addr, tt.token)
			if got := cc.Target(); got != addr {
				t.Errorf("Target() = %q, want %q", got, addr)
			}
			ctx := testCtx(t)
			if tt.principal {
				ctx = auth.WithPrincipal(ctx, p)
			}
			got, err := call(ctx, cc, whoMethod, 0)
			if status.Code(err) != tt.code || got != tt.want {
				t.Errorf("Who = %q, %v; want %q, %v", got, err, tt.want, tt.code)
			}
		})
	}
}

func TestDialMessageLimit(t *testing.T) {
	t.Parallel()
	addr := startServer(t)
	ctx := auth.WithPrincipal(testCtx(t), auth.Principal{Tenant: "acme", Role: auth.RoleAdmin})
	// grpc-go refuses replies over 4 MiB by default; Dial allows 64 MiB.
	const size = 6 << 20
	got, err := call(ctx, dial(t, addr, meshToken), bigMethod, size)
	if err != nil || len(got) != size {
		t.Errorf("6 MiB reply: %d bytes, %v", len(got), err)
	}
	_, err = call(ctx, dial(t, addr, meshToken), bigMethod, 65<<20)
	if status.Code(err) != codes.ResourceExhausted {
		t.Errorf("65 MiB reply: %v; want ResourceExhausted", err)
	}
}

func TestDialExtraOptions(t *testing.T) {
	t.Parallel()
	addr := startServer(t)
	var calls atomic.Int32
	var sawMesh atomic.Bool
	count := grpc.WithChainUnaryInterceptor(func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, inv grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		calls.Add(1)
		md, _ := metadata.FromOutgoingContext(ctx)
		sawMesh.Store(len(md.Get("x-clipmesh-tenant")) > 0)
		return inv(ctx, method, req, reply, cc, opts...)
	})
	cc := dial(t, addr, meshToken, count)
	ctx := auth.WithPrincipal(testCtx(t), auth.Principal{Tenant: "acme", Role: auth.RoleAdmin})
	if _, err := call(ctx, cc, whoMethod, 0); err != nil {
		t.Fatal(err)
	}
	if calls.Load() != 1 {
		t.Errorf("the extra interceptor ran %d times, want 1", calls.Load())
	}
	if !sawMesh.Load() {
		t.Error("the extra interceptor ran before the principal was attached; want it after")
	}
}

func TestDialBadTarget(t *testing.T) {
	t.Parallel()
	cc, err := grpcx.Dial("%zz", meshToken)
	if err == nil {
		_ = cc.Close()
		t.Fatal("Dial(\"%zz\") = nil error")
	}
	if !strings.Contains(err.Error(), "grpcx: dial %zz") {
		t.Errorf("Dial error %q does not name the target", err)
	}
}

// TestDialTraces checks the client span and that the trace context reaches
// the server. Not parallel: it sets the global tracer provider.
func TestDialTraces(t *testing.T) {
	sr := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(sr))
	otel.SetTracerProvider(tp)
	otel.SetTextMapPropagator(propagation.TraceContext{})
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })

	var gotTraceparent atomic.Value
	gs := grpc.NewServer(grpc.UnaryInterceptor(func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
		md, _ := metadata.FromIncomingContext(ctx)
		gotTraceparent.Store(strings.Join(md.Get("traceparent"), ","))
		return h(auth.WithPrincipal(ctx, auth.Principal{Tenant: "t"}), req)
	}))
	gs.RegisterService(&testDesc, testServer{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = gs.Serve(ln) }()
	t.Cleanup(gs.Stop)

	ctx, parent := tp.Tracer("test").Start(testCtx(t), "caller")
	if _, err := call(ctx, dial(t, ln.Addr().String(), ""), whoMethod, 0); err != nil {
		t.Fatal(err)
	}
	parent.End()

	var client sdktrace.ReadOnlySpan
	for _, s := range sr.Ended() {
		if s.SpanKind() == trace.SpanKindClient && s.Name() == "clipmesh.test.v1.Test/Who" {
			client = s
		}
	}
	if client == nil {
		t.Fatalf("no client span for the call among %d spans", len(sr.Ended()))
	}
	if client.Parent().SpanID() != parent.SpanContext().SpanID() {
		t.Error("the client span is not the child of the caller's span")
	}
	tpHeader, _ := gotTraceparent.Load().(string)
	if !strings.Contains(tpHeader, client.SpanContext().TraceID().String()) ||
		!strings.Contains(tpHeader, client.SpanContext().SpanID().String()) {
		t.Errorf("server got traceparent %q; want the client span's ids", tpHeader)
	}
}
