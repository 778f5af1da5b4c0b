package main

import (
	"context"
	"fmt"

	"github.com/clipmesh/clipmesh/platform/auth"
	"github.com/clipmesh/clipmesh/platform/config"
	"github.com/clipmesh/clipmesh/platform/store"
)

type keysCmd struct {
	Create keysCreateCmd `cmd:"" help:"Create an API key; it is printed once."`
	Revoke keysRevokeCmd `cmd:"" help:"Revoke an API key by id."`
}

type dbFlags struct {
	DataDir     string `name:"data-dir" env:"CLIPMESH_DATA_DIR" help:"Data directory (default $XDG_DATA_HOME/clipmesh)."`
	DatabaseURL string `name:"database-url" env:"CLIPMESH_DATABASE_URL" help:"postgres://... or empty for SQLite in the data dir."`
}

func (f dbFlags) open(ctx context.Context) (*auth.Keys, func(), error) {
	dir := f.DataDir
	if dir == "" {
		dir = config.DefaultDataDir()
	}
	db, err := store.Open(ctx, f.DatabaseURL, dir)
	if err != nil {
		return nil, nil, err
	}
	if err := db.Migrate(ctx); err != nil {
		_ = db.Close()
		return nil, nil, err
	}
	return auth.NewKeys(db.DB), func() { _ = db.Close() }, nil
}

type keysCreateCmd struct {
	dbFlags `embed:""`
	Tenant  string `required:"" help:"Tenant that owns what the key creates."`
	Role    string `default:"editor" enum:"admin,editor,viewer" help:"admin, editor or viewer."`
	Name    string `help:"A label for the key."`
}

func (c *keysCreateCmd) Run() error {
	ctx := context.Background()
	keys, done, err := c.open(ctx)
	if err != nil {
		return err
	}
	defer done()
	id, key, err := keys.Create(ctx, c.Tenant, auth.Role(c.Role), c.Name)
	if err != nil {
		return err
	}
	fmt.Printf("id:     %s\ntenant: %s\nrole:   %s\nkey:    %s\n(the key is shown only now; send it as \"Authorization: Bearer <key>\")\n", id, c.Tenant, c.Role, key)
	return nil
}

type keysRevokeCmd struct {
	dbFlags `embed:""`
	ID      string `arg:"" help:"Key id (key_...)."`
}

func (c *keysRevokeCmd) Run() error {
	ctx := context.Background()
	keys, done, err := c.open(ctx)
	if err != nil {
		return err
	}
	defer done()
	if err := keys.Revoke(ctx, c.ID); err != nil {
		return err
	}
	fmt.Println("revoked", c.ID)
	return nil
}
