// Package vision is the vision service: scenes, faces and eyes, emotion, motion, on-screen text, quality, thumbnails and subject tracks. It runs alone (cmd/vision) or
// inside the all-in-one clipmesh binary. Its RPCs answer Unimplemented until
// their analysis lands; the jobs pipeline reports such a stage as skipped.
package vision

import (
	"context"

	"google.golang.org/grpc"

	visionv1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/vision/v1"
	"github.com/clipmesh/clipmesh/platform/app"
)

// Service is the vision service.
type Service struct {
	visionv1.UnimplementedVisionServiceServer
}

// New builds the service on env's infrastructure.
func New(_ context.Context, _ *app.Env) (*Service, error) { return &Service{}, nil }

// Name implements server.Service.
func (s *Service) Name() string { return "vision" }

// Register implements server.Service.
func (s *Service) Register(g *grpc.Server) { visionv1.RegisterVisionServiceServer(g, s) }
