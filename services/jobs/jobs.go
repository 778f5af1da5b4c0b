// Package jobs is the jobs service: the video catalog (upload and probe) and
// the analysis pipeline that fans a video out to every modality service,
// driven by a NATS JetStream work queue. It runs alone (cmd/jobs) or inside
// the all-in-one clipmesh binary.
package jobs

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"google.golang.org/grpc"

	"github.com/clipmesh/clipmesh/platform/app"
	"github.com/clipmesh/clipmesh/services/jobs/internal/cache"
	"github.com/clipmesh/clipmesh/services/jobs/internal/callback"
	"github.com/clipmesh/clipmesh/services/jobs/internal/catalog"
	"github.com/clipmesh/clipmesh/services/jobs/internal/extract"
	"github.com/clipmesh/clipmesh/services/jobs/internal/importer"
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

	ImportPrefixes string        `name:"import-prefixes" env:"CLIPMESH_IMPORT_PREFIXES" help:"Comma-separated http(s) URL prefixes under which batch items may be imported by url (empty: url items refused)."`
	ImportTimeout  time.Duration `name:"import-timeout" env:"CLIPMESH_IMPORT_TIMEOUT" default:"10m" help:"Bound on one url import's download."`

	Cache    string        `name:"cache" env:"CLIPMESH_JOBS_CACHE" enum:",sql,redis,off" default:"" help:"Result cache backend: sql, redis or off (default: redis when --jobs-redis-url is set, else sql)."`
	RedisURL string        `name:"redis-url" env:"CLIPMESH_REDIS_URL" help:"Redis of the result cache, e.g. redis://127.0.0.1:6379/0."`
	CacheTTL time.Duration `name:"cache-ttl" env:"CLIPMESH_JOBS_CACHE_TTL" default:"168h" help:"How long a cached analysis is kept."`
}

// Service is the jobs service.
type Service struct {
	srv        *server.Server
	runner     *runner.Runner
	closeCache func() error
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
	store := &jobstore.Store{DB: env.DB.DB}
	pl.Extractor = &extract.Extractor{Blob: env.Blob, TempDir: tmp}
	pl.Stages, pl.Logger, pl.CacheTTL = store, env.Logger, cfg.CacheTTL
	var closeCache func() error
	switch backend := cacheBackend(cfg); backend {
	case "sql":
		pl.Cache = &cache.SQL{DB: env.DB.DB}
	case "redis":
		if cfg.RedisURL == "" {
			return nil, errors.New("jobs: --jobs-cache=redis needs --jobs-redis-url (CLIPMESH_REDIS_URL)")
		}
		rc, err := cache.OpenRedis(ctx, cfg.RedisURL)
		if err != nil {
			return nil, fmt.Errorf("jobs: %w", err)
		}
		pl.Cache, closeCache = rc, rc.Close
	}
	if pl.Cache != nil {
		if pl.CacheVersions, err = cache.Versions(codeVersion()); err != nil {
			return nil, err
		}
	}
	allow, err := callback.ParseAllow(cfg.CallbackAllow)
	if err != nil {
		return nil, err
	}
	cb := &callback.Sender{Secret: []byte(cfg.CallbackSecret), Allow: allow}
	prefixes, err := importer.ParsePrefixes(cfg.ImportPrefixes)
	if err != nil {
		return nil, err
	}
	var imp *importer.Importer
	if len(prefixes) > 0 {
		imp = &importer.Importer{Prefixes: prefixes, Guard: &callback.Sender{Allow: allow},
			MaxBytes: env.Config.MaxUploadBytes, Timeout: cfg.ImportTimeout}
	}
	r := &runner.Runner{Store: store, Pipeline: pl, NC: env.NATS.NC, JS: env.NATS.JS, Concurrency: cfg.Workers, Logger: env.Logger,
		MaxAttempts: cfg.MaxAttempts, RetryBackoff: cfg.RetryBackoff,
		Callbacks: cb, CallbackAttempts: cfg.CallbackAttempts}
	if err := r.Setup(ctx); err != nil {
		return nil, err
	}
	return &Service{
		srv: &server.Server{Library: lib, Jobs: store, Runner: r, NC: env.NATS.NC, Logger: env.Logger,
			MediaRoot: cfg.MediaRoot, MaxBatchItems: cfg.MaxBatchItems, Callbacks: cb, Importer: imp},
		runner: r, closeCache: closeCache,
	}, nil
}

// codeVersion is the build's version; a development build ("dev") adds its
// executable's size and time, so a rebuilt binary never serves results
// cached by the one before.
func codeVersion() string {
	if app.Version != "dev" {
		return app.Version
	}
	exe, err := os.Executable()
	if err != nil {
		return app.Version
	}
	st, err := os.Stat(exe)
	if err != nil {
		return app.Version
	}
	return fmt.Sprintf("dev+%d.%d", st.Size(), st.ModTime().UnixNano())
}

// cacheBackend is the configured cache backend, "" for none.
func cacheBackend(cfg Config) string {
	switch cfg.Cache {
	case "off":
		return ""
	case "":
		if cfg.RedisURL != "" {
			return "redis"
		}
		return "sql"
	}
	return cfg.Cache
}

// Name implements server.Service.
func (s *Service) Name() string { return "jobs" }

// Register implements server.Service.
func (s *Service) Register(g *grpc.Server) { s.srv.Register(g) }

// Start runs the queue workers until ctx is done, then lets go of the
// cache's connection.
func (s *Service) Start(ctx context.Context) error {
	if s.closeCache != nil {
		defer func() { _ = s.closeCache() }()
	}
	return s.runner.Start(ctx)
}
