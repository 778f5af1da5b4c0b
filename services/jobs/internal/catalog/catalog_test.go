package catalog_test

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os"
	"testing"

	"github.com/google/go-cmp/cmp"
	"gocloud.dev/blob/memblob"

	"github.com/clipmesh/clipmesh/platform/fixtures"
	"github.com/clipmesh/clipmesh/platform/store"
	"github.com/clipmesh/clipmesh/platform/store/storetest"
	"github.com/clipmesh/clipmesh/services/jobs/internal/catalog"
	"github.com/clipmesh/clipmesh/services/jobs/internal/media"
)

func newLibrary(t *testing.T, db *store.DB) *catalog.Library {
	t.Helper()
	b := memblob.OpenBucket(nil)
	t.Cleanup(func() { _ = b.Close() })
	return &catalog.Library{DB: db.DB, Blob: b, TempDir: t.TempDir()}
}

// insert stores a video row directly, at a chosen creation time.
func insert(t *testing.T, db *store.DB, tenant, id string, created int64) {
	t.Helper()
	_, err := db.ExecContext(t.Context(), `INSERT INTO videos (tenant, id, filename, content_type, size_bytes, sha256, blob_key, probe_json, created_at)
		VALUES ($1, $2, '', 'video/mp4', 1, $2, $2, '{}', $3)`, tenant, id, created)
	if err != nil {
		t.Fatalf("insert %s: %v", id, err)
	}
}

func TestListPages(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		t.Parallel()
		lib := newLibrary(t, db)
		// Two pairs share a creation time: the id breaks the tie.
		rows := []struct {
			id      string
			created int64
		}{{"vid_a", 100}, {"vid_b", 200}, {"vid_c", 200}, {"vid_d", 300}, {"vid_e", 300}, {"vid_f", 400}}
		for _, r := range rows {
			insert(t, db, "acme", r.id, r.created)
		}
		insert(t, db, "other", "vid_z", 250)
		want := []string{"vid_f", "vid_e", "vid_d", "vid_c", "vid_b", "vid_a"}
		for _, size := range []int{1, 2, 4, 6, 7, 0} {
			t.Run(fmt.Sprintf("page size %d", size), func(t *testing.T) {
				var got []string
				token := ""
				for page := 0; ; page++ {
					if page > len(want) {
						t.Fatal("page tokens never end")
					}
					vs, next, err := lib.List(t.Context(), "acme", size, token)
					if err != nil {
						t.Fatalf("List page %d: %v", page, err)
					}
					if size > 0 && len(vs) > size {
						t.Fatalf("page %d has %d videos, want at most %d", page, len(vs), size)
					}
					for _, v := range vs {
						got = append(got, v.ID)
					}
					if next == "" {
						break
					}
					token = next
				}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("ids over every page (-want +got):\n%s", diff)
				}
			})
		}
	})
}

func TestListBadPageToken(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		t.Parallel()
		lib := newLibrary(t, db)
		b64 := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
		for _, tt := range []struct{ name, token string }{
			{"not base64", "!!!"},
			{"padded base64", "YWJj="},
			{"no position", b64("no position")},
			{"time not a number", b64("abc/vid_x")},
			{"no time", b64("/vid_x")},
			{"time not an integer", b64("1.5/vid_x")},
			{"time out of range", b64("99999999999999999999/vid_x")},
		} {
			token := tt.token
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				_, _, err := lib.List(t.Context(), "acme", 10, token)
				if !errors.Is(err, catalog.ErrInvalidArgument) {
					t.Errorf("List(token %q) = %v, want ErrInvalidArgument", token, err)
				}
			})
		}
	})
}

func TestIngest(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		t.Parallel()
		lib := newLibrary(t, db)
		ctx := t.Context()
		data, err := os.ReadFile(fixtures.MustPath(t, fixtures.NoAudio))
		if err != nil {
			t.Fatal(err)
		}

		v, created, err := lib.Ingest(ctx, "acme", catalog.Meta{Filename: "a.mp4", ContentType: "application/x-whatever"}, bytes.NewReader(data))
		if err != nil || !created {
			t.Fatalf("Ingest = %v, created %v; want a new video", err, created)
		}
		if v.ContentType != "video/mp4" {
			t.Errorf("content type %q, want video/mp4 (what ffprobe saw, not what the client claimed)", v.ContentType)
		}
		if v.Probe.Video == nil || v.Probe.Audio != nil {
			t.Errorf("probe %+v, want video and no audio", v.Probe)
		}

		// The bytes come back as they went in.
		r, err := lib.Open(ctx, v)
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		back, err := io.ReadAll(r)
		_ = r.Close()
		if err != nil || !bytes.Equal(back, data) {
			t.Errorf("Open read %d bytes (%v), want the %d uploaded", len(back), err, len(data))
		}

		// Get returns what Ingest stored, probe included.
		got, err := lib.Get(ctx, "acme", v.ID)
		if err != nil {
			t.Fatalf("Get: %v", err)
		}
		if diff := cmp.Diff(v, got); diff != "" {
			t.Errorf("Get (-ingested +got):\n%s", diff)
		}
		if _, err := lib.Get(ctx, "other", v.ID); !errors.Is(err, catalog.ErrNotFound) {
			t.Errorf("Get as another tenant = %v, want ErrNotFound", err)
		}
		if err := lib.Delete(ctx, "other", v.ID); !errors.Is(err, catalog.ErrNotFound) {
			t.Errorf("Delete as another tenant = %v, want ErrNotFound", err)
		}

		// Limits and bad files are refused before anything is stored.
		other, err := os.ReadFile(fixtures.MustPath(t, fixtures.MovingSquare))
		if err != nil {
			t.Fatal(err)
		}
		small := *lib
		small.MaxBytes = int64(len(other)) - 1
		if _, _, err := small.Ingest(ctx, "acme", catalog.Meta{}, bytes.NewReader(other)); !errors.Is(err, catalog.ErrTooLarge) {
			t.Errorf("Ingest of %d bytes over MaxBytes %d = %v, want ErrTooLarge", len(other), small.MaxBytes, err)
		}
		small.MaxBytes = int64(len(other))
		if _, _, err := small.Ingest(ctx, "limits", catalog.Meta{}, bytes.NewReader(other)); err != nil {
			t.Errorf("Ingest of exactly MaxBytes = %v, want it stored", err)
		}
		garbage, err := os.ReadFile(fixtures.MustPath(t, fixtures.Garbage))
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := lib.Ingest(ctx, "acme", catalog.Meta{}, bytes.NewReader(garbage)); !errors.Is(err, media.ErrInvalid) {
			t.Errorf("Ingest of garbage = %v, want media.ErrInvalid", err)
		}
		vs, _, err := lib.List(ctx, "acme", 0, "")
		if err != nil {
			t.Fatal(err)
		}
		if len(vs) != 1 || vs[0].ID != v.ID {
			t.Errorf("after refused ingests, List = %d videos, want only %s", len(vs), v.ID)
		}
		ents, err := os.ReadDir(lib.TempDir)
		if err != nil || len(ents) != 0 {
			t.Errorf("spool directory holds %d files (%v), want none", len(ents), err)
		}
	})
}
