package store_test

import (
	"sync"
	"testing"

	"github.com/clipmesh/clipmesh/platform/store"
)

// tables lists the user tables of db, sorted.
func tables(t *testing.T, db *store.DB) []string {
	t.Helper()
	q := `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name`
	if db.Dialect == store.Postgres {
		q = `SELECT table_name FROM information_schema.tables
			WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY table_name`
	}
	rows, err := db.QueryContext(ctx(t), q)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		names = append(names, n)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return names
}

// appliedRows counts goose's version-table rows: one per applied migration
// plus goose's initial row.
func appliedRows(t *testing.T, db *store.DB) int {
	t.Helper()
	var n int
	if err := db.QueryRowContext(ctx(t), "SELECT count(*) FROM goose_db_version").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestMigrate(t *testing.T) {
	t.Parallel()
	want := latestVersion(t)
	wantTables := []string{"api_keys", "goose_db_version", "jobs", "videos"}
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			t.Parallel()
			db := open(t, e.url(t))

			if got, err := db.Version(ctx(t)); err != nil || got != 0 {
				t.Fatalf("Version() before Migrate = %d, %v; want 0, nil", got, err)
			}
			if err := db.Migrate(ctx(t)); err != nil {
				t.Fatalf("Migrate() = %v", err)
			}
			if got, err := db.Version(ctx(t)); err != nil || got != want {
				t.Fatalf("Version() = %d, %v; want %d, nil", got, err, want)
			}
			// Later migrations add the services' own tables; the core ones
			// must be there whatever else is.
			have := map[string]bool{}
			for _, tb := range tables(t, db) {
				have[tb] = true
			}
			for _, tb := range wantTables {
				if !have[tb] {
					t.Errorf("table %s missing after Migrate; have %v", tb, tables(t, db))
				}
			}

			// A second Migrate is a no-op.
			rows := appliedRows(t, db)
			if err := db.Migrate(ctx(t)); err != nil {
				t.Fatalf("second Migrate() = %v", err)
			}
			if got, err := db.Version(ctx(t)); err != nil || got != want {
				t.Errorf("Version() after second Migrate = %d, %v; want %d, nil", got, err, want)
			}
			if got := appliedRows(t, db); got != rows {
				t.Errorf("second Migrate changed goose_db_version from %d to %d rows", rows, got)
			}
		})
	}
}

// TestMigrateConcurrent migrates one database from several handles at once,
// as several processes starting together would.
func TestMigrateConcurrent(t *testing.T) {
	t.Parallel()
	const migrators = 3
	want := latestVersion(t)
	for _, e := range engines {
		for _, versionTable := range []bool{false, true} {
			name := e.name + "/fresh"
			if versionTable {
				// goose's version table already exists (here made by Version),
				// so every migrator finds migration 1 pending at once.
				name = e.name + "/version_table_exists"
			}
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				url := e.url(t)
				dbs := make([]*store.DB, migrators)
				for i := range dbs {
					dbs[i] = open(t, url)
				}
				if versionTable {
					if v, err := dbs[0].Version(ctx(t)); err != nil || v != 0 {
						t.Fatalf("Version() = %d, %v; want 0, nil", v, err)
					}
				}
				errs := make([]error, migrators)
				var wg sync.WaitGroup
				for i, db := range dbs {
					wg.Go(func() { errs[i] = db.Migrate(ctx(t)) })
				}
				wg.Wait()
				for i, err := range errs {
					if err != nil {
						t.Errorf("Migrate() on handle %d = %v", i, err)
					}
				}
				for i, db := range dbs {
					if got, err := db.Version(ctx(t)); err != nil || got != want {
						t.Errorf("handle %d: Version() = %d, %v; want %d, nil", i, got, err, want)
					}
				}
				// Each migration recorded once, plus goose's initial row.
				if got, want := appliedRows(t, dbs[0]), len(migrationVersions(t))+1; got != want {
					t.Errorf("goose_db_version has %d rows, want %d", got, want)
				}
			})
		}
	}
}
