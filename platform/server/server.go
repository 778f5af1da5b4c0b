// Package server runs a clipmesh process: one gRPC server holding one or
// more services (with health, reflection, auth and OpenTelemetry), an HTTP
// listener (REST gateway, /healthz, /readyz, /metrics), an admin listener
// (pprof), background workers, and an ordered graceful shutdown.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"runtime/debug"
	"sync"
	"time"

	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"golang.org/x/sync/errgroup"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/reflection"
	"google.golang.org/grpc/status"

	"github.com/clipmesh/clipmesh/platform/auth"
	"github.com/clipmesh/clipmesh/platform/health"
)

// Service is one gRPC service hosted by the process.
type Service interface {
	// Name is the short service name, e.g. "jobs".
	Name() string
	// Register adds the service's gRPC handlers.
	Register(s *grpc.Server)
}

// Starter is a Service with background work (queue consumers, watchers);
// Start blocks until ctx is done.
type Starter interface {
	Start(ctx context.Context) error
}

// Readier is a Service with its own readiness check.
type Readier interface {
	Ready(ctx context.Context) error
}

// Options configure Run.
type Options struct {
	// GRPC is the gRPC listener (required).
	GRPC net.Listener
	// HTTP is the HTTP listener for health, metrics and Handler (required).
	HTTP net.Listener
	// Admin is the pprof listener (optional).
	Admin net.Listener
	// Handler serves every HTTP path not served here, e.g. the REST gateway.
	Handler http.Handler
	// Metrics serves /metrics.
	Metrics http.Handler
	// Auth authenticates gRPC calls.
	Auth *auth.Authenticator
	// Health holds the readiness checks; Run adds each Readier's (nil
	// means a new Checker).
	Health *health.Checker
	// Logger logs server events (nil means slog.Default()).
	Logger *slog.Logger
	// ShutdownTimeout bounds the graceful stop (default 15s).
	ShutdownTimeout time.Duration
	// MaxRecvBytes is the largest gRPC message accepted (default 16 MiB).
	MaxRecvBytes int
	// OnStop run in order after the servers have stopped (NATS drain, DB
	// close, tracer flush), each with the remaining shutdown time.
	OnStop []func(ctx context.Context) error
}

// NewGRPCServer returns a gRPC server with OpenTelemetry stats handlers,
// panic recovery and authentication.
func NewGRPCServer(opts Options) *grpc.Server {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	maxRecv := opts.MaxRecvBytes
	if maxRecv == 0 {
		maxRecv = 16 << 20
	}
	unary := []grpc.UnaryServerInterceptor{recoverUnary(opts.Logger)}
	stream := []grpc.StreamServerInterceptor{recoverStream(opts.Logger)}
	if opts.Auth != nil {
		unary = append(unary, opts.Auth.UnaryInterceptor)
		stream = append(stream, opts.Auth.StreamInterceptor)
	}
	return grpc.NewServer(
		grpc.StatsHandler(otelgrpc.NewServerHandler()),
		grpc.ChainUnaryInterceptor(unary...),
		grpc.ChainStreamInterceptor(stream...),
		grpc.MaxRecvMsgSize(maxRecv),
	)
}

// Run serves services until ctx is done, then shuts down in order: readiness
// off, HTTP stops accepting, gRPC drains (GracefulStop, then Stop at the
// timeout), background workers stop, then OnStop.
func Run(ctx context.Context, opts Options, services ...Service) error {
	if opts.ShutdownTimeout == 0 {
		opts.ShutdownTimeout = 15 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Health == nil {
		opts.Health = health.New()
	}
	log := opts.Logger
	gs := NewGRPCServer(opts)
	names := make([]string, 0, len(services))
	for _, s := range services {
		s.Register(gs)
		if r, ok := s.(Readier); ok {
			opts.Health.Add(s.Name(), r.Ready)
		}
	}
	for name := range gs.GetServiceInfo() {
		names = append(names, name)
	}
	healthpb.RegisterHealthServer(gs, opts.Health.GRPC())
	reflection.Register(gs)
	for _, n := range names {
		opts.Health.GRPC().SetServingStatus(n, healthpb.HealthCheckResponse_SERVING)
	}
	opts.Health.Track(names...)

	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", opts.Health.Healthz)
	mux.HandleFunc("GET /readyz", opts.Health.Readyz)
	if opts.Metrics != nil {
		mux.Handle("GET /metrics", opts.Metrics)
	}
	if opts.Handler != nil {
		mux.Handle("/", opts.Handler)
	}
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	var as *http.Server
	if opts.Admin != nil {
		am := http.NewServeMux()
		am.HandleFunc("/debug/pprof/", pprof.Index)
		am.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
		am.HandleFunc("/debug/pprof/profile", pprof.Profile)
		am.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		am.HandleFunc("/debug/pprof/trace", pprof.Trace)
		am.HandleFunc("GET /healthz", opts.Health.Healthz)
		as = &http.Server{Handler: am, ReadHeaderTimeout: 10 * time.Second}
	}

	workCtx, stopWork := context.WithCancel(context.WithoutCancel(ctx))
	defer stopWork()
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		if err := gs.Serve(opts.GRPC); err != nil && !errors.Is(err, grpc.ErrServerStopped) {
			return fmt.Errorf("grpc serve: %w", err)
		}
		return nil
	})
	g.Go(func() error {
		if err := hs.Serve(opts.HTTP); err != nil && !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("http serve: %w", err)
		}
		return nil
	})
	if as != nil {
		g.Go(func() error {
			if err := as.Serve(opts.Admin); err != nil && !errors.Is(err, http.ErrServerClosed) {
				return fmt.Errorf("admin serve: %w", err)
			}
			return nil
		})
	}
	// A worker that fails (not on shutdown) takes the process down, so an
	// orchestrator restarts it instead of leaving it serving without work.
	var workers sync.WaitGroup
	for _, s := range services {
		if st, ok := s.(Starter); ok {
			workers.Add(1)
			g.Go(func() error {
				defer workers.Done()
				if err := st.Start(workCtx); err != nil && !errors.Is(err, context.Canceled) {
					log.ErrorContext(ctx, "worker stopped", "service", s.Name(), "err", err)
					return fmt.Errorf("%s worker: %w", s.Name(), err)
				}
				return nil
			})
		}
	}
	g.Go(func() error { opts.Health.Watch(gctx, 5*time.Second); return nil })
	log.InfoContext(ctx, "serving", "grpc", opts.GRPC.Addr().String(), "http", opts.HTTP.Addr().String(), "services", names)

	var runErr error
	g.Go(func() error {
		<-gctx.Done()
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), opts.ShutdownTimeout)
		defer cancel()
		log.InfoContext(sctx, "shutting down")
		opts.Health.Shutdown()
		runErr = errors.Join(runErr, hs.Shutdown(sctx))
		if as != nil {
			_ = as.Shutdown(sctx)
		}
		stopped := make(chan struct{})
		go func() { gs.GracefulStop(); close(stopped) }()
		select {
		case <-stopped:
		case <-sctx.Done():
			gs.Stop()
			<-stopped
		}
		stopWork()
		workers.Wait()
		for _, f := range opts.OnStop {
			if err := f(sctx); err != nil {
				runErr = errors.Join(runErr, err)
			}
		}
		return nil
	})
	if err := g.Wait(); err != nil {
		return err
	}
	return runErr
}

func recoverUnary(log *slog.Logger) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (resp any, err error) {
		defer func() {
			if r := recover(); r != nil {
				log.ErrorContext(ctx, "panic", "method", info.FullMethod, "panic", r, "stack", string(debug.Stack()))
				err = status.Error(codes.Internal, "internal error")
			}
		}()
		return h(ctx, req)
	}
}

func recoverStream(log *slog.Logger) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) (err error) {
		defer func() {
			if r := recover(); r != nil {
				log.ErrorContext(ss.Context(), "panic", "method", info.FullMethod, "panic", r, "stack", string(debug.Stack()))
				err = status.Error(codes.Internal, "internal error")
			}
		}()
		return h(srv, ss)
	}
}
