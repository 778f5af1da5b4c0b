package store_test

import (
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/clipmesh/clipmesh/platform/store"
	"github.com/clipmesh/clipmesh/platform/store/internal/testdb"
)

func TestOpenSQLite(t *testing.T) {
	t.Parallel()
	cwd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		// args returns Open's url and dataDir, and the file Open should use.
		args            func(dir string) (url, dataDir, file string)
		wantBusyTimeout int
		wantJournal     string
	}{
		{"empty URL uses the data directory", func(dir string) (string, string, string) {
			dataDir := filepath.Join(dir, "not", "yet")
			return "", dataDir, filepath.Join(dataDir, "clipmesh.db")
		}, 10000, "wal"},
		{"absolute path", func(dir string) (string, string, string) {
			return "sqlite://" + filepath.Join(dir, "abs.db"), "", filepath.Join(dir, "abs.db")
		}, 10000, "wal"},
		{"relative path", func(dir string) (string, string, string) {
			rel, err := filepath.Rel(cwd, filepath.Join(dir, "rel.db"))
			if err != nil {
				t.Fatal(err)
			}
			return "sqlite://" + rel, "", filepath.Join(dir, "rel.db")
		}, 10000, "wal"},
		{"upper-case scheme", func(dir string) (string, string, string) {
			return "SQLite://" + filepath.Join(dir, "upper.db"), "", filepath.Join(dir, "upper.db")
		}, 10000, "wal"},
		{"file URI", func(dir string) (string, string, string) {
			return "file:" + filepath.Join(dir, "uri.db") + "?mode=rwc", "", filepath.Join(dir, "uri.db")
		}, 10000, "wal"},
		{"URL parameters override the defaults", func(dir string) (string, string, string) {
			return "sqlite://" + filepath.Join(dir, "q.db") + "?_pragma=busy_timeout(1234)", "", filepath.Join(dir, "q.db")
		}, 1234, "wal"},
		{"URL shorthand keys override the defaults", func(dir string) (string, string, string) {
			return "sqlite://" + filepath.Join(dir, "k.db") + "?_busy_timeout=4321&_journal_mode=DELETE", "", filepath.Join(dir, "k.db")
		}, 4321, "delete"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			u, dataDir, file := tt.args(t.TempDir())
			db, err := store.Open(ctx(t), u, dataDir)
			if err != nil {
				t.Fatalf("Open(%q, %q) = %v", u, dataDir, err)
			}
			t.Cleanup(func() { _ = db.Close() })
			if db.Dialect != store.SQLite {
				t.Errorf("Dialect = %q, want %q", db.Dialect, store.SQLite)
			}
			if _, err := os.Stat(file); err != nil {
				t.Errorf("database file: %v", err)
			}
			// Every pooled connection gets the settings: hold several at once.
			for i := range 3 {
				conn, err := db.Conn(ctx(t))
				if err != nil {
					t.Fatal(err)
				}
				defer conn.Close()
				var journal string
				var busy, fk int
				for q, dst := range map[string]any{
					"PRAGMA journal_mode": &journal,
					"PRAGMA busy_timeout": &busy,
					"PRAGMA foreign_keys": &fk,
				} {
					if err := conn.QueryRowContext(ctx(t), q).Scan(dst); err != nil {
						t.Fatalf("%s: %v", q, err)
					}
				}
				if journal != tt.wantJournal || busy != tt.wantBusyTimeout || fk != 1 {
					t.Errorf("connection %d: journal_mode=%s busy_timeout=%d foreign_keys=%d, want %s %d 1",
						i, journal, busy, fk, tt.wantJournal, tt.wantBusyTimeout)
				}
			}
		})
	}
}

func TestOpenPostgres(t *testing.T) {
	t.Parallel()
	u := testdb.PostgresURL(t)
	for _, scheme := range []string{"postgres", "postgresql"} {
		t.Run(scheme, func(t *testing.T) {
			t.Parallel()
			_, rest, _ := strings.Cut(u, "://")
			db := open(t, scheme+"://"+rest)
			if db.Dialect != store.Postgres {
				t.Errorf("Dialect = %q, want %q", db.Dialect, store.Postgres)
			}
			var one int
			if err := db.QueryRowContext(ctx(t), "SELECT 1").Scan(&one); err != nil || one != 1 {
				t.Errorf("SELECT 1 = %d, %v", one, err)
			}
		})
	}
}

func TestOpenErrors(t *testing.T) {
	t.Parallel()
	const secret = "hunter2-s3cret"
	tests := []struct {
		name    string
		url     string
		dataDir string
		want    []string // substrings of the error
	}{
		{"unsupported scheme", "mysql://root:" + secret + "@127.0.0.1/clipmesh", "",
			[]string{`unsupported database URL scheme "mysql"`, "sqlite://", "postgres://"}},
		{"unsupported scheme redis", "redis://127.0.0.1:6379", "",
			[]string{`unsupported database URL scheme "redis"`}},
		{"no scheme, a path", "/var/lib/clipmesh/clipmesh.db", "",
			[]string{"no scheme", "sqlite://"}},
		{"no scheme, a key=value DSN", "host=127.0.0.1 user=clipmesh password=" + secret, "",
			[]string{"no scheme"}},
		{"no URL and no data directory", "", "",
			[]string{"empty database URL and empty data directory"}},
		{"sqlite without a path", "sqlite://", "",
			[]string{"no database path"}},
		{"sqlite in a missing directory", "sqlite:///nonexistent-clipmesh-dir/sub/x.db", "",
			[]string{"store: open sqlite /nonexistent-clipmesh-dir/sub/x.db"}},
		{"unreachable postgres", "postgres://clipmesh:" + secret + "@127.0.0.1:1/postgres?sslmode=disable&connect_timeout=5", "",
			[]string{"store: open postgres postgres://clipmesh:xxxxx@127.0.0.1:1/postgres"}},
		{"unreachable postgresql", "postgresql://clipmesh:" + secret + "@127.0.0.1:1/postgres?sslmode=disable&connect_timeout=5", "",
			[]string{"store: open postgres postgresql://clipmesh:xxxxx@127.0.0.1:1/postgres"}},
		{"password as a URL parameter", "postgres://127.0.0.1:1/postgres?user=clipmesh&password=" + secret + "&sslmode=disable&connect_timeout=5", "",
			[]string{"store: open postgres", "password=xxxxx"}},
		{"malformed postgres URL", "postgres://clipmesh:" + secret + "@127.0.0.1:notaport/postgres", "",
			[]string{"store: open postgres postgres://clipmesh:xxxxx@127.0.0.1:notaport/postgres"}},
		{"escaped password", "postgres://clipmesh:" + url.PathEscape(secret+"/@:") + "@127.0.0.1:1/postgres?connect_timeout=5", "",
			[]string{"store: open postgres postgres://clipmesh:xxxxx@127.0.0.1:1/postgres"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			db, err := store.Open(ctx(t), tt.url, tt.dataDir)
			if err == nil {
				_ = db.Close()
				t.Fatalf("Open(%q, %q) = nil error", tt.url, tt.dataDir)
			}
			msg := err.Error()
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("Open(%q) error %q does not contain %q", tt.url, msg, w)
				}
			}
			if strings.Contains(msg, "hunter2") {
				t.Errorf("Open(%q) error leaks the password: %q", tt.url, msg)
			}
		})
	}
}

// TestOpenPostgresWrongPassword checks the error of a server that rejects
// the password: it must not repeat it.
func TestOpenPostgresWrongPassword(t *testing.T) {
	t.Parallel()
	u, err := url.Parse(testdb.PostgresURL(t))
	if err != nil {
		t.Fatal(err)
	}
	const secret = "hunter2-wrong"
	u.User = url.UserPassword(u.User.Username(), secret)
	db, err := store.Open(ctx(t), u.String(), "")
	if err == nil {
		_ = db.Close()
		t.Fatal("Open with a wrong password = nil error")
	}
	if msg := err.Error(); strings.Contains(msg, "hunter2") || !strings.Contains(msg, ":xxxxx@") {
		t.Errorf("error %q: want the password masked as xxxxx", msg)
	}
}
