// Package jobs is the jobs service: the video catalog (upload and probe) and
// the analysis pipeline that fans a video out to every modality service,
// driven by a NATS JetStream work queue. It runs alone (cmd/jobs) or inside
// the all-in-one clipmesh binary.
package jobs

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"google.golang.org/grpc"

	"github.com/clipmesh/clipmesh/platform/app"
	"github.com/clipmesh/clipmesh/services/jobs/internal/callback"
	"github.com/clipmesh/clipmesh/services/jobs/internal/catalog"
	"github.com/clipmesh/clipmesh/services/jobs/internal/jobstore"
	"github.com/clipmesh/clipmesh/services/jobs/internal/media"
	"github.com/clipmesh/clipmesh/services/jobs/internal/pipeline"
	"github.com/clipmesh/clipmesh/services/jobs/internal/runner"
	"github.com/clipmesh/clipmesh/services/jobs/internal/server"
)

// Config is the jobs service's own configuration.
type Config struct {
	Workers            int     `name:"workers" env:"CLIPMESH_JOBS_WORKERS" default:"2" help:"Jobs run at once by this process."`
	MaxDurationSeconds float64 `name:"max-duration" env:"CLIPMESH_MAX_DURATION_SECONDS" default:"14400" help:"Longest accepted media, in seconds (0 = no limit)."`
	MaxPixels          int     `name:"max-pixels" env:"CLIPMESH_MAX_PIXELS" default:"35389440" help:"Largest accepted frame in pixels (default 8K: 7680x4608)."`

	MaxAttempts  int           `name:"max-attempts" env:"CLIPMESH_JOBS_MAX_ATTEMPTS" default:"5" help:"Runs of a failing job before it is dead-lettered."`
	RetryBackoff time.Duration `name:"retry-backoff" env:"CLIPMESH_JOBS_RETRY_BACKOFF" default:"10s" help:"Delay before a failed job's first retry; doubled for each further one (at most 10m)."`

	MediaRoot     string `name:"media-root" env:"CLIPMESH_MEDIA_ROOT" help:"Folder whose files a batch may name by path (empty: paths refused)."`
	MaxBatchItems int    `name:"max-batch-items" env:"CLIPMESH_JOBS_MAX_BATCH_ITEMS" default:"100" help:"Most items in one batch."`

	CallbackSecret   string `name:"callback-secret" env:"CLIPMESH_CALLBACK_SECRET" help:"HMAC-SHA256 key of the X-Clipmesh-Signature header of callbacks (empty: callback_url refused)."`
	CallbackAllow    string `name:"callback-allow" env:"CLIPMESH_CALLBACK_ALLOW" help:"Comma-separated prefixes callbacks may reach although loopback, private or link-local (e.g. 10.0.0.0/8)."`
	CallbackAttempts int    `name:"callback-attempts" env:"CLIPMESH_CALLBACK_ATTEMPTS" default:"5" help:"Tries of a callback before it is given up."`
}

// Service is the jobs service.
type Service struct {
	srv    *server.Server
	runner *runner.Runner
}

// New builds the service on env's infrastructure.
func New(ctx context.Context, env *app.Env, cfg Config) (*Service, error) {
	tmp := filepath.Join(env.Config.DataDir, "tmp")
	if err := os.MkdirAll(tmp, 0o750); err != nil {
		return nil, fmt.Errorf("jobs: temp dir: %w", err)
	}
	lib := &catalog.Library{
		DB: env.DB.DB, Blob: env.Blob, TempDir: tmp, MaxBytes: env.Config.MaxUploadBytes,
		Prober: media.Prober{Limits: media.Limits{MaxDurationSeconds: cfg.MaxDurationSeconds, MaxPixels: cfg.MaxPixels}},
	}
	pl, err := pipeline.New(lib, func(name string) (grpc.ClientConnInterface, error) { return env.Conn(name) })
	if err != nil {
		return nil, err
	}
	allow, err := callback.ParseAllow(cfg.CallbackAllow)
	if err != nil {
		return nil, err
	}
	cb := &callback.Sender{Secret: []byte(cfg.CallbackSecret), Allow: allow}
	store := &jobstore.Store{DB: env.DB.DB}
	r := &runner.Runner{Store: store, Pipeline: pl, NC: env.NATS.NC, JS: env.NATS.JS, Concurrency: cfg.Workers, Logger: env.Logger,
		MaxAttempts: cfg.MaxAttempts, RetryBackoff: cfg.RetryBackoff,
		Callbacks: cb, CallbackAttempts: cfg.CallbackAttempts}
	if err := r.Setup(ctx); err != nil {
		return nil, err
	}
	return &Service{
		srv: &server.Server{Library: lib, Jobs: store, Runner: r, NC: env.NATS.NC, Logger: env.Logger,
			MediaRoot: cfg.MediaRoot, MaxBatchItems: cfg.MaxBatchItems, Callbacks: cb},
		runner: r,
	}, nil
}

// Name implements server.Service.
func (s *Service) Name() string { return "jobs" }

// Register implements server.Service.
func (s *Service) Register(g *grpc.Server) { s.srv.Register(g) }

// Start runs the queue workers until ctx is done.
func (s *Service) Start(ctx context.Context) error { return s.runner.Start(ctx) }
