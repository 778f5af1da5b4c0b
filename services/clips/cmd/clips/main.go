// Command clips runs the clipmesh clips service on its own, against external
// NATS and database (CLIPMESH_NATS_URL, CLIPMESH_DATABASE_URL).
package main

import (
	"context"

	"github.com/alecthomas/kong"

	"github.com/clipmesh/clipmesh/platform/app"
	"github.com/clipmesh/clipmesh/services/clips"
)

func main() {
	var cli struct {
		app.Config `embed:""`
		Clips      clips.Config `embed:"" prefix:"clips-"`
	}
	kong.Parse(&cli, kong.Description("clipmesh clips service"))
	app.Run("clips", cli.Config, func(ctx context.Context, env *app.Env) error {
		svc, err := clips.New(ctx, env, cli.Clips)
		if err != nil {
			return err
		}
		return env.Serve(ctx, nil, svc)
	})
}
