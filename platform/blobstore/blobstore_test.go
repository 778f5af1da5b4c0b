package blobstore_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gocloud.dev/blob"

	"github.com/clipmesh/clipmesh/platform/blobstore"
)

// roundTrip writes data under key and reads it back.
func roundTrip(t *testing.T, b *blob.Bucket, key string, data []byte) {
	t.Helper()
	ctx := t.Context()
	if err := b.WriteAll(ctx, key, data, nil); err != nil {
		t.Fatalf("WriteAll(%q): %v", key, err)
	}
	got, err := b.ReadAll(ctx, key)
	if err != nil {
		t.Fatalf("ReadAll(%q): %v", key, err)
	}
	if !bytes.Equal(got, data) {
		t.Errorf("ReadAll(%q) = %q, want %q", key, got, data)
	}
}

func TestOpenFolder(t *testing.T) {
	t.Parallel()
	// The data dir need not exist yet.
	dataDir := filepath.Join(t.TempDir(), "data")
	b, err := blobstore.Open(t.Context(), "", dataDir)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = b.Close() })

	data := []byte("not really a video")
	roundTrip(t, b, "videos/abc123/source.mp4", data)
	onDisk, err := os.ReadFile(filepath.Join(dataDir, "blobs", "videos", "abc123", "source.mp4"))
	if err != nil {
		t.Fatalf("the blob is not under <data dir>/blobs: %v", err)
	}
	if !bytes.Equal(onDisk, data) {
		t.Errorf("file content = %q, want %q", onDisk, data)
	}

	// A second Open of the same folder sees the same blobs.
	b2, err := blobstore.Open(t.Context(), "", dataDir)
	if err != nil {
		t.Fatalf("second Open: %v", err)
	}
	t.Cleanup(func() { _ = b2.Close() })
	if ok, err := b2.Exists(t.Context(), "videos/abc123/source.mp4"); err != nil || !ok {
		t.Errorf("Exists after reopening = %v, %v; want true", ok, err)
	}
}

func TestOpenURL(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, tt := range []struct {
		name, url string
	}{
		{"memory", "mem://"},
		{"file URL", "file://" + filepath.ToSlash(dir) + "?create_dir=true"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dataDir := t.TempDir()
			b, err := blobstore.Open(t.Context(), tt.url, dataDir)
			if err != nil {
				t.Fatalf("Open(%q): %v", tt.url, err)
			}
			t.Cleanup(func() { _ = b.Close() })
			roundTrip(t, b, "clips/c1.mp4", []byte("clip"))
			// A URL bucket does not use the data dir.
			if _, err := os.Stat(filepath.Join(dataDir, "blobs")); !os.IsNotExist(err) {
				t.Errorf("Open(%q) created <data dir>/blobs (%v)", tt.url, err)
			}
		})
	}
}

func TestOpenErrors(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "a-file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name, url, dataDir, want string
	}{
		{"unknown scheme", "nope://bucket", t.TempDir(), "nope://bucket"},
		{"no scheme", "just-a-name", t.TempDir(), "just-a-name"},
		{"data dir is a file", "", file, "blobstore: create"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b, err := blobstore.Open(t.Context(), tt.url, tt.dataDir)
			if err == nil {
				_ = b.Close()
				t.Fatalf("Open(%q, %q) = nil error", tt.url, tt.dataDir)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Open(%q, %q) error %q lacks %q", tt.url, tt.dataDir, err, tt.want)
			}
		})
	}
}
