package auth

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// Metadata keys that carry a principal between services of the mesh; they
// are believed only with the mesh token, so a client cannot claim a tenant.
const (
	mdTenant    = "x-clipmesh-tenant"
	mdRole      = "x-clipmesh-role"
	mdSubject   = "x-clipmesh-subject"
	mdMeshToken = "x-clipmesh-mesh-token"
)

// Authenticator turns request metadata into a Principal.
type Authenticator struct {
	keys *Keys
	// allowAnonymous lets a keyless caller in as the local admin.
	allowAnonymous bool
	meshToken      string
}

// NewAuthenticator returns an Authenticator. allowAnonymous should be true
// only when every listener is on loopback (see AllLoopback). meshToken, when
// non-empty, is the secret services share to pass principals along.
func NewAuthenticator(keys *Keys, allowAnonymous bool, meshToken string) *Authenticator {
	return &Authenticator{keys: keys, allowAnonymous: allowAnonymous, meshToken: meshToken}
}

// AllowsAnonymous reports whether keyless callers are the local admin.
func (a *Authenticator) AllowsAnonymous() bool { return a.allowAnonymous }

// CheckStartup refuses a configuration where the mesh listens beyond
// loopback without any API key to protect it.
func CheckStartup(ctx context.Context, keys *Keys, addrs ...string) (allowAnonymous bool, err error) {
	if AllLoopback(addrs...) {
		return true, nil
	}
	n, err := keys.Count(ctx)
	if err != nil {
		return false, err
	}
	if n == 0 {
		var bound []string
		for _, a := range addrs {
			if a != "" {
				bound = append(bound, a)
			}
		}
		addrs = bound
		return false, fmt.Errorf("auth: refusing to listen on %s without API keys: create one with `clipmesh keys create --tenant T --role admin`, or bind to 127.0.0.1", strings.Join(addrs, ", "))
	}
	return false, nil
}

// AllLoopback reports whether every address binds a loopback interface.
func AllLoopback(addrs ...string) bool {
	for _, a := range addrs {
		if a == "" {
			continue
		}
		host, _, err := net.SplitHostPort(a)
		if err != nil {
			return false
		}
		if host == "localhost" {
			continue
		}
		ip := net.ParseIP(host)
		if ip == nil || !ip.IsLoopback() {
			return false
		}
	}
	return true
}

// Authenticate returns the principal of an incoming call.
func (a *Authenticator) Authenticate(ctx context.Context) (Principal, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	if a.meshToken != "" {
		if tok := first(md, mdMeshToken); tok != "" {
			if !constantTimeEqual(tok, a.meshToken) {
				return Principal{}, status.Error(codes.Unauthenticated, "invalid mesh token")
			}
			p := Principal{Tenant: first(md, mdTenant), Role: Role(first(md, mdRole)), Subject: first(md, mdSubject)}
			if p.Tenant == "" {
				return Principal{}, status.Error(codes.Unauthenticated, "mesh call without a tenant")
			}
			return p, nil
		}
	}
	authz := first(md, "authorization")
	if authz == "" {
		if a.allowAnonymous {
			return Principal{Tenant: LocalTenant, Subject: "local", Role: RoleAdmin}, nil
		}
		return Principal{}, status.Error(codes.Unauthenticated, "missing API key: send \"Authorization: Bearer <key>\"")
	}
	scheme, key, ok := strings.Cut(authz, " ")
	if !ok || !strings.EqualFold(scheme, "bearer") || strings.TrimSpace(key) == "" {
		return Principal{}, status.Error(codes.Unauthenticated, "malformed authorization: want \"Bearer <key>\"")
	}
	p, err := a.keys.Lookup(ctx, strings.TrimSpace(key))
	if errors.Is(err, ErrUnknownKey) {
		return Principal{}, status.Error(codes.Unauthenticated, "unknown or revoked API key")
	}
	if err != nil {
		return Principal{}, status.Error(codes.Unavailable, "cannot check API key now")
	}
	return p, nil
}

// exempt are methods anyone may call: health and reflection.
func exempt(method string) bool {
	return strings.HasPrefix(method, "/grpc.health.v1.") || strings.HasPrefix(method, "/grpc.reflection.")
}

// UnaryInterceptor authenticates unary calls.
func (a *Authenticator) UnaryInterceptor(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
	if exempt(info.FullMethod) {
		return h(ctx, req)
	}
	p, err := a.Authenticate(ctx)
	if err != nil {
		return nil, err
	}
	return h(WithPrincipal(ctx, p), req)
}

// StreamInterceptor authenticates streaming calls.
func (a *Authenticator) StreamInterceptor(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) error {
	if exempt(info.FullMethod) {
		return h(srv, ss)
	}
	p, err := a.Authenticate(ss.Context())
	if err != nil {
		return err
	}
	return h(srv, &wrapped{ServerStream: ss, ctx: WithPrincipal(ss.Context(), p)})
}

type wrapped struct {
	grpc.ServerStream
	ctx context.Context
}

func (w *wrapped) Context() context.Context { return w.ctx }

// Outgoing returns ctx with the principal of ctx attached for the next
// service of the mesh, when a mesh token is configured.
func Outgoing(ctx context.Context, meshToken string) context.Context {
	p, ok := FromContext(ctx)
	if !ok || meshToken == "" {
		return ctx
	}
	return metadata.AppendToOutgoingContext(ctx, mdMeshToken, meshToken, mdTenant, p.Tenant, mdRole, string(p.Role), mdSubject, p.Subject)
}

// ClientInterceptors pass the principal along on every outgoing call.
func ClientInterceptors(meshToken string) []grpc.DialOption {
	return []grpc.DialOption{
		grpc.WithChainUnaryInterceptor(func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, inv grpc.UnaryInvoker, opts ...grpc.CallOption) error {
			return inv(Outgoing(ctx, meshToken), method, req, reply, cc, opts...)
		}),
		grpc.WithChainStreamInterceptor(func(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, s grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
			return s(Outgoing(ctx, meshToken), desc, cc, method, opts...)
		}),
	}
}

func first(md metadata.MD, k string) string {
	if v := md.Get(k); len(v) > 0 {
		return v[0]
	}
	return ""
}
