// Package mesh assembles every clipmesh service and the REST gateway into
// one process: the all-in-one behind `clipmesh serve` and the in-process
// mesh of `clipmesh analyze`. Services still reach each other through gRPC
// clients, so the code path and the traces match a split deployment.
package mesh

import (
	"context"
	"fmt"

	"github.com/clipmesh/clipmesh/gateway"
	"github.com/clipmesh/clipmesh/platform/app"
	"github.com/clipmesh/clipmesh/platform/server"
	"github.com/clipmesh/clipmesh/services/analytics"
	"github.com/clipmesh/clipmesh/services/audio"
	"github.com/clipmesh/clipmesh/services/clips"
	"github.com/clipmesh/clipmesh/services/collab"
	"github.com/clipmesh/clipmesh/services/jobs"
	"github.com/clipmesh/clipmesh/services/nlp"
	"github.com/clipmesh/clipmesh/services/transcribe"
	"github.com/clipmesh/clipmesh/services/vision"
)

// Config is the all-in-one's configuration.
type Config struct {
	app.Config `embed:""`
	Jobs       jobs.Config      `embed:"" prefix:"jobs-"`
	Clips      clips.Config     `embed:"" prefix:"clips-"`
	Analytics  analytics.Config `embed:""`
}

// Serve runs every service and the gateway on env until ctx is done.
func Serve(ctx context.Context, env *app.Env, cfg Config) error {
	svcs, err := Services(ctx, env, cfg)
	if err != nil {
		return err
	}
	cc, err := env.SelfConn()
	if err != nil {
		return err
	}
	h, err := gateway.New(ctx, cc, gateway.Options{
		MaxUploadBytes: cfg.MaxUploadBytes, CORSAllowedOrigins: cfg.CORSOrigins, Logger: env.Logger,
	})
	if err != nil {
		return fmt.Errorf("mesh: gateway: %w", err)
	}
	return env.Serve(ctx, h, svcs...)
}

// Services builds every service of the mesh on env.
func Services(ctx context.Context, env *app.Env, cfg Config) ([]server.Service, error) {
	j, err := jobs.New(ctx, env, cfg.Jobs)
	if err != nil {
		return nil, err
	}
	out := []server.Service{j}
	for _, build := range []func(context.Context, *app.Env) (server.Service, error){
		func(ctx context.Context, e *app.Env) (server.Service, error) { return vision.New(ctx, e) },
		func(ctx context.Context, e *app.Env) (server.Service, error) { return audio.New(ctx, e) },
		func(ctx context.Context, e *app.Env) (server.Service, error) { return transcribe.New(ctx, e) },
		func(ctx context.Context, e *app.Env) (server.Service, error) { return nlp.New(ctx, e) },
		func(ctx context.Context, e *app.Env) (server.Service, error) {
			return analytics.NewWithConfig(ctx, e, cfg.Analytics)
		},
		func(ctx context.Context, e *app.Env) (server.Service, error) { return clips.New(ctx, e, cfg.Clips) },
		func(ctx context.Context, e *app.Env) (server.Service, error) { return collab.New(ctx, e) },
	} {
		s, err := build(ctx, env)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}
