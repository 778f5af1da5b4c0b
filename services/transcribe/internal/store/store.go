// Package store keeps video transcripts in SQL (the transcripts table,
// migration 00026), one per tenant, video and source, as protojson.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"google.golang.org/protobuf/encoding/protojson"

	transcribev1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/transcribe/v1"
	"github.com/clipmesh/clipmesh/platform/store"
)

// ErrNotFound means the video has no stored transcript (of that source) in
// the tenant.
var ErrNotFound = errors.New("transcript not found")

// Sources as stored.
const (
	Recognized = "recognized"
	Uploaded   = "uploaded"
)

// Store reads and writes transcripts.
type Store struct{ db *store.DB }

// New returns a Store over db (migrated).
func New(db *store.DB) *Store { return &Store{db: db} }

// source maps the proto enum to the stored name.
func source(s transcribev1.TranscriptSource) (string, error) {
	switch s {
	case transcribev1.TranscriptSource_TRANSCRIPT_SOURCE_RECOGNIZED:
		return Recognized, nil
	case transcribev1.TranscriptSource_TRANSCRIPT_SOURCE_UPLOADED:
		return Uploaded, nil
	}
	return "", fmt.Errorf("store: transcript source %v cannot be stored", s)
}

// Put stores t as the transcript of (tenant, t.VideoId, t.Source),
// replacing the previous one.
func (s *Store) Put(ctx context.Context, tenant string, t *transcribev1.Transcript) error {
	src, err := source(t.GetSource())
	if err != nil {
		return err
	}
	if tenant == "" || t.GetVideoId() == "" {
		return errors.New("store: tenant and video id are required")
	}
	js, err := protojson.Marshal(t)
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	now := time.Now().UnixNano()
	_, err = s.db.ExecContext(ctx, `INSERT INTO transcripts (tenant, video_id, source, language, engine, transcript_json, created_at, updated_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $7)
ON CONFLICT (tenant, video_id, source) DO UPDATE SET
  language = excluded.language, engine = excluded.engine,
  transcript_json = excluded.transcript_json, updated_at = excluded.updated_at`,
		tenant, t.GetVideoId(), src, t.GetLanguage(), t.GetProducer().GetEngine(), string(js), now)
	if err != nil {
		return fmt.Errorf("store: put transcript: %w", err)
	}
	return nil
}

// Get returns the transcript of the video from src; unspecified prefers
// the uploaded one.
func (s *Store) Get(ctx context.Context, tenant, videoID string, src transcribev1.TranscriptSource) (*transcribev1.Transcript, error) {
	order := []transcribev1.TranscriptSource{src}
	if src == transcribev1.TranscriptSource_TRANSCRIPT_SOURCE_UNSPECIFIED {
		order = []transcribev1.TranscriptSource{
			transcribev1.TranscriptSource_TRANSCRIPT_SOURCE_UPLOADED,
			transcribev1.TranscriptSource_TRANSCRIPT_SOURCE_RECOGNIZED,
		}
	}
	for _, o := range order {
		name, err := source(o)
		if err != nil {
			return nil, err
		}
		var js string
		err = s.db.QueryRowContext(ctx, `SELECT transcript_json FROM transcripts WHERE tenant = $1 AND video_id = $2 AND source = $3`,
			tenant, videoID, name).Scan(&js)
		if errors.Is(err, sql.ErrNoRows) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("store: get transcript: %w", err)
		}
		t := &transcribev1.Transcript{}
		if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal([]byte(js), t); err != nil {
			return nil, fmt.Errorf("store: decode transcript of %s: %w", videoID, err)
		}
		return t, nil
	}
	return nil, ErrNotFound
}
