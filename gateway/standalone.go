package gateway

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"google.golang.org/grpc"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/clipmesh/clipmesh/platform/grpcx"
	"github.com/clipmesh/clipmesh/platform/health"
	"github.com/clipmesh/clipmesh/platform/logging"
	"github.com/clipmesh/clipmesh/platform/telemetry"
)

// Version is the build version, set with -ldflags "-X github.com/clipmesh/clipmesh/gateway.Version=...".
var Version = "dev"

// StandaloneConfig configures the gateway run as its own process.
type StandaloneConfig struct {
	HTTPAddr        string        `name:"http-addr" env:"CLIPMESH_HTTP_ADDR" default:"127.0.0.1:8080" help:"REST listen address."`
	MeshAddr        string        `name:"mesh-addr" env:"CLIPMESH_MESH_ADDR" default:"127.0.0.1:9090" help:"gRPC address of the services; CLIPMESH_<SERVICE>_ADDR overrides one service."`
	MaxUploadBytes  int64         `name:"max-upload-bytes" env:"CLIPMESH_MAX_UPLOAD_BYTES" default:"8589934592" help:"Largest accepted upload."`
	CORSOrigins     []string      `name:"cors-origins" env:"CLIPMESH_CORS_ORIGINS" help:"Origins allowed by CORS."`
	LogLevel        string        `name:"log-level" env:"CLIPMESH_LOG_LEVEL" default:"info" help:"debug, info, warn or error."`
	LogFormat       string        `name:"log-format" env:"CLIPMESH_LOG_FORMAT" default:"json" help:"json or text."`
	ShutdownTimeout time.Duration `name:"shutdown-timeout" env:"CLIPMESH_SHUTDOWN_TIMEOUT" default:"15s" help:"Bound on graceful shutdown."`
}

// services the gateway fronts; "jobs" also serves the video catalog.
var services = []string{"jobs", "vision", "audio", "transcribe", "nlp", "analytics", "clips", "collab"}

// RunStandalone serves the REST gateway, /healthz, /readyz and /metrics
// until ctx is done. The gateway holds no state: API keys are checked by the
// services it forwards to.
func RunStandalone(ctx context.Context, cfg StandaloneConfig) error {
	log, err := logging.New(os.Stderr, "gateway", Version, cfg.LogLevel, cfg.LogFormat)
	if err != nil {
		return err
	}
	tel, err := telemetry.Setup(ctx, "gateway", Version)
	if err != nil {
		return err
	}
	defer func() { _ = tel.Shutdown(context.WithoutCancel(ctx)) }()
	router := &grpcx.Router{Conns: map[string]grpc.ClientConnInterface{}}
	checks := health.New()
	for _, s := range services {
		target := os.Getenv("CLIPMESH_" + strings.ToUpper(s) + "_ADDR")
		if target == "" {
			target = cfg.MeshAddr
		}
		cc, err := grpcx.Dial(target, "")
		if err != nil {
			return err
		}
		defer cc.Close()
		router.Conns[s] = cc
		hc := healthpb.NewHealthClient(cc)
		checks.Add(s, func(ctx context.Context) error {
			_, err := hc.Check(ctx, &healthpb.HealthCheckRequest{})
			if err != nil {
				return fmt.Errorf("%s at %s: %w", s, target, err)
			}
			return nil
		})
	}
	h, err := New(ctx, router, Options{MaxUploadBytes: cfg.MaxUploadBytes, CORSAllowedOrigins: cfg.CORSOrigins, Logger: log})
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", checks.Healthz)
	mux.HandleFunc("GET /readyz", checks.Readyz)
	mux.Handle("GET /metrics", tel.MetricsHandler)
	mux.Handle("/", h)
	ln, err := net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		return fmt.Errorf("gateway: listen %s: %w", cfg.HTTPAddr, err)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	log.InfoContext(ctx, "serving", "http", ln.Addr().String(), "mesh", cfg.MeshAddr)
	select {
	case err := <-errc:
		return fmt.Errorf("gateway: serve: %w", err)
	case <-ctx.Done():
	}
	checks.Shutdown()
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("gateway: shutdown: %w", err)
	}
	return nil
}
