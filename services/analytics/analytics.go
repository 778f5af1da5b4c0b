// Package analytics is the analytics service: the fusion of every modality
// into an engagement timeline, ranked moments, scene moods and detailed
// analytics, stored per tenant. It runs alone (cmd/analytics) or inside the
// all-in-one clipmesh binary.
package analytics

import (
	"context"
	"fmt"
	"os"

	"go.opentelemetry.io/otel"
	"google.golang.org/grpc"

	jobsv1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/jobs/v1"
	videosv1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/videos/v1"
	"github.com/clipmesh/clipmesh/platform/app"
	"github.com/clipmesh/clipmesh/services/analytics/internal/engagement"
	"github.com/clipmesh/clipmesh/services/analytics/internal/moments"
	"github.com/clipmesh/clipmesh/services/analytics/internal/resultstore"
	"github.com/clipmesh/clipmesh/services/analytics/internal/server"
)

// EnvWeights is the environment variable holding the engagement weights.
const EnvWeights = "CLIPMESH_ANALYTICS_WEIGHTS"

// Config is the service's own configuration.
type Config struct {
	// Weights overrides the default engagement weights: "motion=1.2,hooks=0"
	// or a JSON object; keys are factor names.
	Weights string `name:"analytics-weights" env:"CLIPMESH_ANALYTICS_WEIGHTS" help:"Engagement weights overriding the defaults, e.g. motion=1.2,hooks=0 (factor=weight, comma-separated, or a JSON object)."`
}

// ConfigFromEnv reads Config from the environment (what the all-in-one
// binary uses, having no analytics flags).
func ConfigFromEnv() Config { return Config{Weights: os.Getenv(EnvWeights)} }

// Service is the analytics service.
type Service struct {
	srv *server.Server
}

// New builds the service on env's infrastructure with ConfigFromEnv.
func New(ctx context.Context, env *app.Env) (*Service, error) {
	return NewWithConfig(ctx, env, ConfigFromEnv())
}

// NewWithConfig builds the service: videos are resolved and job states read
// through the jobs service (env.Conn("jobs")), fusions stored in env.DB. An
// invalid weight is a start-up error naming its key.
func NewWithConfig(ctx context.Context, env *app.Env, cfg Config) (*Service, error) {
	w, err := engagement.ParseWeights(cfg.Weights)
	if err != nil {
		return nil, fmt.Errorf("analytics: %s: %w", EnvWeights, err)
	}
	cc, err := env.Conn("jobs")
	if err != nil {
		return nil, fmt.Errorf("analytics: connect to jobs: %w", err)
	}
	st := resultstore.New(env.DB)
	m, err := server.NewMetrics(ctx, otel.GetMeterProvider(), st, env.Logger)
	if err != nil {
		return nil, fmt.Errorf("analytics: %w", err)
	}
	return &Service{srv: &server.Server{
		Videos:  videosv1.NewVideoServiceClient(cc),
		Jobs:    jobsv1.NewJobServiceClient(cc),
		Store:   st,
		Weights: w,
		Moments: moments.DefaultOptions(),
		Metrics: m,
		Version: app.Version,
		Logger:  env.Logger,
	}}, nil
}

// Name implements server.Service.
func (s *Service) Name() string { return "analytics" }

// Register implements server.Service.
func (s *Service) Register(g *grpc.Server) { s.srv.Register(g) }
