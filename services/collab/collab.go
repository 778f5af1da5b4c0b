// Package collab is the collab service: real-time multi-user editing of clip projects. It runs alone (cmd/collab) or
// inside the all-in-one clipmesh binary. Its RPCs answer Unimplemented until
// their analysis lands; the jobs pipeline reports such a stage as skipped.
package collab

import (
	"context"

	"google.golang.org/grpc"

	collabv1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/collab/v1"
	"github.com/clipmesh/clipmesh/platform/app"
)

// Service is the collab service.
type Service struct {
	collabv1.UnimplementedCollabServiceServer
}

// New builds the service on env's infrastructure.
func New(_ context.Context, _ *app.Env) (*Service, error) { return &Service{}, nil }

// Name implements server.Service.
func (s *Service) Name() string { return "collab" }

// Register implements server.Service.
func (s *Service) Register(g *grpc.Server) { collabv1.RegisterCollabServiceServer(g, s) }
