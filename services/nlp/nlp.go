// Package nlp is the nlp service: sentiment, emotions, topics, keywords, hooks and chapters of what is said. It runs alone (cmd/nlp) or
// inside the all-in-one clipmesh binary. Its RPCs answer Unimplemented until
// their analysis lands; the jobs pipeline reports such a stage as skipped.
package nlp

import (
	"context"

	"google.golang.org/grpc"

	nlpv1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/nlp/v1"
	"github.com/clipmesh/clipmesh/platform/app"
)

// Service is the nlp service.
type Service struct {
	nlpv1.UnimplementedNlpServiceServer
}

// New builds the service on env's infrastructure.
func New(_ context.Context, _ *app.Env) (*Service, error) { return &Service{}, nil }

// Name implements server.Service.
func (s *Service) Name() string { return "nlp" }

// Register implements server.Service.
func (s *Service) Register(g *grpc.Server) { nlpv1.RegisterNlpServiceServer(g, s) }
