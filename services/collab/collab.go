// Package collab is the collab service: real-time multi-user editing of
// clip projects. It runs alone (cmd/collab) or inside the all-in-one
// clipmesh binary.
//
// Projects, their members and their operation logs live in SQL
// (internal/projects); the document model and its operational
// transformation are internal/doc; internal/server serves
// clipmesh.collab.v1.CollabService.
//
// # One order per project
//
// Each project's operations are numbered 1, 2, 3, … by a SQL transaction,
// not by JetStream: the transaction that appends an operation first
// increments the project's last_seq (taking the row's write lock, so
// appenders to one project take turns on every replica), then reads the log,
// transforms the operation through what its author had not seen, validates
// it and inserts it under the primary key (project_id, seq). The operation
// and its sequence number commit together, so the log has no gap and no
// duplicate whatever crashes; a JetStream stream with expected-last-subject-
// sequence publishes would need the transform to run against the stream and
// a second write to SQL, with a window where the two disagree.
//
// # Fan-out
//
// Once committed, an operation is published as a collabv1.Operation on
// core NATS, subject clipmesh.collab.v1.ops.<project id>; every replica
// subscribes to clipmesh.collab.v1.ops.* and hands it to its own sessions
// of that project. Core NATS may lose or reorder a message; it does not
// matter, because each session sends a project's operations strictly in
// sequence: a duplicate is dropped and a sequence past a gap makes it read
// the missing operations from SQL first. A client that reconnects with its
// last seen sequence is served the rest from SQL the same way.
//
// Presence (who is online, what they look at) is not in the log: it is
// published on clipmesh.collab.v1.presence.<project id> and repeated every
// few seconds, so every replica knows everyone online in every project.
package collab

import (
	"context"

	"google.golang.org/grpc"

	"github.com/clipmesh/clipmesh/platform/app"
	"github.com/clipmesh/clipmesh/services/collab/internal/projects"
	"github.com/clipmesh/clipmesh/services/collab/internal/server"
)

// Service is the collab service.
type Service struct {
	srv  *server.Server
	stop func()
}

// New builds the service on env's infrastructure and subscribes to the
// operations of every replica.
func New(_ context.Context, env *app.Env) (*Service, error) {
	srv := &server.Server{Projects: &projects.Store{DB: env.DB}, NC: env.NATS.NC, Logger: env.Logger}
	stop, err := srv.Listen()
	if err != nil {
		return nil, err
	}
	return &Service{srv: srv, stop: stop}, nil
}

// Name implements server.Service.
func (s *Service) Name() string { return "collab" }

// Register implements server.Service.
func (s *Service) Register(g *grpc.Server) { s.srv.Register(g) }

// Start implements server.Starter: it holds the NATS subscription until
// ctx is done.
func (s *Service) Start(ctx context.Context) error {
	<-ctx.Done()
	s.stop()
	return nil
}
