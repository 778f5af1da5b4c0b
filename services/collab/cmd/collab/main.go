// Command collab runs the clipmesh collab service on its own, against external
// NATS and database (CLIPMESH_NATS_URL, CLIPMESH_DATABASE_URL).
package main

import (
	"context"

	"github.com/alecthomas/kong"

	"github.com/clipmesh/clipmesh/platform/app"
	"github.com/clipmesh/clipmesh/services/collab"
)

func main() {
	var cli struct {
		app.Config `embed:""`
	}
	kong.Parse(&cli, kong.Description("clipmesh collab service"))
	app.Run("collab", cli.Config, func(ctx context.Context, env *app.Env) error {
		svc, err := collab.New(ctx, env)
		if err != nil {
			return err
		}
		return env.Serve(ctx, nil, svc)
	})
}
