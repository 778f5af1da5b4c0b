// Package clips is the clips service: it chooses the best moments of a
// video (or takes given ranges), renders them as reframed, captioned clips
// through a JetStream work queue, stores them and serves their files. It
// runs alone (cmd/clips) or inside the all-in-one clipmesh binary.
package clips

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"

	"google.golang.org/grpc"

	jobsv1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/jobs/v1"
	videosv1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/videos/v1"
	"github.com/clipmesh/clipmesh/platform/app"
	"github.com/clipmesh/clipmesh/platform/mediasrc"
	"github.com/clipmesh/clipmesh/services/clips/internal/clipstore"
	"github.com/clipmesh/clipmesh/services/clips/internal/server"
)

// Config is the clips service's own configuration.
type Config struct {
	Renderers  int    `name:"renderers" env:"CLIPMESH_CLIPS_RENDERERS" help:"Clips rendered at once by this process (default: half the CPUs, at least 1)."`
	X264Preset string `name:"x264-preset" env:"CLIPMESH_CLIPS_X264_PRESET" default:"veryfast" help:"x264 preset of rendered clips (ultrafast … veryslow)."`
}

// ConfigFromEnv reads Config from the environment, for processes that do
// not parse the flags (the all-in-one).
func ConfigFromEnv() Config {
	c := Config{X264Preset: os.Getenv("CLIPMESH_CLIPS_X264_PRESET")}
	c.Renderers, _ = strconv.Atoi(os.Getenv("CLIPMESH_CLIPS_RENDERERS"))
	return c
}

// Service is the clips service.
type Service struct {
	srv      *server.Server
	renderer *server.Renderer
}

// New builds the service on env's infrastructure: videos are resolved and
// analyses found through the jobs service (env.Conn("jobs")), files kept in
// env.Blob, clips in env.DB, renders queued on env.NATS. Without cfg, it
// reads ConfigFromEnv.
func New(ctx context.Context, env *app.Env, cfg ...Config) (*Service, error) {
	c := ConfigFromEnv()
	if len(cfg) > 0 {
		c = cfg[0]
	}
	if c.Renderers <= 0 {
		c.Renderers = max(runtime.NumCPU()/2, 1)
	}
	cc, err := env.Conn("jobs")
	if err != nil {
		return nil, fmt.Errorf("clips: connect to jobs: %w", err)
	}
	tmp := filepath.Join(env.Config.DataDir, "tmp")
	if err := os.MkdirAll(tmp, 0o750); err != nil {
		return nil, fmt.Errorf("clips: temp dir: %w", err)
	}
	store := &clipstore.Store{DB: env.DB}
	r := &server.Renderer{Store: store, Blob: env.Blob, NC: env.NATS.NC, JS: env.NATS.JS, Logger: env.Logger,
		Concurrency: c.Renderers, TmpDir: tmp, Speed: c.X264Preset}
	if err := r.Setup(ctx); err != nil {
		return nil, err
	}
	return &Service{
		srv: &server.Server{
			Media: &mediasrc.Resolver{Videos: videosv1.NewVideoServiceClient(cc), Blob: env.Blob, TmpDir: tmp},
			Jobs:  jobsv1.NewJobServiceClient(cc),
			Blob:  env.Blob, Store: store, NC: env.NATS.NC, JS: env.NATS.JS, Logger: env.Logger,
		},
		renderer: r,
	}, nil
}

// Name implements server.Service.
func (s *Service) Name() string { return "clips" }

// Register implements server.Service.
func (s *Service) Register(g *grpc.Server) { s.srv.Register(g) }

// Start runs the renderers until ctx is done.
func (s *Service) Start(ctx context.Context) error { return s.renderer.Start(ctx) }
