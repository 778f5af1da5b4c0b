package store_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/clipmesh/clipmesh/platform/store"
	"github.com/clipmesh/clipmesh/platform/store/internal/testdb"
)

// engine makes fresh, empty (unmigrated) databases of one dialect.
type engine struct {
	name string
	// url returns the URL of a fresh database that several handles can open.
	url func(t *testing.T) string
}

var engines = []engine{
	{
		name: "sqlite",
		url: func(t *testing.T) string {
			return "sqlite://" + filepath.Join(t.TempDir(), "test.db")
		},
	},
	{
		name: "postgres",
		url: func(t *testing.T) string {
			return testdb.PostgresURL(t)
		},
	},
}

// ctx returns a context for one test step.
func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(t.Context(), time.Minute)
	t.Cleanup(cancel)
	return c
}

// open opens url and closes the handle at cleanup.
func open(t *testing.T, url string) *store.DB {
	t.Helper()
	db, err := store.Open(ctx(t), url, "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// latestVersion is the highest version among migrations/NNNNN_*.sql, read
// from the directory rather than from goose, so the two can disagree.
func latestVersion(t *testing.T) int64 {
	t.Helper()
	return slices.Max(migrationVersions(t))
}

// migrationVersions lists the versions of migrations/NNNNN_*.sql.
func migrationVersions(t *testing.T) []int64 {
	t.Helper()
	entries, err := os.ReadDir("migrations")
	if err != nil {
		t.Fatal(err)
	}
	var versions []int64
	for _, e := range entries {
		prefix, _, ok := strings.Cut(e.Name(), "_")
		if !ok || !strings.HasSuffix(e.Name(), ".sql") {
			continue
		}
		v, err := strconv.ParseInt(prefix, 10, 64)
		if err != nil {
			t.Fatalf("migration %s: version: %v", e.Name(), err)
		}
		versions = append(versions, v)
	}
	if len(versions) == 0 {
		t.Fatal("no migrations found")
	}
	return versions
}
