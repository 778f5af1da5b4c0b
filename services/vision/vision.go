// Package vision is the vision service: scenes, faces and eyes, motion,
// quality, thumbnails and subject tracks. It runs alone (cmd/vision) or
// inside the all-in-one clipmesh binary.
package vision

import (
	"context"
	"fmt"
	"os"
	"strconv"

	"google.golang.org/grpc"

	videosv1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/videos/v1"
	"github.com/clipmesh/clipmesh/platform/app"
	"github.com/clipmesh/clipmesh/platform/mediasrc"
	"github.com/clipmesh/clipmesh/platform/models"
	"github.com/clipmesh/clipmesh/platform/ort"
	"github.com/clipmesh/clipmesh/services/vision/internal/analysis"
	"github.com/clipmesh/clipmesh/services/vision/internal/extras"
	"github.com/clipmesh/clipmesh/services/vision/internal/faces"
	"github.com/clipmesh/clipmesh/services/vision/internal/server"
)

// Default limits; CLIPMESH_VISION_MAX_WIDTH, CLIPMESH_VISION_MAX_HEIGHT and
// CLIPMESH_VISION_MAX_SECONDS override them (0 disables one).
const (
	DefaultMaxWidth   = 7680
	DefaultMaxHeight  = 7680
	DefaultMaxSeconds = 6 * 3600
)

// Service is the vision service.
type Service struct {
	srv *server.Server
}

// New builds the service on env's infrastructure: videos are resolved
// through the jobs service's VideoService (env.Conn("jobs")), media read
// from and thumbnails written to env.Blob, scene events published on
// env.NATS, and BlazeFace found in the models cache (models.Dir: the
// CLIPMESH_MODELS_DIR variable or the default cache).
func New(_ context.Context, env *app.Env) (*Service, error) {
	cc, err := env.Conn("jobs")
	if err != nil {
		return nil, fmt.Errorf("vision: connect to jobs: %w", err)
	}
	dir, err := models.Dir("")
	if err != nil {
		return nil, fmt.Errorf("vision: %w", err)
	}
	limits, err := LimitsFromEnv(os.Getenv)
	if err != nil {
		return nil, fmt.Errorf("vision: %w", err)
	}
	// Without the cascade faces are still found; results say eyes were
	// not confirmed.
	eyes, err := faces.NewEyeConfirmer(os.Getenv("CLIPMESH_VISION_EYE_CASCADE"))
	if err != nil {
		env.Logger.Warn("vision: eyes will not be confirmed", "err", err)
		eyes = nil
	}
	srv := &server.Server{
		Eyes:   eyes,
		Extras: extras.NewEngine(dir, ort.Options{IntraOpThreads: 1, InterOpThreads: 1, Logger: env.Logger}),
		Media:  &mediasrc.Resolver{Videos: videosv1.NewVideoServiceClient(cc), Blob: env.Blob},
		Blob:   env.Blob,
		// One thread per session: detection runs at 2 fps beside ffmpeg and
		// the other detectors, so a thread pool only adds contention.
		Faces:   faces.NewEngine(dir, ort.Options{IntraOpThreads: 1, InterOpThreads: 1, Logger: env.Logger}),
		Limits:  limits,
		Version: app.Version,
		Logger:  env.Logger,
	}
	if env.NATS != nil {
		srv.NC = env.NATS.NC
	}
	return &Service{srv: srv}, nil
}

// LimitsFromEnv reads the CLIPMESH_VISION_MAX_* variables through getenv.
func LimitsFromEnv(getenv func(string) string) (analysis.Limits, error) {
	l := analysis.Limits{MaxWidth: DefaultMaxWidth, MaxHeight: DefaultMaxHeight, MaxSeconds: DefaultMaxSeconds}
	for _, v := range []struct {
		name string
		dst  *float64
		i    *int
	}{
		{"CLIPMESH_VISION_MAX_WIDTH", nil, &l.MaxWidth},
		{"CLIPMESH_VISION_MAX_HEIGHT", nil, &l.MaxHeight},
		{"CLIPMESH_VISION_MAX_SECONDS", &l.MaxSeconds, nil},
	} {
		s := getenv(v.name)
		if s == "" {
			continue
		}
		f, err := strconv.ParseFloat(s, 64)
		if err != nil || f < 0 {
			return l, fmt.Errorf("%s=%q: want a number ≥ 0", v.name, s)
		}
		if v.i != nil {
			*v.i = int(f)
		} else {
			*v.dst = f
		}
	}
	return l, nil
}

// Name implements server.Service.
func (s *Service) Name() string { return "vision" }

// Register implements server.Service.
func (s *Service) Register(g *grpc.Server) { s.srv.Register(g) }

// Ready implements server.Readier: it fails, naming `clipmesh models
// fetch`, while BlazeFace or ONNX Runtime is not installed (the service
// still answers then, without faces, flagged in every result).
func (s *Service) Ready(ctx context.Context) error { return s.srv.Ready(ctx) }
