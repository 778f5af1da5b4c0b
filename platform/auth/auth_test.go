package auth_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/clipmesh/clipmesh/platform/auth"
	"github.com/clipmesh/clipmesh/platform/store"
	"github.com/clipmesh/clipmesh/platform/store/storetest"
)

func TestParseRole(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		in      string
		want    auth.Role
		wantErr bool
	}{
		{in: "admin", want: auth.RoleAdmin},
		{in: "editor", want: auth.RoleEditor},
		{in: "viewer", want: auth.RoleViewer},
		{in: "ADMIN", want: auth.RoleAdmin},
		{in: "Viewer", want: auth.RoleViewer},
		{in: "", wantErr: true},
		{in: "root", wantErr: true},
		{in: " admin", wantErr: true},
		{in: "admins", wantErr: true},
	} {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			got, err := auth.ParseRole(tt.in)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("ParseRole(%q) = %q, nil; want an error", tt.in, got)
				}
				if !strings.Contains(err.Error(), "admin, editor or viewer") {
					t.Errorf("ParseRole(%q) error %q does not list the valid roles", tt.in, err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("ParseRole(%q) = %q, %v; want %q, nil", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestHash(t *testing.T) {
	t.Parallel()
	a, b := auth.Hash("cm_one"), auth.Hash("cm_two")
	if a == b {
		t.Errorf("Hash gives %q for two different keys", a)
	}
	if a != auth.Hash("cm_one") {
		t.Error("Hash is not deterministic")
	}
	if len(a) != 64 || strings.Contains(a, "cm_one") {
		t.Errorf("Hash(%q) = %q, want 64 hex digits not containing the key", "cm_one", a)
	}
}

func TestPrincipalContext(t *testing.T) {
	t.Parallel()
	if p, ok := auth.FromContext(t.Context()); ok {
		t.Errorf("FromContext(empty) = %+v, true; want false", p)
	}
	want := auth.Principal{Tenant: "acme", Subject: "key_1", Role: auth.RoleEditor}
	got, ok := auth.FromContext(auth.WithPrincipal(t.Context(), want))
	if !ok || got != want {
		t.Errorf("FromContext = %+v, %v; want %+v, true", got, ok, want)
	}
}

func TestKeys(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		t.Parallel()
		ctx := t.Context()
		keys := auth.NewKeys(db.DB)

		count := func(want int) {
			t.Helper()
			n, err := keys.Count(ctx)
			if err != nil || n != want {
				t.Fatalf("Count() = %d, %v; want %d, nil", n, err, want)
			}
		}
		count(0)

		id, key, err := keys.Create(ctx, "acme", auth.RoleEditor, "ci runner")
		if err != nil {
			t.Fatalf("Create: %v", err)
		}
		if !strings.HasPrefix(id, "key_") || !strings.HasPrefix(key, "cm_") || len(key) < 40 {
			t.Errorf("Create() = id %q, key %q; want key_… and a long cm_… key", id, key)
		}
		id2, key2, err := keys.Create(ctx, "acme", auth.RoleViewer, "")
		if err != nil {
			t.Fatalf("Create second key: %v", err)
		}
		if id2 == id || key2 == key {
			t.Errorf("two keys share an id or a value: %q/%q and %q/%q", id, key, id2, key2)
		}
		count(2)

		// Only the hash is stored, never the key.
		var hash, name, role, tenant string
		if err := db.QueryRowContext(ctx, `SELECT key_hash, name, role, tenant FROM api_keys WHERE id = $1`, id).
			Scan(&hash, &name, &role, &tenant); err != nil {
			t.Fatalf("read stored key: %v", err)
		}
		if hash == key || strings.Contains(hash, key) || hash != auth.Hash(key) {
			t.Errorf("stored key_hash = %q; want Hash(key), not the key", hash)
		}
		if name != "ci runner" || role != "editor" || tenant != "acme" {
			t.Errorf("stored row = name %q role %q tenant %q", name, role, tenant)
		}
		var n int
		if err := db.QueryRowContext(ctx,
			`SELECT COUNT(*) FROM api_keys WHERE key_hash = $1 OR id = $1 OR name = $1 OR tenant = $1`, key).Scan(&n); err != nil || n != 0 {
			t.Errorf("the plaintext key is stored in %d rows (%v)", n, err)
		}

		got, err := keys.Lookup(ctx, key)
		want := auth.Principal{Tenant: "acme", Subject: id, Role: auth.RoleEditor}
		if err != nil || got != want {
			t.Errorf("Lookup(key) = %+v, %v; want %+v", got, err, want)
		}
		for _, bad := range []string{"", "cm_nope", auth.Hash(key), key + "x"} {
			if p, err := keys.Lookup(ctx, bad); !errors.Is(err, auth.ErrUnknownKey) {
				t.Errorf("Lookup(%q) = %+v, %v; want ErrUnknownKey", bad, p, err)
			}
		}

		if err := keys.Revoke(ctx, id); err != nil {
			t.Fatalf("Revoke: %v", err)
		}
		if p, err := keys.Lookup(ctx, key); !errors.Is(err, auth.ErrUnknownKey) {
			t.Errorf("Lookup(revoked) = %+v, %v; want ErrUnknownKey", p, err)
		}
		if err := keys.Revoke(ctx, id); !errors.Is(err, auth.ErrUnknownKey) {
			t.Errorf("Revoke twice = %v; want ErrUnknownKey", err)
		}
		if err := keys.Revoke(ctx, "key_missing"); !errors.Is(err, auth.ErrUnknownKey) {
			t.Errorf("Revoke(unknown) = %v; want ErrUnknownKey", err)
		}
		count(1)
		if p, err := keys.Lookup(ctx, key2); err != nil || p.Subject != id2 || p.Role != auth.RoleViewer {
			t.Errorf("Lookup(other key) after revoke = %+v, %v", p, err)
		}
	})
}

func TestKeysCreateRefusesBadInput(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		t.Parallel()
		keys := auth.NewKeys(db.DB)
		for _, tt := range []struct {
			name, tenant string
			role         auth.Role
			wantErr      error
		}{
			{"empty tenant", "", auth.RoleAdmin, auth.ErrBadTenant},
			{"upper case", "Acme", auth.RoleAdmin, auth.ErrBadTenant},
			{"space", "ac me", auth.RoleAdmin, auth.ErrBadTenant},
			{"slash", "acme/other", auth.RoleAdmin, auth.ErrBadTenant},
			{"quote", "acme'--", auth.RoleAdmin, auth.ErrBadTenant},
			{"unicode", "acmé", auth.RoleAdmin, auth.ErrBadTenant},
			{"65 characters", strings.Repeat("a", 65), auth.RoleAdmin, auth.ErrBadTenant},
			{"unknown role", "acme", auth.Role("root"), nil},
			{"empty role", "acme", auth.Role(""), nil},
		} {
			t.Run(tt.name, func(t *testing.T) {
				id, key, err := keys.Create(t.Context(), tt.tenant, tt.role, "x")
				if err == nil {
					t.Fatalf("Create(%q, %q) = %q, %q, nil; want an error", tt.tenant, tt.role, id, key)
				}
				if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
					t.Errorf("Create(%q, %q) error = %v; want %v", tt.tenant, tt.role, err, tt.wantErr)
				}
			})
		}
		if n, err := keys.Count(t.Context()); err != nil || n != 0 {
			t.Errorf("Count() after refused creates = %d, %v; want 0", n, err)
		}
		// The limits themselves are accepted.
		for _, tenant := range []string{"a", strings.Repeat("z", 64), "team-1_b"} {
			if _, _, err := keys.Create(t.Context(), tenant, auth.RoleViewer, ""); err != nil {
				t.Errorf("Create(%q) = %v; want nil", tenant, err)
			}
		}
	})
}

func TestKeysOnClosedDatabase(t *testing.T) {
	t.Parallel()
	db := storetest.SQLite(t)
	keys := auth.NewKeys(db.DB)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	if _, err := keys.Lookup(ctx, "cm_x"); err == nil || errors.Is(err, auth.ErrUnknownKey) {
		t.Errorf("Lookup on a closed DB = %v; want a database error, not ErrUnknownKey", err)
	}
	if _, err := keys.Count(ctx); err == nil {
		t.Error("Count on a closed DB = nil error")
	}
	if _, _, err := keys.Create(ctx, "acme", auth.RoleAdmin, ""); err == nil {
		t.Error("Create on a closed DB = nil error")
	}
	if err := keys.Revoke(ctx, "key_x"); err == nil || errors.Is(err, auth.ErrUnknownKey) {
		t.Errorf("Revoke on a closed DB = %v; want a database error", err)
	}
}

func TestAllLoopback(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		addrs []string
		want  bool
	}{
		{[]string{"127.0.0.1:9090"}, true},
		{[]string{"127.1.2.3:9090"}, true},
		{[]string{"[::1]:1"}, true},
		{[]string{"localhost:80"}, true},
		{[]string{""}, true}, // an unset listener binds nothing
		{nil, true},
		{[]string{"0.0.0.0:1"}, false},
		{[]string{"[::]:1"}, false},
		{[]string{"10.0.0.1:2"}, false},
		{[]string{":8080"}, false}, // all interfaces
		{[]string{"example.com:80"}, false},
		{[]string{"127.0.0.1"}, false}, // no port: not an address we understand
		{[]string{"127.0.0.1:9090", "", "[::1]:8080", "localhost:6060"}, true},
		{[]string{"127.0.0.1:9090", "0.0.0.0:8080"}, false},
	} {
		t.Run(strings.Join(tt.addrs, ","), func(t *testing.T) {
			t.Parallel()
			if got := auth.AllLoopback(tt.addrs...); got != tt.want {
				t.Errorf("AllLoopback(%q) = %v, want %v", tt.addrs, got, tt.want)
			}
		})
	}
}

func TestCheckStartup(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	empty := auth.NewKeys(storetest.SQLite(t).DB)
	withKey := auth.NewKeys(storetest.SQLite(t).DB)
	if _, _, err := withKey.Create(ctx, "acme", auth.RoleAdmin, "ops"); err != nil {
		t.Fatal(err)
	}
	revoked := auth.NewKeys(storetest.SQLite(t).DB)
	id, _, err := revoked.Create(ctx, "acme", auth.RoleAdmin, "ops")
	if err != nil {
		t.Fatal(err)
	}
	if err := revoked.Revoke(ctx, id); err != nil {
		t.Fatal(err)
	}

	for _, tt := range []struct {
		name      string
		keys      *auth.Keys
		addrs     []string
		wantAnon  bool
		wantError bool
	}{
		{"loopback without keys", empty, []string{"127.0.0.1:9090", "127.0.0.1:8080", ""}, true, false},
		{"loopback with keys", withKey, []string{"[::1]:9090", "localhost:8080"}, true, false},
		{"all interfaces without keys", empty, []string{"127.0.0.1:9090", ":8080"}, false, true},
		{"public without keys", empty, []string{"0.0.0.0:9090"}, false, true},
		{"public without keys, unset listeners", empty, []string{"0.0.0.0:9090", "", "127.0.0.1:6060", ""}, false, true},
		{"only revoked keys", revoked, []string{"0.0.0.0:9090"}, false, true},
		{"public with a key", withKey, []string{"0.0.0.0:9090", "10.0.0.1:8080"}, false, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			anon, err := auth.CheckStartup(ctx, tt.keys, tt.addrs...)
			if anon != tt.wantAnon {
				t.Errorf("CheckStartup allowAnonymous = %v, want %v", anon, tt.wantAnon)
			}
			if !tt.wantError {
				if err != nil {
					t.Errorf("CheckStartup() error = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatal("CheckStartup() = nil error; want a refusal")
			}
			if !strings.Contains(err.Error(), "clipmesh keys create") {
				t.Errorf("CheckStartup() error %q does not say how to create a key", err)
			}
			for _, a := range tt.addrs {
				if a != "" && !strings.Contains(err.Error(), a) {
					t.Errorf("CheckStartup() error %q does not name the address %q", err, a)
				}
			}
			if strings.Contains(err.Error(), ", ,") || strings.Contains(err.Error(), ", without") {
				t.Errorf("CheckStartup() error %q lists unset listeners", err)
			}
		})
	}

	t.Run("database error", func(t *testing.T) {
		t.Parallel()
		db := storetest.SQLite(t)
		_ = db.Close()
		anon, err := auth.CheckStartup(ctx, auth.NewKeys(db.DB), "0.0.0.0:9090")
		if err == nil || anon {
			t.Errorf("CheckStartup on a closed DB = %v, %v; want false and an error", anon, err)
		}
		// Loopback never needs the database.
		if anon, err := auth.CheckStartup(ctx, auth.NewKeys(db.DB), "127.0.0.1:9090"); err != nil || !anon {
			t.Errorf("CheckStartup(loopback) on a closed DB = %v, %v; want true, nil", anon, err)
		}
	})
}

func TestAuthenticatorAllowsAnonymous(t *testing.T) {
	t.Parallel()
	keys := auth.NewKeys(storetest.SQLite(t).DB)
	if !auth.NewAuthenticator(keys, true, "").AllowsAnonymous() {
		t.Error("AllowsAnonymous() = false for an authenticator built with true")
	}
	if auth.NewAuthenticator(keys, false, "tok").AllowsAnonymous() {
		t.Error("AllowsAnonymous() = true for an authenticator built with false")
	}
}

// ctxWithTimeout is kept short of the test's own deadline.
func ctxWithTimeout(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), defaultTimeout)
	t.Cleanup(cancel)
	return ctx
}
