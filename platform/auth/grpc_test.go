package auth_test

import (
	"context"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	grpchealth "google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/reflection"
	reflectionpb "google.golang.org/grpc/reflection/grpc_reflection_v1"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/clipmesh/clipmesh/platform/auth"
	"github.com/clipmesh/clipmesh/platform/store/storetest"
)

// defaultTimeout bounds one test's RPCs.
const defaultTimeout = 30 * time.Second

const meshToken = "mesh-secret"

// Methods of the hand-written test service, so these tests need no
// generated code: both answer with the caller's principal.
const (
	whoMethod   = "/clipmesh.test.v1.Whoami/Get"
	watchMethod = "/clipmesh.test.v1.Whoami/Watch"
)

// whoami answers "tenant/role/subject" for the principal of the call, or
// "-" without one. With next set it asks next instead, as a service of the
// mesh calls the next one with the caller's context.
type whoami struct{ next *grpc.ClientConn }

var whoamiDesc = grpc.ServiceDesc{
	ServiceName: "clipmesh.test.v1.Whoami",
	HandlerType: (*any)(nil),
	Methods: []grpc.MethodDesc{{
		MethodName: "Get",
		Handler: func(srv any, ctx context.Context, dec func(any) error, ic grpc.UnaryServerInterceptor) (any, error) {
			in := new(emptypb.Empty)
			if err := dec(in); err != nil {
				return nil, err
			}
			h := func(ctx context.Context, _ any) (any, error) { return srv.(*whoami).get(ctx) }
			if ic == nil {
				return h(ctx, in)
			}
			return ic(ctx, in, &grpc.UnaryServerInfo{Server: srv, FullMethod: whoMethod}, h)
		},
	}},
	Streams: []grpc.StreamDesc{{
		StreamName:    "Watch",
		ServerStreams: true,
		Handler: func(srv any, ss grpc.ServerStream) error {
			if err := ss.RecvMsg(new(emptypb.Empty)); err != nil {
				return err
			}
			w := srv.(*whoami)
			ans := describe(ss.Context())
			if w.next != nil {
				var err error
				if ans, err = callWatch(ss.Context(), w.next); err != nil {
					return err
				}
			}
			return ss.SendMsg(wrapperspb.String(ans))
		},
	}},
}

func (w *whoami) get(ctx context.Context) (*wrapperspb.StringValue, error) {
	if w.next != nil {
		ans, err := callWho(ctx, w.next)
		if err != nil {
			return nil, err
		}
		return wrapperspb.String(ans), nil
	}
	return wrapperspb.String(describe(ctx)), nil
}

func describe(ctx context.Context) string {
	p, ok := auth.FromContext(ctx)
	if !ok {
		return "-"
	}
	return p.Tenant + "/" + string(p.Role) + "/" + p.Subject
}

func callWho(ctx context.Context, cc grpc.ClientConnInterface) (string, error) {
	out := new(wrapperspb.StringValue)
	if err := cc.Invoke(ctx, whoMethod, &emptypb.Empty{}, out); err != nil {
		return "", err
	}
	return out.GetValue(), nil
}

func callWatch(ctx context.Context, cc grpc.ClientConnInterface) (string, error) {
	s, err := cc.NewStream(ctx, &grpc.StreamDesc{StreamName: "Watch", ServerStreams: true}, watchMethod)
	if err != nil {
		return "", err
	}
	if err := s.SendMsg(&emptypb.Empty{}); err != nil {
		return "", err
	}
	if err := s.CloseSend(); err != nil {
		return "", err
	}
	out := new(wrapperspb.StringValue)
	if err := s.RecvMsg(out); err != nil {
		return "", err
	}
	return out.GetValue(), nil
}

// callHealth asks grpc.health.v1 for the whole server's status.
func callHealth(ctx context.Context, cc grpc.ClientConnInterface) (string, error) {
	res, err := healthpb.NewHealthClient(cc).Check(ctx, &healthpb.HealthCheckRequest{})
	if err != nil {
		return "", err
	}
	return res.GetStatus().String(), nil
}

// callReflection lists the services over server reflection (a stream).
func callReflection(ctx context.Context, cc grpc.ClientConnInterface) (string, error) {
	s, err := reflectionpb.NewServerReflectionClient(cc).ServerReflectionInfo(ctx)
	if err != nil {
		return "", err
	}
	if err := s.Send(&reflectionpb.ServerReflectionRequest{
		MessageRequest: &reflectionpb.ServerReflectionRequest_ListServices{},
	}); err != nil {
		return "", err
	}
	res, err := s.Recv()
	if err != nil {
		return "", err
	}
	_ = s.CloseSend()
	var names []string
	for _, svc := range res.GetListServicesResponse().GetService() {
		names = append(names, svc.GetName())
	}
	slices.Sort(names)
	return strings.Join(names, ","), nil
}

// serve starts an in-memory gRPC server authenticating with a, hosting
// whoami w, grpc health and reflection, and returns a client of it.
func serve(t *testing.T, a *auth.Authenticator, w *whoami, dial ...grpc.DialOption) *grpc.ClientConn {
	t.Helper()
	lis := bufconn.Listen(1 << 20)
	s := grpc.NewServer(
		grpc.ChainUnaryInterceptor(a.UnaryInterceptor),
		grpc.ChainStreamInterceptor(a.StreamInterceptor),
	)
	s.RegisterService(&whoamiDesc, w)
	healthpb.RegisterHealthServer(s, grpchealth.NewServer())
	reflection.Register(s)
	go func() { _ = s.Serve(lis) }()
	t.Cleanup(s.Stop)
	return dialBuf(t, lis, dial...)
}

func dialBuf(t *testing.T, lis *bufconn.Listener, extra ...grpc.DialOption) *grpc.ClientConn {
	t.Helper()
	opts := append([]grpc.DialOption{
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
	}, extra...)
	cc, err := grpc.NewClient("passthrough:///bufnet", opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cc.Close() })
	return cc
}

func TestAuthenticatorOverGRPC(t *testing.T) {
	t.Parallel()
	db := storetest.SQLite(t)
	keys := auth.NewKeys(db.DB)
	ctx := ctxWithTimeout(t)
	acmeID, acmeKey, err := keys.Create(ctx, "acme", auth.RoleEditor, "acme editor")
	if err != nil {
		t.Fatal(err)
	}
	revokedID, revokedKey, err := keys.Create(ctx, "acme", auth.RoleAdmin, "old")
	if err != nil {
		t.Fatal(err)
	}
	if err := keys.Revoke(ctx, revokedID); err != nil {
		t.Fatal(err)
	}
	acme := "acme/editor/" + acmeID
	local := "local/admin/local"

	servers := map[string]*grpc.ClientConn{
		// Loopback-only: keyless callers are the local admin.
		"open": serve(t, auth.NewAuthenticator(keys, true, meshToken), &whoami{}),
		// Beyond loopback: every call needs a key or the mesh token.
		"closed": serve(t, auth.NewAuthenticator(keys, false, meshToken), &whoami{}),
		// No mesh token configured: mesh metadata is never believed.
		"nomesh": serve(t, auth.NewAuthenticator(keys, true, ""), &whoami{}),
	}
	calls := map[string]func(context.Context, grpc.ClientConnInterface) (string, error){
		"who": callWho, "watch": callWatch, "health": callHealth, "reflection": callReflection,
	}
	const allServices = "clipmesh.test.v1.Whoami,grpc.health.v1.Health,grpc.reflection.v1.ServerReflection,grpc.reflection.v1alpha.ServerReflection"

	for _, tt := range []struct {
		name   string
		server string
		call   string
		md     []string
		want   string
		code   codes.Code
	}{
		{name: "anonymous allowed", server: "open", call: "who", want: local},
		{name: "anonymous allowed stream", server: "open", call: "watch", want: local},
		{name: "anonymous refused", server: "closed", call: "who", code: codes.Unauthenticated},
		{name: "anonymous refused stream", server: "closed", call: "watch", code: codes.Unauthenticated},
		{name: "bearer key", server: "closed", call: "who", md: []string{"authorization", "Bearer " + acmeKey}, want: acme},
		{name: "bearer key stream", server: "closed", call: "watch", md: []string{"authorization", "Bearer " + acmeKey}, want: acme},
		{name: "bearer scheme in any case", server: "closed", call: "who", md: []string{"authorization", "bearer " + acmeKey}, want: acme},
		{name: "key wins over anonymous", server: "open", call: "who", md: []string{"authorization", "Bearer " + acmeKey}, want: acme},
		{name: "no scheme", server: "open", call: "who", md: []string{"authorization", acmeKey}, code: codes.Unauthenticated},
		{name: "basic scheme", server: "open", call: "who", md: []string{"authorization", "Basic " + acmeKey}, code: codes.Unauthenticated},
		{name: "bearer without key", server: "open", call: "who", md: []string{"authorization", "Bearer "}, code: codes.Unauthenticated},
		{name: "bearer with blank key", server: "open", call: "who", md: []string{"authorization", "Bearer    "}, code: codes.Unauthenticated},
		{name: "unknown key", server: "open", call: "who", md: []string{"authorization", "Bearer cm_nope"}, code: codes.Unauthenticated},
		{name: "revoked key", server: "closed", call: "who", md: []string{"authorization", "Bearer " + revokedKey}, code: codes.Unauthenticated},
		{name: "revoked key stream", server: "closed", call: "watch", md: []string{"authorization", "Bearer " + revokedKey}, code: codes.Unauthenticated},
		{name: "health is exempt", server: "closed", call: "health", want: "SERVING"},
		{name: "health is exempt with a bad key", server: "closed", call: "health", md: []string{"authorization", "Bearer cm_nope"}, want: "SERVING"},
		{name: "reflection is exempt", server: "closed", call: "reflection", want: allServices},
		{
			name: "mesh token", server: "closed", call: "who",
			md:   []string{"x-clipmesh-mesh-token", meshToken, "x-clipmesh-tenant", "globex", "x-clipmesh-role", "viewer", "x-clipmesh-subject", "key_abc"},
			want: "globex/viewer/key_abc",
		},
		{
			name: "mesh token stream", server: "closed", call: "watch",
			md:   []string{"x-clipmesh-mesh-token", meshToken, "x-clipmesh-tenant", "globex", "x-clipmesh-role", "viewer", "x-clipmesh-subject", "key_abc"},
			want: "globex/viewer/key_abc",
		},
		{
			name: "mesh token wins over a key", server: "closed", call: "who",
			md:   []string{"x-clipmesh-mesh-token", meshToken, "x-clipmesh-tenant", "globex", "x-clipmesh-role", "viewer", "x-clipmesh-subject", "s", "authorization", "Bearer " + acmeKey},
			want: "globex/viewer/s",
		},
		{
			name: "wrong mesh token", server: "open", call: "who",
			md:   []string{"x-clipmesh-mesh-token", "guess", "x-clipmesh-tenant", "globex", "x-clipmesh-role", "admin"},
			code: codes.Unauthenticated,
		},
		{
			name: "wrong mesh token with a valid key", server: "closed", call: "who",
			md:   []string{"x-clipmesh-mesh-token", "guess", "x-clipmesh-tenant", "globex", "authorization", "Bearer " + acmeKey},
			code: codes.Unauthenticated,
		},
		{
			name: "mesh token without tenant", server: "closed", call: "who",
			md:   []string{"x-clipmesh-mesh-token", meshToken, "x-clipmesh-role", "admin"},
			code: codes.Unauthenticated,
		},
		{
			name: "tenant claimed without token, anonymous", server: "open", call: "who",
			md:   []string{"x-clipmesh-tenant", "globex", "x-clipmesh-role", "admin", "x-clipmesh-subject", "evil"},
			want: local,
		},
		{
			name: "tenant claimed without token, refused", server: "closed", call: "who",
			md:   []string{"x-clipmesh-tenant", "globex", "x-clipmesh-role", "admin"},
			code: codes.Unauthenticated,
		},
		{
			name: "tenant claimed without token, with a key", server: "closed", call: "who",
			md:   []string{"x-clipmesh-tenant", "globex", "x-clipmesh-role", "admin", "authorization", "Bearer " + acmeKey},
			want: acme,
		},
		{
			name: "tenant claimed with an empty token", server: "closed", call: "who",
			md:   []string{"x-clipmesh-mesh-token", "", "x-clipmesh-tenant", "globex", "x-clipmesh-role", "admin"},
			code: codes.Unauthenticated,
		},
		{
			name: "mesh metadata ignored without a configured token", server: "nomesh", call: "who",
			md:   []string{"x-clipmesh-mesh-token", "", "x-clipmesh-tenant", "globex", "x-clipmesh-role", "admin"},
			want: local,
		},
		{
			name: "any token ignored without a configured token", server: "nomesh", call: "who",
			md:   []string{"x-clipmesh-mesh-token", "whatever", "x-clipmesh-tenant", "globex", "authorization", "Bearer " + acmeKey},
			want: acme,
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := metadata.NewOutgoingContext(ctx, metadata.Pairs(tt.md...))
			got, err := calls[tt.call](ctx, servers[tt.server])
			if code := status.Code(err); code != tt.code {
				t.Fatalf("%s on %s: code %v (%v), want %v", tt.call, tt.server, code, err, tt.code)
			}
			if got != tt.want {
				t.Errorf("%s on %s = %q, want %q", tt.call, tt.server, got, tt.want)
			}
		})
	}
}

func TestAuthenticatorDatabaseDown(t *testing.T) {
	t.Parallel()
	db := storetest.SQLite(t)
	keys := auth.NewKeys(db.DB)
	_, key, err := keys.Create(t.Context(), "acme", auth.RoleAdmin, "")
	if err != nil {
		t.Fatal(err)
	}
	cc := serve(t, auth.NewAuthenticator(keys, false, meshToken), &whoami{})
	_ = db.Close()
	ctx := metadata.AppendToOutgoingContext(ctxWithTimeout(t), "authorization", "Bearer "+key)
	if _, err := callWho(ctx, cc); status.Code(err) != codes.Unavailable {
		t.Errorf("call with the key store down: %v; want Unavailable", err)
	}
	if got, err := callHealth(ctx, cc); err != nil || got != "SERVING" {
		t.Errorf("health with the key store down = %q, %v; want SERVING", got, err)
	}
}

func TestOutgoing(t *testing.T) {
	t.Parallel()
	p := auth.Principal{Tenant: "acme", Subject: "key_1", Role: auth.RoleViewer}
	for _, tt := range []struct {
		name  string
		ctx   context.Context
		token string
		want  metadata.MD
	}{
		{"no principal", t.Context(), meshToken, nil},
		{"no token", auth.WithPrincipal(t.Context(), p), "", nil},
		{"principal and token", auth.WithPrincipal(t.Context(), p), meshToken, metadata.Pairs(
			"x-clipmesh-mesh-token", meshToken, "x-clipmesh-tenant", "acme",
			"x-clipmesh-role", "viewer", "x-clipmesh-subject", "key_1")},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, _ := metadata.FromOutgoingContext(auth.Outgoing(tt.ctx, tt.token))
			if len(got) != len(tt.want) {
				t.Fatalf("outgoing metadata = %v, want %v", got, tt.want)
			}
			for k, v := range tt.want {
				if !slices.Equal(got[k], v) {
					t.Errorf("outgoing %s = %q, want %q", k, got[k], v)
				}
			}
		})
	}
}

// TestClientInterceptorsChain runs client → A → B: A calls B with the
// context of the call it is serving, and B must see the original caller.
func TestClientInterceptorsChain(t *testing.T) {
	t.Parallel()
	db := storetest.SQLite(t)
	keys := auth.NewKeys(db.DB)
	id, key, err := keys.Create(t.Context(), "acme", auth.RoleEditor, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name      string
		aAnon     bool
		aToken    string // the token A's client interceptors send to B
		withKey   bool
		want      string
		wantCode  codes.Code
		streaming bool
	}{
		{name: "key holder", aToken: meshToken, withKey: true, want: "acme/editor/" + id},
		{name: "key holder streaming", aToken: meshToken, withKey: true, want: "acme/editor/" + id, streaming: true},
		{name: "local admin", aAnon: true, aToken: meshToken, want: "local/admin/local"},
		{name: "wrong token", aToken: "guess", withKey: true, wantCode: codes.Unauthenticated},
		{name: "wrong token streaming", aToken: "guess", withKey: true, wantCode: codes.Unauthenticated, streaming: true},
		{name: "no token", aToken: "", withKey: true, wantCode: codes.Unauthenticated},
		{name: "caller refused by A", aToken: meshToken, wantCode: codes.Unauthenticated},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			// B is reachable beyond loopback: it needs a key or the mesh
			// token. A reaches it through the client interceptors.
			toB := serve(t, auth.NewAuthenticator(keys, false, meshToken), &whoami{}, auth.ClientInterceptors(tt.aToken)...)
			a := serve(t, auth.NewAuthenticator(keys, tt.aAnon, meshToken), &whoami{next: toB})
			ctx := ctxWithTimeout(t)
			if tt.withKey {
				ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+key)
			}
			call := callWho
			if tt.streaming {
				call = callWatch
			}
			got, err := call(ctx, a)
			if code := status.Code(err); code != tt.wantCode {
				t.Fatalf("client → A → B: code %v (%v), want %v", code, err, tt.wantCode)
			}
			if got != tt.want {
				t.Errorf("B saw %q, want %q", got, tt.want)
			}
		})
	}
}
