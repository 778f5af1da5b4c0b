// Package transcribe is the transcribe service: speech to text with word
// timings and language detection. It runs alone (cmd/transcribe) or inside
// the all-in-one clipmesh binary.
package transcribe

import (
	"context"
	"fmt"
	"os"
	"time"

	"google.golang.org/grpc"

	videosv1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/videos/v1"
	"github.com/clipmesh/clipmesh/platform/app"
	"github.com/clipmesh/clipmesh/platform/langid"
	"github.com/clipmesh/clipmesh/platform/mediasrc"
	"github.com/clipmesh/clipmesh/platform/models"
	"github.com/clipmesh/clipmesh/platform/ort"
	"github.com/clipmesh/clipmesh/services/transcribe/internal/server"
	"github.com/clipmesh/clipmesh/services/transcribe/internal/sphinx"
	"github.com/clipmesh/clipmesh/services/transcribe/internal/store"
	"github.com/clipmesh/clipmesh/services/transcribe/internal/vad"
	"github.com/clipmesh/clipmesh/services/transcribe/internal/whisper"
)

// EnvMaxDuration is the environment variable that sets the longest audio
// the service transcribes (a Go duration, default 3h).
const EnvMaxDuration = "CLIPMESH_TRANSCRIBE_MAX_DURATION"

// Service is the transcribe service.
type Service struct {
	srv     *server.Server
	eng     *sphinx.Engine
	whisper *whisper.Runtime
}

// loadWhisper starts ONNX Runtime from the models cache and loads the
// export in wdir.
func loadWhisper(modelsDir, wdir string) (*whisper.Runtime, error) {
	if err := ort.InitFromModels(modelsDir); err != nil {
		return nil, err
	}
	return whisper.Load(wdir)
}

// New builds the service on env's infrastructure: videos are resolved
// through the jobs service's VideoService (env.Conn("jobs")), media read
// from env.Blob, transcripts stored in env.DB, Silero VAD found in the
// models cache (CLIPMESH_MODELS_DIR or the default). A missing PocketSphinx
// model does not stop the service: Transcribe then answers
// FailedPrecondition naming the package to install, and readiness fails.
func New(ctx context.Context, env *app.Env) (*Service, error) {
	cc, err := env.Conn("jobs")
	if err != nil {
		return nil, fmt.Errorf("transcribe: connect to jobs: %w", err)
	}
	dir, err := models.Dir("")
	if err != nil {
		return nil, fmt.Errorf("transcribe: %w", err)
	}
	maxSeconds := 0.0
	if v := os.Getenv(EnvMaxDuration); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return nil, fmt.Errorf("transcribe: %s=%q: want a positive duration such as 2h", EnvMaxDuration, v)
		}
		maxSeconds = d.Seconds()
	}
	srv := &server.Server{
		Media:      &mediasrc.Resolver{Videos: videosv1.NewVideoServiceClient(cc), Blob: env.Blob},
		Store:      store.New(env.DB),
		VAD:        vad.New(dir, ort.Options{Logger: env.Logger}),
		LangID:     langid.New(dir, nil),
		MaxSeconds: maxSeconds,
		Logger:     env.Logger,
	}
	s := &Service{srv: srv}
	eng, err := sphinx.New(sphinx.DefaultConfig())
	if err != nil {
		env.Logger.ErrorContext(ctx, "speech recognition unavailable", "engine", sphinx.Name, "err", err)
		srv.EngineErr = err
	} else {
		s.eng = eng
		srv.Engine = eng
		srv.Forced = eng
		srv.ForcedProducer = eng.Producer()
	}
	// A Whisper export, when named, replaces PocketSphinx as the
	// recognizer (PocketSphinx still aligns English uploads). A folder that
	// does not load is an error every call reports (FailedPrecondition
	// naming the file), never a silent fall back to English-only.
	if wdir := os.Getenv(whisper.EnvModelDir); wdir != "" {
		rt, err := loadWhisper(dir, wdir)
		if err != nil {
			env.Logger.ErrorContext(ctx, "whisper model unusable", "dir", wdir, "err", err)
			srv.Engine, srv.EngineErr = nil, err
		} else {
			s.whisper = rt
			srv.Engine, srv.EngineErr = whisper.NewEngine(rt, whisper.Options{}), nil
		}
	}
	if why := srv.VAD.Unavailable(); why != "" {
		env.Logger.WarnContext(ctx, "silero vad unavailable: chunking at energy pauses", "why", why)
	}
	return s, nil
}

// Name implements server.Service.
func (s *Service) Name() string { return "transcribe" }

// Register implements server.Service.
func (s *Service) Register(g *grpc.Server) { s.srv.Register(g) }

// Ready implements server.Readier: it fails while no recognizer can run.
func (s *Service) Ready(ctx context.Context) error { return s.srv.Ready(ctx) }
