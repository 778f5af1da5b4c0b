package store_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/clipmesh/clipmesh/platform/store"
	"github.com/clipmesh/clipmesh/platform/store/storetest"
)

// TestSQLitePlaceholders proves that modernc.org/sqlite binds PostgreSQL
// placeholders by number: $N takes the N-th argument wherever it appears,
// however often, in any order. So clipmesh's queries need no rebinding.
func TestSQLitePlaceholders(t *testing.T) {
	t.Parallel()
	db := storetest.SQLite(t)
	tests := []struct {
		name  string
		query string
		args  []any
		want  string
	}{
		{"in order", "SELECT $1 || $2", []any{"a", "b"}, "ab"},
		{"reversed", "SELECT $2 || $1", []any{"a", "b"}, "ba"},
		{"reused", "SELECT $1 || $2 || $1", []any{"a", "b"}, "aba"},
		{"second first and reused", "SELECT $2 || $1 || $2 || $1", []any{"a", "b"}, "baba"},
		{"two digits", "SELECT $10 || $1", []any{"1", "2", "3", "4", "5", "6", "7", "8", "9", "10"}, "101"},
		{"typed", "SELECT CAST($2 AS TEXT) || '-' || CAST($1 AS TEXT)", []any{int64(7), true}, "1-7"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var got string
			if err := db.QueryRowContext(ctx(t), tt.query, tt.args...).Scan(&got); err != nil {
				t.Fatalf("%s: %v", tt.query, err)
			}
			if got != tt.want {
				t.Errorf("%s with %v = %q, want %q", tt.query, tt.args, got, tt.want)
			}
		})
	}

	t.Run("missing argument", func(t *testing.T) {
		t.Parallel()
		var got string
		if err := db.QueryRowContext(ctx(t), "SELECT $1 || $2", "a").Scan(&got); err == nil {
			t.Errorf("SELECT $1 || $2 with one argument = %q, want an error", got)
		}
	})
}

// TestPlaceholders runs one query text with reused, out-of-order $N
// placeholders against the real schema on both engines.
func TestPlaceholders(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		t.Parallel()
		const insert = `INSERT INTO api_keys (id, tenant, role, name, key_hash, created_at)
			VALUES ($1, $2, $3, $1, $4, $5)`
		for _, k := range []struct{ id, tenant, hash string }{
			{"k1", "acme", "h1"},
			{"k2", "acme", "k1"},
			{"k3", "other", "k1x"},
		} {
			if _, err := db.ExecContext(ctx(t), insert, k.id, k.tenant, "admin", k.hash, int64(1)); err != nil {
				t.Fatal(err)
			}
		}
		// $2 before $1, and $1 twice.
		rows, err := db.QueryContext(ctx(t), `SELECT id, name FROM api_keys
			WHERE tenant = $2 AND (id = $1 OR key_hash = $1) ORDER BY id`, "k1", "acme")
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var got [][2]string
		for rows.Next() {
			var id, name string
			if err := rows.Scan(&id, &name); err != nil {
				t.Fatal(err)
			}
			got = append(got, [2]string{id, name})
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		want := [][2]string{{"k1", "k1"}, {"k2", "k2"}}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("rows (-want +got):\n%s", diff)
		}
	})
}
