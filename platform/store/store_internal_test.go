package store

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/clipmesh/clipmesh/platform/store/internal/testdb"
)

func TestMaskURL(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"postgres://u:pw@h:5432/db?sslmode=disable", "postgres://u:xxxxx@h:5432/db?sslmode=disable"},
		{"postgres://u@h/db", "postgres://u@h/db"},
		{"postgres://h/db?password=pw&user=u", "postgres://h/db?password=xxxxx&user=u"},
		{"postgres://h/db?sslpassword=pw", "postgres://h/db?sslpassword=xxxxx"},
		{"postgres://u:p%40w@h/db", "postgres://u:xxxxx@h/db"},
		// Does not parse (bad port): masked textually.
		{"postgres://u:pw@h:port/db?password=pw", "postgres://u:xxxxx@h:port/db?password=xxxxx"},
	}
	for _, tt := range tests {
		if got := maskURL(tt.in); got != tt.want {
			t.Errorf("maskURL(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestRedact(t *testing.T) {
	t.Parallel()
	base := errors.New("connect to postgres://u:s3cret@h/db failed: password=s3cret rejected")
	err := redact(base, "postgres://u:s3cret@h/db")
	if strings.Contains(err.Error(), "s3cret") {
		t.Errorf("redact left the password in %q", err)
	}
	if !errors.Is(err, base) {
		t.Error("redacted error does not wrap the original")
	}
	clean := errors.New("dial tcp: connection refused")
	if got := redact(clean, "postgres://u:s3cret@h/db"); got != clean {
		t.Errorf("redact changed an error without a password: %v", got)
	}
}

func TestSQLiteDSN(t *testing.T) {
	t.Parallel()
	const all = "_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)&_txlock=immediate"
	tests := []struct{ path, query, want string }{
		{"/d/x.db", "", "/d/x.db?" + all},
		{"file:x.db", "mode=ro", "file:x.db?" + all + "&mode=ro"},
		{"x.db", "_pragma=busy_timeout(5)", "x.db?_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)&_txlock=immediate&_pragma=busy_timeout(5)"},
		{"x.db", "_pragma=Journal_Mode = delete&_fk=0&_txlock=deferred", "x.db?_pragma=busy_timeout(10000)&_pragma=Journal_Mode = delete&_fk=0&_txlock=deferred"},
		{"x.db", "_timeout=5", "x.db?_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)&_txlock=immediate&_timeout=5"},
	}
	for _, tt := range tests {
		if got := sqliteDSN(tt.path, tt.query); got != tt.want {
			t.Errorf("sqliteDSN(%q, %q) =\n%q, want\n%q", tt.path, tt.query, got, tt.want)
		}
	}
}

// TestMigrationLockExcludes holds the migration lock from one handle and
// checks that Migrate on another handle of the same database waits for it.
func TestMigrationLockExcludes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		url  func(t *testing.T) string
	}{
		{"sqlite", func(t *testing.T) string { return "sqlite://" + filepath.Join(t.TempDir(), "x.db") }},
		{"postgres", func(t *testing.T) string { return testdb.PostgresURL(t) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			url := tt.url(t)
			holder, err := Open(ctx, url, "")
			if err != nil {
				t.Fatal(err)
			}
			defer holder.Close()
			waiter, err := Open(ctx, url, "")
			if err != nil {
				t.Fatal(err)
			}
			defer waiter.Close()

			unlock, err := holder.lockMigrations(ctx)
			if err != nil {
				t.Fatalf("lockMigrations() = %v", err)
			}
			short, cancel := context.WithTimeout(ctx, 1500*time.Millisecond)
			defer cancel()
			if err := waiter.Migrate(short); !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("Migrate() while another holds the lock = %v, want %v", err, context.DeadlineExceeded)
			}
			if v, err := waiter.Version(ctx); err != nil || v != 0 {
				t.Errorf("Version() after the blocked Migrate = %d, %v; want 0, nil", v, err)
			}

			done := make(chan error, 1)
			go func() { done <- waiter.Migrate(ctx) }()
			time.Sleep(100 * time.Millisecond)
			if err := unlock(); err != nil {
				t.Fatalf("unlock() = %v", err)
			}
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("Migrate() after unlock = %v", err)
				}
			case <-time.After(30 * time.Second):
				t.Fatal("Migrate() still waiting 30s after unlock")
			}
		})
	}
}
