// Package clips is the clips service: cutting the best moments into reframed, captioned clips. It runs alone (cmd/clips) or
// inside the all-in-one clipmesh binary. Its RPCs answer Unimplemented until
// their analysis lands; the jobs pipeline reports such a stage as skipped.
package clips

import (
	"context"

	"google.golang.org/grpc"

	clipsv1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/clips/v1"
	"github.com/clipmesh/clipmesh/platform/app"
)

// Service is the clips service.
type Service struct {
	clipsv1.UnimplementedClipsServiceServer
}

// New builds the service on env's infrastructure.
func New(_ context.Context, _ *app.Env) (*Service, error) { return &Service{}, nil }

// Name implements server.Service.
func (s *Service) Name() string { return "clips" }

// Register implements server.Service.
func (s *Service) Register(g *grpc.Server) { clipsv1.RegisterClipsServiceServer(g, s) }
