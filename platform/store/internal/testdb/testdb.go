// Package testdb creates throwaway PostgreSQL databases for tests; it is
// shared by package store's own tests and by storetest.
package testdb

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"testing"
	"time"

	// Registers the "pgx" database/sql driver.
	_ "github.com/jackc/pgx/v5/stdlib"
)

const (
	// EnvPostgresURL names the environment variable holding the URL of the
	// PostgreSQL server tests create their databases on.
	EnvPostgresURL = "CLIPMESH_TEST_POSTGRES_URL"
	// EnvRequireServices names the environment variable that, set to 1,
	// turns a missing test service from a skip into a failure.
	EnvRequireServices = "CLIPMESH_TEST_REQUIRE_SERVICES"
)

// PostgresURL creates a fresh, empty, uniquely named database on the server
// named by $CLIPMESH_TEST_POSTGRES_URL and returns its URL; the database is
// dropped at cleanup. Without the variable it skips t, or fails it when
// $CLIPMESH_TEST_REQUIRE_SERVICES is 1.
func PostgresURL(t testing.TB) string {
	t.Helper()
	admin := os.Getenv(EnvPostgresURL)
	if admin == "" {
		const msg = EnvPostgresURL + " is not set: run `make test`, which starts PostgreSQL " +
			"and Redis, or eval \"$(scripts/test-services.sh)\" first"
		if os.Getenv(EnvRequireServices) == "1" {
			t.Fatal(msg + " (" + EnvRequireServices + "=1 forbids skipping)")
		}
		t.Skip(msg)
	}
	u, err := url.Parse(admin)
	if err != nil {
		// Not the error itself: url.Parse quotes the whole URL, password included.
		t.Fatalf("testdb: %s does not parse as a URL", EnvPostgresURL)
	}

	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatalf("testdb: random database name: %v", err)
	}
	name := "clipmesh_test_" + hex.EncodeToString(b[:])

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	db, err := sql.Open("pgx", admin)
	if err != nil {
		t.Fatalf("testdb: open %s: %v", u.Redacted(), err)
	}
	if _, err := db.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		_ = db.Close()
		t.Fatalf("testdb: create database %s on %s: %v", name, u.Redacted(), err)
	}
	t.Cleanup(func() {
		defer db.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		// FORCE (PostgreSQL 13+) ends sessions a test left open.
		if _, err := db.ExecContext(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("testdb: drop database %s: %v", name, err)
		}
	})

	u.Path = "/" + name
	return u.String()
}
