package blobstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"gocloud.dev/blob"
	"gocloud.dev/gcerrors"
)

// ErrNotFound is wrapped by Materialize when the bucket has no such key.
var ErrNotFound = errors.New("blob not found")

// folders maps each bucket that Open made on a local folder to that folder,
// so Materialize can hand out the stored file itself. Entries are never
// removed: a process opens a handful of buckets in its lifetime.
var folders sync.Map // *blob.Bucket -> string

// Materialize makes the blob at key available as a local, seekable file,
// which is what ffmpeg needs (an MP4 with its index at the end cannot be
// read from a pipe). For the local folder opened by Open("", dataDir) it
// returns the stored file's own path and a no-op cleanup: the caller must
// not modify or remove it. For any other bucket it downloads the blob into
// a new temporary file in tmpDir (os.TempDir() when empty) and cleanup
// removes it. cleanup is never nil, and is safe to call more than once.
// A missing key is an error wrapping ErrNotFound.
func Materialize(ctx context.Context, bucket *blob.Bucket, key, tmpDir string) (path string, cleanup func(), err error) {
	noop := func() {}
	if key == "" {
		return "", noop, errors.New("blobstore: empty key")
	}
	if dir, ok := folders.Load(bucket); ok {
		root := dir.(string)
		p := filepath.Join(root, filepath.FromSlash(key))
		// A key that fileblob stores under another name (it escapes some
		// characters) is not found here and takes the download path.
		if rel, err := filepath.Rel(root, p); err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
			if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
				return p, noop, nil
			}
		}
	}

	r, err := bucket.NewReader(ctx, key, nil)
	if err != nil {
		if gcerrors.Code(err) == gcerrors.NotFound {
			return "", noop, fmt.Errorf("blobstore: %s: %w", key, ErrNotFound)
		}
		return "", noop, fmt.Errorf("blobstore: read %s: %w", key, err)
	}
	defer r.Close()
	if tmpDir == "" {
		tmpDir = os.TempDir()
	}
	f, err := os.CreateTemp(tmpDir, "blob-*"+filepath.Ext(key))
	if err != nil {
		return "", noop, fmt.Errorf("blobstore: temp file: %w", err)
	}
	var once sync.Once
	cleanup = func() { once.Do(func() { _ = os.Remove(f.Name()) }) }
	if _, err := io.Copy(f, r); err != nil {
		_ = f.Close()
		cleanup()
		if ctx.Err() != nil {
			return "", noop, ctx.Err()
		}
		return "", noop, fmt.Errorf("blobstore: download %s: %w", key, err)
	}
	if err := f.Close(); err != nil {
		cleanup()
		return "", noop, fmt.Errorf("blobstore: download %s: %w", key, err)
	}
	return f.Name(), cleanup, nil
}
