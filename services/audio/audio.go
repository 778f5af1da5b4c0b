// Package audio is the audio service: spectrum, tempo and rhythm, loudness, SNR, voice activity and audio events. It runs alone (cmd/audio) or
// inside the all-in-one clipmesh binary. Its RPCs answer Unimplemented until
// their analysis lands; the jobs pipeline reports such a stage as skipped.
package audio

import (
	"context"

	"google.golang.org/grpc"

	audiov1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/audio/v1"
	"github.com/clipmesh/clipmesh/platform/app"
)

// Service is the audio service.
type Service struct {
	audiov1.UnimplementedAudioServiceServer
}

// New builds the service on env's infrastructure.
func New(_ context.Context, _ *app.Env) (*Service, error) { return &Service{}, nil }

// Name implements server.Service.
func (s *Service) Name() string { return "audio" }

// Register implements server.Service.
func (s *Service) Register(g *grpc.Server) { audiov1.RegisterAudioServiceServer(g, s) }
