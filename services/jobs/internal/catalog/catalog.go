// Package catalog keeps the videos of each tenant: ingesting an upload
// (hash while spooling, probe, store the blob by content), and the SQL rows
// that describe them. The same content twice is one video.
package catalog

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"gocloud.dev/blob"
	"gocloud.dev/gcerrors"

	"github.com/clipmesh/clipmesh/services/jobs/internal/media"
)

// Errors callers map to status codes.
var (
	// ErrNotFound means the tenant has no such video.
	ErrNotFound = errors.New("video not found")
	// ErrTooLarge means the upload is over the size limit.
	ErrTooLarge = errors.New("upload too large")
	// ErrInvalidArgument wraps bad requests (bad page token, bad id).
	ErrInvalidArgument = errors.New("invalid argument")
)

// Video is a stored media file.
type Video struct {
	Tenant      string
	ID          string
	Filename    string
	ContentType string
	SizeBytes   int64
	SHA256      string
	BlobKey     string
	Probe       media.Info
	Created     time.Time
}

// Meta is what the client says about an upload.
type Meta struct {
	Filename    string
	ContentType string
}

// Library ingests and serves videos.
type Library struct {
	DB       *sql.DB
	Blob     *blob.Bucket
	Prober   media.Prober
	TempDir  string
	MaxBytes int64
}

// IDFromHash is the video id of content with this SHA-256 (hex): stable, so
// the same file uploaded twice is the same video.
func IDFromHash(sum string) string { return "vid_" + sum[:32] }

// Ingest spools r to disk while hashing it, probes it, and stores it. An
// invalid file is refused (error wrapping media.ErrInvalid or ErrTooLarge)
// before anything is stored.
func (l *Library) Ingest(ctx context.Context, tenant string, meta Meta, r io.Reader) (Video, bool, error) {
	f, err := os.CreateTemp(l.TempDir, "upload-*")
	if err != nil {
		return Video{}, false, fmt.Errorf("catalog: temp file: %w", err)
	}
	defer func() { _ = f.Close(); _ = os.Remove(f.Name()) }()
	h := sha256.New()
	limit := l.MaxBytes
	if limit <= 0 {
		limit = 8 << 30
	}
	n, err := io.Copy(io.MultiWriter(f, h), io.LimitReader(r, limit+1))
	if err != nil {
		return Video{}, false, fmt.Errorf("catalog: receive upload: %w", err)
	}
	if n > limit {
		return Video{}, false, fmt.Errorf("%w: over the limit of %d bytes", ErrTooLarge, limit)
	}
	if err := f.Sync(); err != nil {
		return Video{}, false, fmt.Errorf("catalog: sync upload: %w", err)
	}
	sum := hex.EncodeToString(h.Sum(nil))
	id := IDFromHash(sum)
	if v, err := l.Get(ctx, tenant, id); err == nil {
		return v, false, nil
	} else if !errors.Is(err, ErrNotFound) {
		return Video{}, false, err
	}
	info, err := l.Prober.Probe(ctx, f.Name())
	if err != nil {
		return Video{}, false, err
	}
	key := "videos/" + sum
	if err := l.putBlob(ctx, key, f.Name(), sniffType(info, meta.ContentType)); err != nil {
		return Video{}, false, err
	}
	v := Video{Tenant: tenant, ID: id, Filename: meta.Filename, ContentType: sniffType(info, meta.ContentType),
		SizeBytes: n, SHA256: sum, BlobKey: key, Probe: info, Created: time.Now().UTC()}
	probe, err := json.Marshal(info)
	if err != nil {
		return Video{}, false, fmt.Errorf("catalog: encode probe: %w", err)
	}
	_, err = l.DB.ExecContext(ctx, `INSERT INTO videos (tenant, id, filename, content_type, size_bytes, sha256, blob_key, probe_json, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		v.Tenant, v.ID, v.Filename, v.ContentType, v.SizeBytes, v.SHA256, v.BlobKey, string(probe), v.Created.UnixNano())
	if err != nil {
		// A concurrent upload of the same content won the race: same video.
		if existing, gerr := l.Get(ctx, tenant, id); gerr == nil {
			return existing, false, nil
		}
		return Video{}, false, fmt.Errorf("catalog: insert video: %w", err)
	}
	return v, true, nil
}

func (l *Library) putBlob(ctx context.Context, key, path, contentType string) error {
	if ok, err := l.Blob.Exists(ctx, key); err != nil {
		return fmt.Errorf("catalog: blob exists %s: %w", key, err)
	} else if ok {
		return nil
	}
	src, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("catalog: reopen upload: %w", err)
	}
	defer src.Close()
	if err := l.Blob.Upload(ctx, key, src, &blob.WriterOptions{ContentType: contentType}); err != nil {
		return fmt.Errorf("catalog: store blob %s: %w", key, err)
	}
	return nil
}

// sniffType prefers what ffprobe saw over what the client claimed.
func sniffType(info media.Info, claimed string) string {
	switch {
	case info.Video != nil && strings.Contains(info.FormatName, "mp4"):
		return "video/mp4"
	case info.Video != nil && strings.Contains(info.FormatName, "matroska"):
		return "video/x-matroska"
	case info.Video == nil && strings.Contains(info.FormatName, "mp4"):
		return "audio/mp4"
	case info.FormatName == "wav":
		return "audio/wav"
	case info.FormatName == "mp3":
		return "audio/mpeg"
	case claimed != "" && claimed != "application/octet-stream":
		return claimed
	}
	return "application/octet-stream"
}

const columns = `tenant, id, filename, content_type, size_bytes, sha256, blob_key, probe_json, created_at`

func scan(row interface{ Scan(...any) error }) (Video, error) {
	var v Video
	var probe string
	var created int64
	if err := row.Scan(&v.Tenant, &v.ID, &v.Filename, &v.ContentType, &v.SizeBytes, &v.SHA256, &v.BlobKey, &probe, &created); err != nil {
		return Video{}, err
	}
	if err := json.Unmarshal([]byte(probe), &v.Probe); err != nil {
		return Video{}, fmt.Errorf("catalog: decode probe of %s: %w", v.ID, err)
	}
	v.Created = time.Unix(0, created).UTC()
	return v, nil
}

// Get returns one of the tenant's videos.
func (l *Library) Get(ctx context.Context, tenant, id string) (Video, error) {
	v, err := scan(l.DB.QueryRowContext(ctx, `SELECT `+columns+` FROM videos WHERE tenant = $1 AND id = $2`, tenant, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Video{}, fmt.Errorf("%w: %s", ErrNotFound, id)
	}
	if err != nil {
		return Video{}, fmt.Errorf("catalog: get video: %w", err)
	}
	return v, nil
}

// List returns up to limit of the tenant's videos, newest first, after the
// position in pageToken, and the token of the next page ("" at the end).
func (l *Library) List(ctx context.Context, tenant string, limit int, pageToken string) ([]Video, string, error) {
	if limit <= 0 {
		limit = 50
	}
	if limit > 500 {
		limit = 500
	}
	before, beforeID := int64(1<<62), ""
	if pageToken != "" {
		raw, err := base64.RawURLEncoding.DecodeString(pageToken)
		ts, id, ok := strings.Cut(string(raw), "/")
		n, perr := strconv.ParseInt(ts, 10, 64)
		if err != nil || !ok || perr != nil {
			return nil, "", fmt.Errorf("%w: bad page_token", ErrInvalidArgument)
		}
		before, beforeID = n, id
	}
	rows, err := l.DB.QueryContext(ctx, `SELECT `+columns+` FROM videos
		WHERE tenant = $1 AND (created_at < $2 OR (created_at = $2 AND id < $3))
		ORDER BY created_at DESC, id DESC LIMIT $4`, tenant, before, beforeID, limit+1)
	if err != nil {
		return nil, "", fmt.Errorf("catalog: list videos: %w", err)
	}
	defer rows.Close()
	var out []Video
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, "", fmt.Errorf("catalog: list videos: %w", err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, "", fmt.Errorf("catalog: list videos: %w", err)
	}
	next := ""
	if len(out) > limit {
		out = out[:limit]
		last := out[len(out)-1]
		next = base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(last.Created.UnixNano(), 10) + "/" + last.ID))
	}
	return out, next, nil
}

// Delete removes the tenant's video, and its blob when no other tenant
// holds the same content.
func (l *Library) Delete(ctx context.Context, tenant, id string) error {
	v, err := l.Get(ctx, tenant, id)
	if err != nil {
		return err
	}
	if _, err := l.DB.ExecContext(ctx, `DELETE FROM videos WHERE tenant = $1 AND id = $2`, tenant, id); err != nil {
		return fmt.Errorf("catalog: delete video: %w", err)
	}
	var others int
	if err := l.DB.QueryRowContext(ctx, `SELECT COUNT(*) FROM videos WHERE blob_key = $1`, v.BlobKey).Scan(&others); err != nil {
		return fmt.Errorf("catalog: count references: %w", err)
	}
	if others == 0 {
		if err := l.Blob.Delete(ctx, v.BlobKey); err != nil && gcerrors.Code(err) != gcerrors.NotFound {
			return fmt.Errorf("catalog: delete blob: %w", err)
		}
		// What the pipeline derived from the content (the audio track)
		// lives under derived/<sha256>/ and goes with it.
		it := l.Blob.List(&blob.ListOptions{Prefix: "derived/" + v.SHA256 + "/"})
		for {
			obj, err := it.Next(ctx)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return fmt.Errorf("catalog: list derived blobs: %w", err)
			}
			if err := l.Blob.Delete(ctx, obj.Key); err != nil && gcerrors.Code(err) != gcerrors.NotFound {
				return fmt.Errorf("catalog: delete derived blob: %w", err)
			}
		}
	}
	return nil
}

// Open returns a reader of the video's bytes.
func (l *Library) Open(ctx context.Context, v Video) (*blob.Reader, error) {
	r, err := l.Blob.NewReader(ctx, v.BlobKey, nil)
	if err != nil {
		return nil, fmt.Errorf("catalog: open blob %s: %w", v.BlobKey, err)
	}
	return r, nil
}
