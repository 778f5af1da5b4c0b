// Command clipmesh is the all-in-one clipmesh: `serve` runs the whole mesh
// in one process, `analyze` sends videos through it with progress bars, and
// `keys` manages API keys.
package main

import (
	"fmt"

	"github.com/alecthomas/kong"

	"github.com/clipmesh/clipmesh/platform/app"
)

type cli struct {
	Serve   serveCmd   `cmd:"" help:"Run every service and the REST gateway in one process."`
	Analyze analyzeCmd `cmd:"" help:"Upload and analyse media files, showing progress."`
	Keys    keysCmd    `cmd:"" help:"Manage API keys."`
	Models  modelsCmd  `cmd:"" help:"Fetch and list the models the services need (pinned in one manifest)."`
	Version versionCmd `cmd:"" help:"Print the version."`
}

func main() {
	var c cli
	k := kong.Parse(&c, kong.Name("clipmesh"),
		kong.Description("clipmesh: self-hosted video intelligence and auto-clipping."),
		kong.UsageOnError())
	k.FatalIfErrorf(k.Run())
}

type versionCmd struct{}

func (versionCmd) Run() error {
	fmt.Println("clipmesh", app.Version)
	return nil
}
