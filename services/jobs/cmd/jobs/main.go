// Command jobs runs the clipmesh jobs service (video catalog and analysis
// pipeline) on its own, against external NATS and database.
package main

import (
	"context"

	"github.com/alecthomas/kong"

	"github.com/clipmesh/clipmesh/platform/app"
	"github.com/clipmesh/clipmesh/services/jobs"
)

func main() {
	var cli struct {
		app.Config `embed:""`
		Jobs       jobs.Config `embed:"" prefix:"jobs-"`
	}
	kong.Parse(&cli, kong.Description("clipmesh jobs service"))
	app.Run("jobs", cli.Config, func(ctx context.Context, env *app.Env) error {
		svc, err := jobs.New(ctx, env, cli.Jobs)
		if err != nil {
			return err
		}
		return env.Serve(ctx, nil, svc)
	})
}
