// Package blobstore opens the blob store where media and derived artifacts
// live: a local folder by default, any gocloud.dev/blob URL otherwise.
package blobstore

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"gocloud.dev/blob"
	"gocloud.dev/blob/fileblob"
	_ "gocloud.dev/blob/memblob" // mem:// for tests
	_ "gocloud.dev/blob/s3blob"  // s3:// for S3-compatible stores at scale
)

// Open returns the bucket named by url, or a folder under dataDir when url
// is empty.
func Open(ctx context.Context, url, dataDir string) (*blob.Bucket, error) {
	if url == "" {
		dir := filepath.Join(dataDir, "blobs")
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return nil, fmt.Errorf("blobstore: create %s: %w", dir, err)
		}
		b, err := fileblob.OpenBucket(dir, &fileblob.Options{CreateDir: true, NoTempDir: true})
		if err != nil {
			return nil, fmt.Errorf("blobstore: open %s: %w", dir, err)
		}
		folders.Store(b, dir)
		return b, nil
	}
	b, err := blob.OpenBucket(ctx, url)
	if err != nil {
		return nil, fmt.Errorf("blobstore: open %s: %w", url, err)
	}
	return b, nil
}
