// Package cache keeps finished analyses keyed by what determines them: the
// tenant, the video's content hash, the analysis options and the versions
// of the models and code that produce them. Re-analysing the same bytes with the same
// options then returns at once. Two backends: the SQL store (the default)
// and Redis.
package cache

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	jobsv1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/jobs/v1"
	"github.com/clipmesh/clipmesh/platform/models"
)

// Cache stores analysis results by key.
type Cache interface {
	// Get returns the result stored under key, or ok=false.
	Get(ctx context.Context, key string) (res *jobsv1.AnalysisResult, ok bool, err error)
	// Put stores res under key for ttl.
	Put(ctx context.Context, key string, res *jobsv1.AnalysisResult, ttl time.Duration) error
}

// schema changes whenever the pipeline's result shape or stage logic
// changes in a way the model versions do not capture.
const schema = "clipmesh-analysis/1"

// Versions is the fingerprint of what produces a result: the code's
// version and every model pinned in the embedded manifest (name and
// checksum). A new model or build makes every earlier entry unreachable.
func Versions(codeVersion string) (string, error) {
	m, err := models.Load()
	if err != nil {
		return "", fmt.Errorf("cache: model manifest: %w", err)
	}
	parts := []string{schema, "code=" + codeVersion}
	for _, e := range m.Entries {
		parts = append(parts, e.Name+"="+e.SHA256)
	}
	slices.Sort(parts[2:])
	return strings.Join(parts, ";"), nil
}

// Key is the cache key of tenant's analysis of the content with SHA-256
// contentSHA (hex) with opts, by the producers fingerprinted in versions.
// Entries are per tenant: a result refers to artifacts (thumbnails, clips)
// and records (the fusion) stored under the tenant that made it.
func Key(tenant, contentSHA string, opts *jobsv1.AnalyzeOptions, versions string) (string, error) {
	raw, err := proto.MarshalOptions{Deterministic: true}.Marshal(opts)
	if err != nil {
		return "", fmt.Errorf("cache: encode options: %w", err)
	}
	h := sha256.New()
	for _, p := range [][]byte{[]byte(tenant), []byte(contentSHA), raw, []byte(versions)} {
		// Length-prefixed, so no two different triples hash alike.
		fmt.Fprintf(h, "%d:", len(p))
		h.Write(p)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// SQL is the cache in the analysis_cache table.
type SQL struct{ DB *sql.DB }

// Get implements Cache.
func (c *SQL) Get(ctx context.Context, key string) (*jobsv1.AnalysisResult, bool, error) {
	var raw string
	err := c.DB.QueryRowContext(ctx, `SELECT result_json FROM analysis_cache WHERE cache_key = $1 AND expires_at > $2`,
		key, time.Now().UnixNano()).Scan(&raw)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("cache: sql get: %w", err)
	}
	res := &jobsv1.AnalysisResult{}
	if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal([]byte(raw), res); err != nil {
		return nil, false, fmt.Errorf("cache: decode entry: %w", err)
	}
	return res, true, nil
}

// Put implements Cache; it also removes expired entries, so the table does
// not grow without bound.
func (c *SQL) Put(ctx context.Context, key string, res *jobsv1.AnalysisResult, ttl time.Duration) error {
	raw, err := protojson.Marshal(res)
	if err != nil {
		return fmt.Errorf("cache: encode entry: %w", err)
	}
	now := time.Now()
	if _, err := c.DB.ExecContext(ctx, `DELETE FROM analysis_cache WHERE expires_at <= $1`, now.UnixNano()); err != nil {
		return fmt.Errorf("cache: sql expire: %w", err)
	}
	_, err = c.DB.ExecContext(ctx, `INSERT INTO analysis_cache (cache_key, result_json, created_at, expires_at) VALUES ($1, $2, $3, $4)
		ON CONFLICT (cache_key) DO UPDATE SET result_json = excluded.result_json, created_at = excluded.created_at, expires_at = excluded.expires_at`,
		key, string(raw), now.UnixNano(), now.Add(ttl).UnixNano())
	if err != nil {
		return fmt.Errorf("cache: sql put: %w", err)
	}
	return nil
}

// Redis is the cache in Redis, one string per entry (the result's proto
// encoding) under Prefix + key, expiring with the entry's TTL.
type Redis struct {
	Client *redis.Client
	// Prefix namespaces the keys (default "clipmesh:analysis:").
	Prefix string
}

// OpenRedis connects to the Redis at url (redis://host:port/db) and checks
// that it answers.
func OpenRedis(ctx context.Context, url string) (*Redis, error) {
	opts, err := redis.ParseURL(url)
	if err != nil {
		return nil, fmt.Errorf("cache: redis url: %w", err)
	}
	c := redis.NewClient(opts)
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := c.Ping(pctx).Err(); err != nil {
		_ = c.Close()
		return nil, fmt.Errorf("cache: redis at %s: %w", opts.Addr, err)
	}
	return &Redis{Client: c}, nil
}

func (c *Redis) key(k string) string {
	if c.Prefix == "" {
		return "clipmesh:analysis:" + k
	}
	return c.Prefix + k
}

// Get implements Cache.
func (c *Redis) Get(ctx context.Context, key string) (*jobsv1.AnalysisResult, bool, error) {
	raw, err := c.Client.Get(ctx, c.key(key)).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("cache: redis get: %w", err)
	}
	res := &jobsv1.AnalysisResult{}
	if err := proto.Unmarshal(raw, res); err != nil {
		return nil, false, fmt.Errorf("cache: decode entry: %w", err)
	}
	return res, true, nil
}

// Put implements Cache.
func (c *Redis) Put(ctx context.Context, key string, res *jobsv1.AnalysisResult, ttl time.Duration) error {
	raw, err := proto.Marshal(res)
	if err != nil {
		return fmt.Errorf("cache: encode entry: %w", err)
	}
	if err := c.Client.Set(ctx, c.key(key), raw, ttl).Err(); err != nil {
		return fmt.Errorf("cache: redis set: %w", err)
	}
	return nil
}

// Close closes the Redis client.
func (c *Redis) Close() error { return c.Client.Close() }
