package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/clipmesh/clipmesh/internal/mesh"
	"github.com/clipmesh/clipmesh/platform/app"
)

type serveCmd struct {
	mesh.Config `embed:""`
}

func (s *serveCmd) Run() error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	env, err := app.Open(ctx, "clipmesh", s.Config.Config)
	if err != nil {
		return err
	}
	return mesh.Serve(ctx, env, s.Config)
}
