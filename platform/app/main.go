package app

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

// Run is a service main's body: it opens the process's infrastructure for
// cfg, calls serve (which builds the services and calls env.Serve) until
// SIGINT or SIGTERM, and exits 1 with the error if anything fails.
func Run(name string, cfg Config, serve func(ctx context.Context, env *Env) error) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, name, cfg, serve); err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
		stop()
		os.Exit(1)
	}
}

func run(ctx context.Context, name string, cfg Config, serve func(ctx context.Context, env *Env) error) error {
	env, err := Open(ctx, name, cfg)
	if err != nil {
		return err
	}
	return serve(ctx, env)
}
