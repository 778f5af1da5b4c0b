// Command gateway runs the clipmesh REST gateway on its own, in front of
// services deployed separately.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/alecthomas/kong"

	"github.com/clipmesh/clipmesh/gateway"
)

func main() {
	var cfg gateway.StandaloneConfig
	kong.Parse(&cfg, kong.Description("clipmesh REST gateway"))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := gateway.RunStandalone(ctx, cfg); err != nil {
		fmt.Fprintln(os.Stderr, "gateway:", err)
		stop()
		os.Exit(1)
	}
}
