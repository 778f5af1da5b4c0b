package app_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/clipmesh/clipmesh/platform/app"
	"github.com/clipmesh/clipmesh/platform/auth"
	"github.com/clipmesh/clipmesh/platform/store"
)

// whoami is a trivial server.Service: /clipmesh.test.v1.Whoami/Get answers
// "tenant/role/subject" for the caller, or "-".
type whoami struct{}

const whoMethod = "/clipmesh.test.v1.Whoami/Get"

func (whoami) Name() string { return "whoami" }

func (whoami) Register(s *grpc.Server) {
	s.RegisterService(&grpc.ServiceDesc{
		ServiceName: "clipmesh.test.v1.Whoami",
		HandlerType: (*any)(nil),
		Methods: []grpc.MethodDesc{{
			MethodName: "Get",
			Handler: func(srv any, ctx context.Context, dec func(any) error, ic grpc.UnaryServerInterceptor) (any, error) {
				in := new(emptypb.Empty)
				if err := dec(in); err != nil {
					return nil, err
				}
				h := func(ctx context.Context, _ any) (any, error) {
					p, ok := auth.FromContext(ctx)
					if !ok {
						return wrapperspb.String("-"), nil
					}
					return wrapperspb.String(p.Tenant + "/" + string(p.Role) + "/" + p.Subject), nil
				}
				if ic == nil {
					return h(ctx, in)
				}
				return ic(ctx, in, &grpc.UnaryServerInfo{Server: srv, FullMethod: whoMethod}, h)
			},
		}},
	}, whoami{})
}

func who(ctx context.Context, cc grpc.ClientConnInterface) (string, error) {
	out := new(wrapperspb.StringValue)
	err := cc.Invoke(ctx, whoMethod, &emptypb.Empty{}, out)
	return out.GetValue(), err
}

// testConfig is a complete configuration (kong's defaults do not apply
// here) for a process on loopback with port 0 everywhere.
func testConfig(t *testing.T) app.Config {
	return app.Config{
		DataDir:         t.TempDir(),
		GRPCAddr:        "127.0.0.1:0",
		HTTPAddr:        "127.0.0.1:0",
		AdminAddr:       "127.0.0.1:0",
		LogLevel:        "info",
		LogFormat:       "json",
		ShutdownTimeout: 10 * time.Second,
		MaxUploadBytes:  1 << 20,
	}
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func open(t *testing.T, cfg app.Config) *app.Env {
	t.Helper()
	env, err := app.Open(testCtx(t), "test", cfg)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return env
}

// serve runs env.Serve with whoami and handler until the returned stop
// (also called at cleanup), which returns what Serve returned.
func serve(t *testing.T, env *app.Env, handler http.Handler) (stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- env.Serve(ctx, handler, whoami{}) }()
	var err error
	stopped := false
	stop = func() error {
		if stopped {
			return err
		}
		stopped = true
		cancel()
		select {
		case err = <-done:
		case <-time.After(30 * time.Second):
			t.Fatal("Serve did not return within 30s of its context's end")
		}
		return err
	}
	t.Cleanup(func() { _ = stop() })
	return stop
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
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

func TestOpenAndServe(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t)
	env := open(t, cfg)
	ctx := testCtx(t)

	if env.Name != "test" || env.Logger == nil || env.Telemetry == nil || env.DB == nil ||
		env.Blob == nil || env.NATS == nil || env.Keys == nil || env.Auth == nil || env.Health == nil {
		t.Fatalf("Open left a field unset: %+v", env)
	}
	if !env.Auth.AllowsAnonymous() {
		t.Error("a loopback process does not let the local user in")
	}
	if len(env.Config.MeshToken) < 32 {
		t.Errorf("Config.MeshToken = %q; want a generated token", env.Config.MeshToken)
	}
	if env.DB.Dialect != store.SQLite {
		t.Errorf("DB dialect = %q, want sqlite by default", env.DB.Dialect)
	}
	if _, err := env.Keys.Count(ctx); err != nil {
		t.Errorf("Keys.Count on the migrated DB: %v", err)
	}
	if err := env.Blob.WriteAll(ctx, "probe.txt", []byte("x"), nil); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"clipmesh.db", filepath.Join("blobs", "probe.txt"), "nats"} {
		if _, err := os.Stat(filepath.Join(cfg.DataDir, p)); err != nil {
			t.Errorf("data dir lacks %s: %v", p, err)
		}
	}
	for _, addr := range []string{env.GRPCAddr(), env.HTTPAddr()} {
		if !strings.HasPrefix(addr, "127.0.0.1:") || strings.HasSuffix(addr, ":0") {
			t.Errorf("bound address %q; want 127.0.0.1 and a real port", addr)
		}
	}

	stop := serve(t, env, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "gateway "+r.URL.Path)
	}))

	cc, err := env.SelfConn()
	if err != nil {
		t.Fatal(err)
	}
	if got, err := who(ctx, cc); err != nil || got != "local/admin/local" {
		t.Errorf("Get through SelfConn = %q, %v; want the local admin", got, err)
	}
	res, err := healthpb.NewHealthClient(cc).Check(ctx, &healthpb.HealthCheckRequest{})
	if err != nil || res.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Errorf("grpc health = %v, %v; want SERVING", res.GetStatus(), err)
	}
	base := "http://" + env.HTTPAddr()
	for _, tt := range []struct {
		path string
		want string
	}{
		{"/healthz", `"ok"`},
		{"/readyz", `"ok"`}, // database and nats checks pass
		{"/metrics", "go_goroutines"},
		{"/v1/videos", "gateway /v1/videos"},
	} {
		if code, body := httpGet(t, base+tt.path); code != http.StatusOK || !strings.Contains(body, tt.want) {
			t.Errorf("GET %s = %d %.200q; want 200 containing %q", tt.path, code, body, tt.want)
		}
	}

	if err := stop(); err != nil {
		t.Errorf("Serve() after cancel = %v, want nil", err)
	}
	// Serve closed the infrastructure.
	if err := env.DB.PingContext(ctx); err == nil {
		t.Error("the database is still open after Serve returned")
	}
	if err := env.NATS.Ready(ctx); err == nil {
		t.Error("NATS is still connected after Serve returned")
	}
	for _, addr := range []string{env.GRPCAddr(), env.HTTPAddr()} {
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			_ = c.Close()
			t.Errorf("%s still accepts connections after Serve returned", addr)
		}
	}
}

// TestConn runs two processes of a mesh sharing a mesh token. Not parallel:
// it sets CLIPMESH_VISION_ADDR.
func TestConn(t *testing.T) {
	const token = "shared-mesh-token"
	bCfg := testConfig(t)
	bCfg.MeshToken = token
	b := open(t, bCfg)
	serve(t, b, nil)

	const unreachable = "127.0.0.1:1"
	t.Setenv("CLIPMESH_VISION_ADDR", b.GRPCAddr())
	aCfg := testConfig(t)
	aCfg.MeshToken = token
	aCfg.MeshAddr = unreachable
	a := open(t, aCfg)
	serve(t, a, nil)
	ctx := testCtx(t)

	vision, err := a.Conn("vision")
	if err != nil {
		t.Fatal(err)
	}
	if got := vision.Target(); got != b.GRPCAddr() {
		t.Errorf("Conn(vision).Target() = %q, want CLIPMESH_VISION_ADDR %q", got, b.GRPCAddr())
	}
	if again, err := a.Conn("vision"); err != nil || again != vision {
		t.Errorf("second Conn(vision) = %p, %v; want the same connection %p", again, err, vision)
	}
	// The caller's identity travels to the other process.
	pctx := auth.WithPrincipal(ctx, auth.Principal{Tenant: "acme", Role: auth.RoleEditor, Subject: "key_1"})
	if got, err := who(pctx, vision); err != nil || got != "acme/editor/key_1" {
		t.Errorf("Get on the vision process = %q, %v; want the caller's principal", got, err)
	}

	// Without an override, the mesh address.
	audio, err := a.Conn("audio")
	if err != nil {
		t.Fatal(err)
	}
	if got := audio.Target(); got != unreachable {
		t.Errorf("Conn(audio).Target() = %q, want the mesh address %q", got, unreachable)
	}

	// Without a mesh address, this process.
	self, err := b.Conn("jobs")
	if err != nil {
		t.Fatal(err)
	}
	if got := self.Target(); got != b.GRPCAddr() {
		t.Errorf("Conn(jobs).Target() without a mesh address = %q, want this process %q", got, b.GRPCAddr())
	}
	if s2, err := b.SelfConn(); err != nil || s2 != self {
		t.Errorf("SelfConn() = %p, %v; want the connection Conn(jobs) returned, %p", s2, err, self)
	}
	if got, err := who(ctx, self); err != nil || got != "local/admin/local" {
		t.Errorf("Get on itself = %q, %v", got, err)
	}
}

func TestOpenRefusesPublicWithoutKeys(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t)
	cfg.GRPCAddr = "0.0.0.0:0"
	env, err := app.Open(testCtx(t), "test", cfg)
	if err == nil {
		serve(t, env, nil) // closes it
		t.Fatal("Open on 0.0.0.0 without API keys = nil error")
	}
	if !strings.Contains(err.Error(), "clipmesh keys create") || !strings.Contains(err.Error(), "0.0.0.0:0") {
		t.Errorf("Open error %q; want it to name the address and `clipmesh keys create`", err)
	}
	if env != nil {
		t.Error("Open returned an Env with its error")
	}
}

func TestOpenPublicWithKey(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t)
	cfg.GRPCAddr = "0.0.0.0:0"
	cfg.AdminAddr = ""

	// What `clipmesh keys create` does, on the process's own database.
	ctx := testCtx(t)
	db, err := store.Open(ctx, "", cfg.DataDir)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	id, key, err := auth.NewKeys(db.DB).Create(ctx, "acme", auth.RoleAdmin, "ops")
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	env := open(t, cfg)
	serve(t, env, nil)
	if env.Auth.AllowsAnonymous() {
		t.Error("a process listening on 0.0.0.0 lets anonymous callers in")
	}
	cc, err := env.SelfConn()
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(env.GRPCAddr())
	if want := net.JoinHostPort("127.0.0.1", port); cc.Target() != want {
		t.Errorf("SelfConn().Target() = %q, want %q (loopback for an unspecified bind)", cc.Target(), want)
	}
	if _, err := who(ctx, cc); status.Code(err) != codes.Unauthenticated {
		t.Errorf("anonymous Get = %v, want Unauthenticated", err)
	}
	kctx := metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+key)
	if got, err := who(kctx, cc); err != nil || got != "acme/admin/"+id {
		t.Errorf("Get with the key = %q, %v", got, err)
	}
}

func TestOpenErrors(t *testing.T) {
	t.Parallel()
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = busy.Close() })
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}

	for _, tt := range []struct {
		name   string
		change func(*app.Config)
		want   string
	}{
		{"bad log level", func(c *app.Config) { c.LogLevel = "loud" }, `level "loud"`},
		{"bad log format", func(c *app.Config) { c.LogFormat = "xml" }, `format "xml"`},
		{"data dir is a file", func(c *app.Config) { c.DataDir = file }, "app: data dir"},
		{"bad database URL", func(c *app.Config) { c.DatabaseURL = "mysql://db/x" }, `scheme "mysql"`},
		{"bad blob URL", func(c *app.Config) { c.BlobURL = "nope://bucket" }, "blobstore: open nope://bucket"},
		{"gRPC port in use", func(c *app.Config) { c.GRPCAddr = busy.Addr().String() }, "app: listen " + busy.Addr().String()},
		{"HTTP port in use", func(c *app.Config) { c.HTTPAddr = busy.Addr().String() }, "app: listen " + busy.Addr().String()},
		{"admin port in use", func(c *app.Config) { c.AdminAddr = busy.Addr().String() }, "app: listen " + busy.Addr().String()},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := testConfig(t)
			tt.change(&cfg)
			env, err := app.Open(testCtx(t), "test", cfg)
			if err == nil {
				serve(t, env, nil)
				t.Fatalf("Open = nil error; want one containing %q", tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Open error %q lacks %q", err, tt.want)
			}
		})
	}
}
