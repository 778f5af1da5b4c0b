// Command analytics runs the clipmesh analytics service on its own, against external
// NATS and database (CLIPMESH_NATS_URL, CLIPMESH_DATABASE_URL).
package main

import (
	"context"

	"github.com/alecthomas/kong"

	"github.com/clipmesh/clipmesh/platform/app"
	"github.com/clipmesh/clipmesh/services/analytics"
)

func main() {
	var cli struct {
		app.Config `embed:""`
		Analytics  analytics.Config `embed:""`
	}
	kong.Parse(&cli, kong.Description("clipmesh analytics service"))
	app.Run("analytics", cli.Config, func(ctx context.Context, env *app.Env) error {
		svc, err := analytics.NewWithConfig(ctx, env, cli.Analytics)
		if err != nil {
			return err
		}
		return env.Serve(ctx, nil, svc)
	})
}
