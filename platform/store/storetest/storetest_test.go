package storetest_test

import (
	"sync"
	"testing"

	"github.com/clipmesh/clipmesh/platform/store"
	"github.com/clipmesh/clipmesh/platform/store/storetest"
)

func TestEach(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	seen := map[string]store.Dialect{}
	t.Run("each", func(t *testing.T) {
		storetest.Each(t, func(t *testing.T, db *store.DB) {
			t.Parallel()
			v, err := db.Version(t.Context())
			if err != nil || v == 0 {
				t.Errorf("Version() = %d, %v; want a migrated database", v, err)
			}
			mu.Lock()
			seen[t.Name()] = db.Dialect
			mu.Unlock()
		})
	})
	want := map[string]store.Dialect{
		"TestEach/each/sqlite":   store.SQLite,
		"TestEach/each/postgres": store.Postgres,
	}
	for name, d := range want {
		got, ok := seen[name]
		if !ok && d == store.Postgres {
			// Skipped without a server; Postgres's own rule.
			continue
		}
		if got != d {
			t.Errorf("%s got a %q database, want %q", name, got, d)
		}
	}
}

func TestDatabasesAreSeparate(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name string
		open func(testing.TB) *store.DB
	}{
		{"sqlite", storetest.SQLite},
		{"postgres", storetest.Postgres},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a, b := tt.open(t), tt.open(t)
			if _, err := a.ExecContext(t.Context(), `INSERT INTO api_keys (id, tenant, role, key_hash, created_at)
				VALUES ($1, $2, $3, $4, $5)`, "k1", "acme", "admin", "h1", 1); err != nil {
				t.Fatal(err)
			}
			var n int
			if err := b.QueryRowContext(t.Context(), "SELECT count(*) FROM api_keys").Scan(&n); err != nil || n != 0 {
				t.Errorf("second database sees %d rows (%v), want 0", n, err)
			}
		})
	}
}
