// Package clipstore keeps clips in SQL (table clips, migration 00024). A row
// holds the clip's contract message as protojson and the render spec the
// renderer needs to redo it, plus the columns queries need. Every query is
// scoped by tenant: another tenant's clip is simply not found.
package clipstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/timestamppb"

	clipsv1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/clips/v1"
	"github.com/clipmesh/clipmesh/platform/store"
)

// ErrNotFound means the tenant has no such clip.
var ErrNotFound = errors.New("clip not found")

// ErrFinal means the clip already reached a final state and was not changed.
var ErrFinal = errors.New("clip already final")

// Store reads and writes clips.
type Store struct{ DB *store.DB }

// Final reports whether s is a terminal state.
func Final(s clipsv1.ClipState) bool {
	switch s {
	case clipsv1.ClipState_CLIP_STATE_SUCCEEDED, clipsv1.ClipState_CLIP_STATE_FAILED, clipsv1.ClipState_CLIP_STATE_CANCELLED:
		return true
	}
	return false
}

// Create stores a new clip with its render spec; it sets the clip's create
// and update times.
func (s *Store) Create(ctx context.Context, tenant string, c *clipsv1.Clip, spec []byte) error {
	now := time.Now().UTC()
	c.CreateTime, c.UpdateTime = timestamppb.New(now), timestamppb.New(now)
	raw, err := protojson.Marshal(c)
	if err != nil {
		return fmt.Errorf("clipstore: encode clip: %w", err)
	}
	_, err = s.DB.ExecContext(ctx, `INSERT INTO clips (tenant, id, video_id, state, clip_json, spec_json, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		tenant, c.GetId(), c.GetVideoId(), int(c.GetState()), string(raw), string(spec), now.UnixNano(), now.UnixNano())
	if err != nil {
		return fmt.Errorf("clipstore: insert clip: %w", err)
	}
	return nil
}

// Get returns the tenant's clip id.
func (s *Store) Get(ctx context.Context, tenant, id string) (*clipsv1.Clip, error) {
	c, _, err := s.GetWithSpec(ctx, tenant, id)
	return c, err
}

// GetWithSpec returns the tenant's clip id and its render spec.
func (s *Store) GetWithSpec(ctx context.Context, tenant, id string) (*clipsv1.Clip, []byte, error) {
	var raw, spec string
	err := s.DB.QueryRowContext(ctx, `SELECT clip_json, spec_json FROM clips WHERE tenant = $1 AND id = $2`, tenant, id).Scan(&raw, &spec)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil, fmt.Errorf("%w: %s", ErrNotFound, id)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("clipstore: get clip: %w", err)
	}
	c, err := decode(raw)
	return c, []byte(spec), err
}

// List returns the tenant's clips of videoID, oldest first (the order they
// were asked for).
func (s *Store) List(ctx context.Context, tenant, videoID string) ([]*clipsv1.Clip, error) {
	rows, err := s.DB.QueryContext(ctx, `SELECT clip_json FROM clips WHERE tenant = $1 AND video_id = $2
		ORDER BY created_at, id`, tenant, videoID)
	if err != nil {
		return nil, fmt.Errorf("clipstore: list clips: %w", err)
	}
	defer rows.Close()
	var out []*clipsv1.Clip
	for rows.Next() {
		var raw string
		if err := rows.Scan(&raw); err != nil {
			return nil, fmt.Errorf("clipstore: list clips: %w", err)
		}
		c, err := decode(raw)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("clipstore: list clips: %w", err)
	}
	return out, nil
}

// Update applies change to the stored clip and stores it, unless the stored
// clip is already final (then it returns the stored clip and ErrFinal), so
// a cancellation or a finished render always stands. The read and write are
// one transaction.
func (s *Store) Update(ctx context.Context, tenant, id string, change func(*clipsv1.Clip)) (*clipsv1.Clip, error) {
	tx, err := s.DB.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("clipstore: begin: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	var raw string
	// FOR UPDATE is PostgreSQL's row lock; SQLite transactions here take
	// the write lock at BEGIN (_txlock=immediate), which serialises them.
	q := `SELECT clip_json FROM clips WHERE tenant = $1 AND id = $2`
	if s.DB.Dialect == store.Postgres {
		q += ` FOR UPDATE`
	}
	err = tx.QueryRowContext(ctx, q, tenant, id).Scan(&raw)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, id)
	}
	if err != nil {
		return nil, fmt.Errorf("clipstore: read clip: %w", err)
	}
	c, err := decode(raw)
	if err != nil {
		return nil, err
	}
	if Final(c.GetState()) {
		return c, ErrFinal
	}
	change(c)
	now := time.Now().UTC()
	c.UpdateTime = timestamppb.New(now)
	out, err := protojson.Marshal(c)
	if err != nil {
		return nil, fmt.Errorf("clipstore: encode clip: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE clips SET state = $1, clip_json = $2, updated_at = $3 WHERE tenant = $4 AND id = $5`,
		int(c.GetState()), string(out), now.UnixNano(), tenant, id); err != nil {
		return nil, fmt.Errorf("clipstore: update clip: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("clipstore: commit: %w", err)
	}
	return c, nil
}

func decode(raw string) (*clipsv1.Clip, error) {
	var c clipsv1.Clip
	if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal([]byte(raw), &c); err != nil {
		return nil, fmt.Errorf("clipstore: decode clip: %w", err)
	}
	return &c, nil
}
