// Package storetest gives other packages' tests migrated store databases:
// SQLite in a temporary directory, and PostgreSQL in a fresh database on the
// server named by $CLIPMESH_TEST_POSTGRES_URL, each removed when the test
// ends.
//
// A typical store test runs against both engines:
//
//	func TestPut(t *testing.T) {
//		storetest.Each(t, func(t *testing.T, db *store.DB) {
//			t.Parallel()
//			...
//		})
//	}
//
// Without $CLIPMESH_TEST_POSTGRES_URL the PostgreSQL half is skipped, unless
// $CLIPMESH_TEST_REQUIRE_SERVICES=1 (as in CI and `make test`), which makes
// it fail. `eval "$(scripts/test-services.sh)"` sets the variable up.
package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/clipmesh/clipmesh/platform/store"
	"github.com/clipmesh/clipmesh/platform/store/internal/testdb"
)

// setupTimeout bounds opening and migrating a test database.
const setupTimeout = time.Minute

// SQLite returns a migrated SQLite DB in t.TempDir(), closed by t.Cleanup.
func SQLite(t testing.TB) *store.DB {
	t.Helper()
	return open(t, "", t.TempDir())
}

// Postgres returns a migrated DB on a fresh, uniquely named database created
// on the server named by env CLIPMESH_TEST_POSTGRES_URL (e.g.
// postgres://clipmesh:clipmesh@127.0.0.1:5432/postgres?sslmode=disable); the
// database is dropped at cleanup. If the env var is unset, it skips t with a
// message naming `make test`, unless CLIPMESH_TEST_REQUIRE_SERVICES=1, in
// which case it fails t.
func Postgres(t testing.TB) *store.DB {
	t.Helper()
	return open(t, testdb.PostgresURL(t), "")
}

// Each runs fn as a subtest against SQLite and PostgreSQL, named "sqlite"
// and "postgres", each with its own fresh migrated database. fn may call
// t.Parallel. The postgres subtest is skipped (or fails) as Postgres says.
func Each(t *testing.T, fn func(t *testing.T, db *store.DB)) {
	t.Helper()
	t.Run(string(store.SQLite), func(t *testing.T) {
		fn(t, SQLite(t))
	})
	t.Run(string(store.Postgres), func(t *testing.T) {
		fn(t, Postgres(t))
	})
}

// open opens and migrates the database named by url and closes it at cleanup.
func open(t testing.TB, url, dataDir string) *store.DB {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
	defer cancel()
	db, err := store.Open(ctx, url, dataDir)
	if err != nil {
		t.Fatalf("storetest: %v", err)
	}
	// Registered after the database's own cleanup (if any), so it runs
	// first: the handle is closed before the database is dropped.
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Errorf("storetest: close %s database: %v", db.Dialect, err)
		}
	})
	if err := db.Migrate(ctx); err != nil {
		t.Fatalf("storetest: %v", err)
	}
	return db
}
