package blobstore_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/clipmesh/clipmesh/platform/blobstore"
)

func TestMaterialize(t *testing.T) {
	t.Parallel()
	data := []byte("an mp4 whose index sits at the end")
	for _, tt := range []struct {
		name    string
		url     string
		inPlace bool // the stored file itself, not a copy
	}{
		{"local folder", "", true},
		{"memory", "mem://", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			dataDir, tmpDir := t.TempDir(), t.TempDir()
			b, err := blobstore.Open(ctx, tt.url, dataDir)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = b.Close() })
			if err := b.WriteAll(ctx, "videos/abc", data, nil); err != nil {
				t.Fatal(err)
			}

			path, cleanup, err := blobstore.Materialize(ctx, b, "videos/abc", tmpDir)
			if err != nil {
				t.Fatalf("Materialize: %v", err)
			}
			got, err := os.ReadFile(path)
			if err != nil || !bytes.Equal(got, data) {
				t.Fatalf("file %s = %q, %v; want %q", path, got, err, data)
			}
			wantPlace := filepath.Join(dataDir, "blobs", "videos", "abc")
			if tt.inPlace != (path == wantPlace) {
				t.Errorf("path %s; in place %v, want %v", path, path == wantPlace, tt.inPlace)
			}
			if !tt.inPlace && filepath.Dir(path) != tmpDir {
				t.Errorf("download %s is not in tmpDir %s", path, tmpDir)
			}
			cleanup()
			cleanup() // twice is fine
			_, err = os.Stat(path)
			if tt.inPlace && err != nil {
				t.Errorf("cleanup removed the stored file: %v", err)
			}
			if !tt.inPlace && !os.IsNotExist(err) {
				t.Errorf("cleanup left the download behind: %v", err)
			}
			if ents, _ := os.ReadDir(tmpDir); len(ents) != 0 {
				t.Errorf("tmpDir holds %d files after cleanup", len(ents))
			}

			_, cleanup, err = blobstore.Materialize(ctx, b, "videos/missing", tmpDir)
			cleanup()
			if !errors.Is(err, blobstore.ErrNotFound) {
				t.Errorf("missing key: err = %v, want ErrNotFound", err)
			}
			_, cleanup, err = blobstore.Materialize(ctx, b, "", tmpDir)
			cleanup()
			if err == nil || !strings.Contains(err.Error(), "empty key") {
				t.Errorf("empty key: err = %v", err)
			}
			if ents, _ := os.ReadDir(tmpDir); len(ents) != 0 {
				t.Errorf("tmpDir holds %d files after failures", len(ents))
			}
		})
	}
}
