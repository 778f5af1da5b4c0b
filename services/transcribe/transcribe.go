// Package transcribe is the transcribe service: speech to text with word timings and language detection. It runs alone (cmd/transcribe) or
// inside the all-in-one clipmesh binary. Its RPCs answer Unimplemented until
// their analysis lands; the jobs pipeline reports such a stage as skipped.
package transcribe

import (
	"context"

	"google.golang.org/grpc"

	transcribev1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/transcribe/v1"
	"github.com/clipmesh/clipmesh/platform/app"
)

// Service is the transcribe service.
type Service struct {
	transcribev1.UnimplementedTranscribeServiceServer
}

// New builds the service on env's infrastructure.
func New(_ context.Context, _ *app.Env) (*Service, error) { return &Service{}, nil }

// Name implements server.Service.
func (s *Service) Name() string { return "transcribe" }

// Register implements server.Service.
func (s *Service) Register(g *grpc.Server) { transcribev1.RegisterTranscribeServiceServer(g, s) }
