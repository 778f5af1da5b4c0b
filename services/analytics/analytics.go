// Package analytics is the analytics service: the fusion of every modality into an engagement timeline, moments and detailed analytics. It runs alone (cmd/analytics) or
// inside the all-in-one clipmesh binary. Its RPCs answer Unimplemented until
// their analysis lands; the jobs pipeline reports such a stage as skipped.
package analytics

import (
	"context"

	"google.golang.org/grpc"

	analyticsv1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/analytics/v1"
	"github.com/clipmesh/clipmesh/platform/app"
)

// Service is the analytics service.
type Service struct {
	analyticsv1.UnimplementedAnalyticsServiceServer
}

// New builds the service on env's infrastructure.
func New(_ context.Context, _ *app.Env) (*Service, error) { return &Service{}, nil }

// Name implements server.Service.
func (s *Service) Name() string { return "analytics" }

// Register implements server.Service.
func (s *Service) Register(g *grpc.Server) { analyticsv1.RegisterAnalyticsServiceServer(g, s) }
