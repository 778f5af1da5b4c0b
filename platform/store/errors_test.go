package store_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/clipmesh/clipmesh/platform/store"
	"github.com/clipmesh/clipmesh/platform/store/storetest"
)

func TestIsUniqueViolation(t *testing.T) {
	t.Parallel()
	if store.IsUniqueViolation(nil) {
		t.Error("IsUniqueViolation(nil) = true")
	}
	if store.IsUniqueViolation(errors.New("duplicate key value violates unique constraint")) {
		t.Error("IsUniqueViolation(plain error with a matching message) = true")
	}

	storetest.Each(t, func(t *testing.T, db *store.DB) {
		t.Parallel()
		const insertKey = `INSERT INTO api_keys (id, tenant, role, name, key_hash, created_at)
			VALUES ($1, $2, $3, $4, $5, $6)`
		const insertJob = `INSERT INTO jobs (id, tenant, video_id, state, priority, idempotency_key, job_json, created_at, updated_at)
			VALUES ($1, $2, $3, 1, 0, $4, '{}', 0, 0)`
		exec := func(q string, args ...any) error {
			_, err := db.ExecContext(ctx(t), q, args...)
			return err
		}
		if err := exec(insertKey, "k1", "acme", "admin", "first", "hash1", 1); err != nil {
			t.Fatal(err)
		}
		if err := exec(insertJob, "j1", "acme", "v1", "idem1"); err != nil {
			t.Fatal(err)
		}

		tests := []struct {
			name string
			err  func() error
			want bool
		}{
			{"duplicate primary key", func() error {
				return exec(insertKey, "k1", "acme", "admin", "again", "hash2", 2)
			}, true},
			{"duplicate unique column", func() error {
				return exec(insertKey, "k2", "acme", "admin", "again", "hash1", 2)
			}, true},
			{"duplicate partial unique index", func() error {
				return exec(insertJob, "j2", "acme", "v1", "idem1")
			}, true},
			{"wrapped duplicate", func() error {
				err := exec(insertKey, "k1", "acme", "admin", "again", "hash3", 2)
				return fmt.Errorf("put key: %w", err)
			}, true},
			{"null key outside partial index", func() error {
				if err := exec(insertJob, "j3", "acme", "v1", nil); err != nil {
					return err
				}
				return exec(insertJob, "j4", "acme", "v1", nil)
			}, false},
			{"not null violation", func() error {
				return exec(insertKey, "k3", nil, "admin", "x", "hash4", 3)
			}, false},
			{"syntax error", func() error {
				return exec("INSERT INTO nowhere VALUES (")
			}, false},
			{"no rows", func() error {
				var id string
				return db.QueryRowContext(ctx(t), "SELECT id FROM api_keys WHERE id = $1", "none").Scan(&id)
			}, false},
		}
		for _, tt := range tests {
			err := tt.err()
			if got := store.IsUniqueViolation(err); got != tt.want {
				t.Errorf("%s: IsUniqueViolation(%v) = %v, want %v", tt.name, err, got, tt.want)
			}
			if tt.want && err == nil {
				t.Errorf("%s: no error", tt.name)
			}
		}
		// The failed statements left the first rows alone.
		var n int
		if err := db.QueryRowContext(ctx(t), "SELECT count(*) FROM api_keys").Scan(&n); err != nil || n != 1 {
			t.Errorf("api_keys has %d rows (%v), want 1", n, err)
		}
	})
}
