// Package app assembles a clipmesh process from the platform pieces: config,
// logging, telemetry, SQL store, blob store, NATS, identity, listeners, and
// the shared server loop. Service mains and the all-in-one binary use it, so
// a service runs the same way alone or inside the mesh.
package app

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"gocloud.dev/blob"
	"google.golang.org/grpc"

	"github.com/clipmesh/clipmesh/platform/auth"
	"github.com/clipmesh/clipmesh/platform/blobstore"
	"github.com/clipmesh/clipmesh/platform/config"
	"github.com/clipmesh/clipmesh/platform/grpcx"
	"github.com/clipmesh/clipmesh/platform/health"
	"github.com/clipmesh/clipmesh/platform/logging"
	"github.com/clipmesh/clipmesh/platform/natsx"
	"github.com/clipmesh/clipmesh/platform/server"
	"github.com/clipmesh/clipmesh/platform/store"
	"github.com/clipmesh/clipmesh/platform/telemetry"
)

// Version is the build version, set with -ldflags "-X .../app.Version=...".
var Version = "dev"

// Env is everything a service needs from the process it runs in.
type Env struct {
	Name      string
	Config    config.Common
	Logger    *slog.Logger
	Telemetry *telemetry.Telemetry
	DB        *store.DB
	Blob      *blob.Bucket
	NATS      *natsx.Conn
	Keys      *auth.Keys
	Auth      *auth.Authenticator
	Health    *health.Checker

	grpcLn, httpLn, adminLn net.Listener
	mu                      sync.Mutex
	conns                   map[string]*grpc.ClientConn
	closers                 []func(context.Context) error
}

// Open sets up the process's infrastructure and binds its listeners. On
// error everything opened so far is closed.
func Open(ctx context.Context, name string, cfg Config) (_ *Env, err error) {
	cfg.Resolve()
	e := &Env{Name: name, Config: cfg, conns: map[string]*grpc.ClientConn{}}
	defer func() {
		if err != nil {
			_ = e.close(context.WithoutCancel(ctx))
		}
	}()
	if e.Logger, err = logging.New(os.Stderr, name, Version, cfg.LogLevel, cfg.LogFormat); err != nil {
		return nil, err
	}
	e.Logger.InfoContext(ctx, "starting", "config", cfg)
	if err := os.MkdirAll(cfg.DataDir, 0o750); err != nil {
		return nil, fmt.Errorf("app: data dir %s: %w", cfg.DataDir, err)
	}
	if e.Telemetry, err = telemetry.Setup(ctx, name, Version); err != nil {
		return nil, err
	}
	e.closers = append(e.closers, e.Telemetry.Shutdown)
	if e.DB, err = store.Open(ctx, cfg.DatabaseURL, cfg.DataDir); err != nil {
		return nil, err
	}
	e.closers = append(e.closers, func(context.Context) error { return e.DB.Close() })
	if err := e.DB.Migrate(ctx); err != nil {
		return nil, err
	}
	if e.Blob, err = blobstore.Open(ctx, cfg.BlobURL, cfg.DataDir); err != nil {
		return nil, err
	}
	e.closers = append(e.closers, func(context.Context) error { return e.Blob.Close() })
	e.NATS, err = natsx.Connect(ctx, natsx.Options{
		URL: cfg.NATSURL, StoreDir: filepath.Join(cfg.DataDir, "nats"), ListenAddr: cfg.NATSListen,
		Name: name, Logger: e.Logger,
	})
	if err != nil {
		return nil, err
	}
	e.closers = append(e.closers, e.NATS.Close)

	e.Keys = auth.NewKeys(e.DB.DB)
	allowAnon, err := auth.CheckStartup(ctx, e.Keys, cfg.GRPCAddr, cfg.HTTPAddr, cfg.AdminAddr, cfg.NATSListen)
	if err != nil {
		return nil, err
	}
	if cfg.MeshToken == "" {
		// One process: a random token only it knows. Several processes
		// must share CLIPMESH_MESH_TOKEN to pass identities along.
		var b [24]byte
		_, _ = rand.Read(b[:])
		e.Config.MeshToken = hex.EncodeToString(b[:])
		if cfg.MeshAddr != "" || !allowAnon {
			e.Logger.WarnContext(ctx, "CLIPMESH_MESH_TOKEN is not set: calls to other processes will not carry the caller's tenant")
		}
	}
	e.Auth = auth.NewAuthenticator(e.Keys, allowAnon, e.Config.MeshToken)
	e.Health = health.New()
	e.Health.Add("database", func(ctx context.Context) error { return e.DB.PingContext(ctx) })
	e.Health.Add("nats", e.NATS.Ready)

	if e.grpcLn, err = listen(ctx, cfg.GRPCAddr); err != nil {
		return nil, err
	}
	if e.httpLn, err = listen(ctx, cfg.HTTPAddr); err != nil {
		return nil, err
	}
	if cfg.AdminAddr != "" {
		if e.adminLn, err = listen(ctx, cfg.AdminAddr); err != nil {
			return nil, err
		}
	}
	return e, nil
}

func listen(ctx context.Context, addr string) (net.Listener, error) {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("app: listen %s: %w", addr, err)
	}
	return ln, nil
}

// GRPCAddr is the bound gRPC address (useful with port 0).
func (e *Env) GRPCAddr() string { return e.grpcLn.Addr().String() }

// HTTPAddr is the bound HTTP address.
func (e *Env) HTTPAddr() string { return e.httpLn.Addr().String() }

// Conn returns the client connection to a service of the mesh: the address
// in CLIPMESH_<SERVICE>_ADDR, else the mesh address, else this process.
func (e *Env) Conn(service string) (*grpc.ClientConn, error) {
	target := os.Getenv("CLIPMESH_" + strings.ToUpper(service) + "_ADDR")
	if target == "" {
		target = e.Config.MeshAddr
	}
	if target == "" {
		return e.SelfConn()
	}
	return e.dial(target)
}

// Serve runs services (and handler on the HTTP listener) until ctx is done,
// then shuts down and closes the infrastructure in order.
func (e *Env) Serve(ctx context.Context, handler http.Handler, services ...server.Service) error {
	return server.Run(ctx, server.Options{
		GRPC: e.grpcLn, HTTP: e.httpLn, Admin: e.adminLn,
		Handler: handler, Metrics: e.Telemetry.MetricsHandler,
		Auth: e.Auth, Health: e.Health, Logger: e.Logger,
		ShutdownTimeout: e.Config.ShutdownTimeout,
		OnStop:          []func(context.Context) error{e.close},
	}, services...)
}

// close releases client connections, then NATS, blob, DB and telemetry, in
// reverse order of opening.
func (e *Env) close(ctx context.Context) error {
	var errs []error
	e.mu.Lock()
	for _, cc := range e.conns {
		errs = append(errs, cc.Close())
	}
	e.conns = map[string]*grpc.ClientConn{}
	e.mu.Unlock()
	for _, ln := range []net.Listener{e.grpcLn, e.httpLn, e.adminLn} {
		if ln != nil {
			_ = ln.Close() // already closed by the servers on the normal path
		}
	}
	for i := len(e.closers) - 1; i >= 0; i-- {
		errs = append(errs, e.closers[i](ctx))
	}
	e.closers = nil
	return errors.Join(errs...)
}

// Config is the shared process configuration (see package config).
type Config = config.Common

// SelfConn returns a client connection to this process's own gRPC server
// (the all-in-one gateway's upstream).
func (e *Env) SelfConn() (*grpc.ClientConn, error) {
	target := e.GRPCAddr()
	if host, port, err := net.SplitHostPort(target); err == nil {
		if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
			target = net.JoinHostPort("127.0.0.1", port)
		}
	}
	return e.dial(target)
}

// dial returns the one cached connection to target.
func (e *Env) dial(target string) (*grpc.ClientConn, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if cc, ok := e.conns[target]; ok {
		return cc, nil
	}
	cc, err := grpcx.Dial(target, e.Config.MeshToken)
	if err != nil {
		return nil, err
	}
	e.conns[target] = cc
	return cc, nil
}
