// Package audio is the audio service: spectrum, tempo and rhythm, loudness,
// SNR, voice activity and audio events. It runs alone (cmd/audio) or inside
// the all-in-one clipmesh binary.
package audio

import (
	"context"
	"fmt"

	"google.golang.org/grpc"

	videosv1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/videos/v1"
	"github.com/clipmesh/clipmesh/platform/app"
	"github.com/clipmesh/clipmesh/platform/mediasrc"
	"github.com/clipmesh/clipmesh/platform/models"
	"github.com/clipmesh/clipmesh/platform/ort"
	"github.com/clipmesh/clipmesh/services/audio/internal/server"
	"github.com/clipmesh/clipmesh/services/audio/internal/voice"
)

// Service is the audio service.
type Service struct {
	srv *server.Server
}

// New builds the service on env's infrastructure: videos are resolved
// through the jobs service's VideoService (env.Conn("jobs")), media read
// from env.Blob, and the voice-activity model found in the models cache
// (models.Dir: --models-dir is not a flag of this service, so
// CLIPMESH_MODELS_DIR or the default cache).
func New(_ context.Context, env *app.Env) (*Service, error) {
	cc, err := env.Conn("jobs")
	if err != nil {
		return nil, fmt.Errorf("audio: connect to jobs: %w", err)
	}
	dir, err := models.Dir("")
	if err != nil {
		return nil, fmt.Errorf("audio: %w", err)
	}
	return &Service{srv: &server.Server{
		Media: &mediasrc.Resolver{Videos: videosv1.NewVideoServiceClient(cc), Blob: env.Blob},
		// One thread per Silero session: its operators are tiny (one
		// 32 ms window per call), and a thread pool per stream only spins.
		Voice:   voice.NewEngine(dir, ort.Options{IntraOpThreads: 1, InterOpThreads: 1, Logger: env.Logger}),
		Version: app.Version,
		Logger:  env.Logger,
	}}, nil
}

// Name implements server.Service.
func (s *Service) Name() string { return "audio" }

// Register implements server.Service.
func (s *Service) Register(g *grpc.Server) { s.srv.Register(g) }

// Ready implements server.Readier: it fails, naming `clipmesh models
// fetch`, while Silero VAD or ONNX Runtime is not installed (the service
// still answers then, with the energy fallback, flagged in every result).
func (s *Service) Ready(ctx context.Context) error { return s.srv.Ready(ctx) }
