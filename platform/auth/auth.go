// Package auth identifies callers: API keys (stored hashed) sent as
// "authorization: Bearer <key>" over gRPC metadata (the gateway forwards the
// REST header), a keyless local admin on loopback, and principals carried
// between services of the mesh.
package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Role is what a principal may do.
type Role string

// Roles, from most to least powerful.
const (
	RoleAdmin  Role = "admin"
	RoleEditor Role = "editor"
	RoleViewer Role = "viewer"
)

// ParseRole validates a role name.
func ParseRole(s string) (Role, error) {
	switch r := Role(strings.ToLower(s)); r {
	case RoleAdmin, RoleEditor, RoleViewer:
		return r, nil
	}
	return "", fmt.Errorf("auth: unknown role %q (want admin, editor or viewer)", s)
}

// LocalTenant is the tenant of the keyless local admin.
const LocalTenant = "local"

// Principal is an authenticated caller.
type Principal struct {
	// Tenant owns every object the principal creates or sees.
	Tenant string
	// Subject identifies the caller: an API key id, or "local".
	Subject string
	// Role is what the caller may do.
	Role Role
}

type ctxKey struct{}

// WithPrincipal returns ctx carrying p.
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, ctxKey{}, p)
}

// FromContext returns the principal of ctx.
func FromContext(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(ctxKey{}).(Principal)
	return p, ok
}

// Errors returned by Keys.
var (
	// ErrUnknownKey means no active key has that value.
	ErrUnknownKey = errors.New("auth: unknown or revoked API key")
	// ErrBadTenant means the tenant name is invalid.
	ErrBadTenant = errors.New("auth: tenant must be 1-64 characters of a-z, 0-9, '-', '_'")
)

// Keys stores API keys, hashed, in SQL (the api_keys table).
type Keys struct{ db *sql.DB }

// NewKeys returns the key store over db.
func NewKeys(db *sql.DB) *Keys { return &Keys{db: db} }

// keyPrefix makes keys recognisable in logs and secret scanners.
const keyPrefix = "cm_"

// Hash is the stored form of a key. Keys are 256-bit random, so a plain
// SHA-256 is enough; a slow hash would only cost every request.
func Hash(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:])
}

// Create makes a key for tenant with role and returns its id and the
// plaintext key, which is shown once and never stored.
func (k *Keys) Create(ctx context.Context, tenant string, role Role, name string) (id, key string, err error) {
	if !validTenant(tenant) {
		return "", "", ErrBadTenant
	}
	if _, err := ParseRole(string(role)); err != nil {
		return "", "", err
	}
	var raw [32]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return "", "", fmt.Errorf("auth: random: %w", err)
	}
	key = keyPrefix + base64.RawURLEncoding.EncodeToString(raw[:])
	var idRaw [6]byte
	if _, err := rand.Read(idRaw[:]); err != nil {
		return "", "", fmt.Errorf("auth: random: %w", err)
	}
	id = "key_" + hex.EncodeToString(idRaw[:])
	_, err = k.db.ExecContext(ctx,
		`INSERT INTO api_keys (id, tenant, role, name, key_hash, created_at) VALUES ($1, $2, $3, $4, $5, $6)`,
		id, tenant, string(role), name, Hash(key), time.Now().UnixNano())
	if err != nil {
		return "", "", fmt.Errorf("auth: store key: %w", err)
	}
	return id, key, nil
}

// Lookup returns the principal of an active key.
func (k *Keys) Lookup(ctx context.Context, key string) (Principal, error) {
	var p Principal
	var role string
	err := k.db.QueryRowContext(ctx,
		`SELECT id, tenant, role FROM api_keys WHERE key_hash = $1 AND revoked_at IS NULL`, Hash(key)).
		Scan(&p.Subject, &p.Tenant, &role)
	if errors.Is(err, sql.ErrNoRows) {
		return Principal{}, ErrUnknownKey
	}
	if err != nil {
		return Principal{}, fmt.Errorf("auth: look up key: %w", err)
	}
	p.Role = Role(role)
	return p, nil
}

// Revoke deactivates a key by id.
func (k *Keys) Revoke(ctx context.Context, id string) error {
	res, err := k.db.ExecContext(ctx, `UPDATE api_keys SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL`, time.Now().UnixNano(), id)
	if err != nil {
		return fmt.Errorf("auth: revoke key: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrUnknownKey
	}
	return nil
}

// Count returns the number of active keys.
func (k *Keys) Count(ctx context.Context) (int, error) {
	var n int
	if err := k.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM api_keys WHERE revoked_at IS NULL`).Scan(&n); err != nil {
		return 0, fmt.Errorf("auth: count keys: %w", err)
	}
	return n, nil
}

func validTenant(t string) bool {
	if len(t) == 0 || len(t) > 64 {
		return false
	}
	for _, c := range t {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// constantTimeEqual compares secrets without leaking their prefix length.
func constantTimeEqual(a, b string) bool {
	return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}
