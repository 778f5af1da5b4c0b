// Package mediasrc resolves the media a request names to a local file that
// ffmpeg can read: a video id through the jobs service's VideoService (so a
// caller only reaches its own tenant's videos), or an artifact derived from
// that video (e.g. the extracted audio track), checked to belong to it.
//
// Ownership of derived artifacts follows the content-addressed layout of
// the blob store (docs/DESIGN-NOTES.md §3): blobs are shared by every
// tenant holding the same content, and an artifact derived from a video is
// stored under a key that carries the video's SHA-256 as a path segment
// (DerivedKey). A caller who can GetVideo a video may read the artifacts of
// its content; any other key is not found.
package mediasrc

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"gocloud.dev/blob"

	commonv1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/common/v1"
	videosv1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/videos/v1"
	"github.com/clipmesh/clipmesh/platform/blobstore"
)

// Errors wrapped by Resolve; a service maps ErrInvalidRequest to
// InvalidArgument and ErrNotFound to NotFound. Statuses from VideoService
// (NotFound, InvalidArgument, Unauthenticated) are returned as they are.
var (
	// ErrInvalidRequest means the request names no usable media.
	ErrInvalidRequest = errors.New("invalid request")
	// ErrNotFound means the media is not there for this caller: an
	// artifact of another video (or tenant), or a key missing from the
	// blob store (it also wraps blobstore.ErrNotFound then).
	ErrNotFound = errors.New("media not found")
)

// DerivedKey is the blob key of an artifact named name (e.g.
// "audio-16k.wav") derived from the video whose content has SHA-256 sha:
// "derived/<sha>/<name>". Producers (the jobs pipeline) store artifacts
// there so that Resolve accepts them.
func DerivedKey(sha, name string) string { return "derived/" + sha + "/" + name }

// Resolver resolves requests' media. Its fields are set once; it is safe
// for concurrent use.
type Resolver struct {
	// Videos is the jobs service's VideoService; it enforces tenancy.
	Videos videosv1.VideoServiceClient
	// Blob is the blob store holding the media.
	Blob *blob.Bucket
	// TmpDir receives media downloaded from a remote blob store ("" is
	// the system's temporary directory).
	TmpDir string
}

// Media is a resolved local file. Close it when done.
type Media struct {
	// Path is a local, seekable file; the caller must not modify it.
	Path string
	// Key is the blob key it was read from.
	Key string
	// Video is the video the request named.
	Video *videosv1.Video
	// Artifact is true when Path is the derived artifact, not the
	// original.
	Artifact bool

	cleanup func()
}

// Close removes a downloaded copy; it is safe to call more than once.
func (m *Media) Close() {
	if m != nil && m.cleanup != nil {
		m.cleanup()
	}
}

// Video returns the video videoID of the caller's tenant (the caller's
// principal travels in ctx to VideoService) and the blob key of its
// original.
func (r *Resolver) Video(ctx context.Context, videoID string) (*videosv1.Video, string, error) {
	if videoID == "" {
		return nil, "", fmt.Errorf("%w: video_id is required", ErrInvalidRequest)
	}
	resp, err := r.Videos.GetVideo(ctx, &videosv1.GetVideoRequest{VideoId: videoID})
	if err != nil {
		return nil, "", err
	}
	v := resp.GetVideo()
	key := v.GetOriginal().GetKey()
	if key == "" && v.GetSha256() != "" {
		key = "videos/" + v.GetSha256() // a jobs service older than Video.original
	}
	if key == "" {
		return nil, "", fmt.Errorf("%w: video %s has no stored original", ErrNotFound, videoID)
	}
	return v, key, nil
}

// Resolve returns the media of videoID as a local file: the artifact when
// it is given (non-nil with a key), else the video's original. An artifact
// must belong to that video — its key is the original's or has the video's
// SHA-256 as a path segment — or Resolve fails with ErrNotFound without
// reading it.
func (r *Resolver) Resolve(ctx context.Context, videoID string, artifact *commonv1.Artifact) (*Media, error) {
	if videoID == "" && artifact.GetKey() != "" {
		return nil, fmt.Errorf("%w: video_id is required with an artifact (it is checked to belong to that video)", ErrInvalidRequest)
	}
	v, key, err := r.Video(ctx, videoID)
	if err != nil {
		return nil, err
	}
	m := &Media{Key: key, Video: v}
	if a := artifact.GetKey(); a != "" {
		if !Belongs(a, v) {
			return nil, fmt.Errorf("%w: artifact %q is not derived from video %s", ErrNotFound, a, videoID)
		}
		m.Key, m.Artifact = a, a != key
	}
	path, cleanup, err := blobstore.Materialize(ctx, r.Blob, m.Key, r.TmpDir)
	if err != nil {
		if errors.Is(err, blobstore.ErrNotFound) {
			return nil, fmt.Errorf("%w: %w", ErrNotFound, err)
		}
		return nil, fmt.Errorf("mediasrc: %w", err)
	}
	m.Path, m.cleanup = path, cleanup
	return m, nil
}

// Belongs reports whether the blob key belongs to video v: it is v's
// original, or one of its path segments is v's SHA-256 (64 hex digits, so
// it cannot be matched by accident). Keys with "." or ".." segments never
// belong.
func Belongs(key string, v *videosv1.Video) bool {
	if key == "" {
		return false
	}
	if key == v.GetOriginal().GetKey() {
		return true
	}
	sha := strings.ToLower(v.GetSha256())
	if len(sha) != 64 {
		return false
	}
	segs := strings.Split(key, "/")
	found := false
	for _, s := range segs {
		switch s {
		case ".", "..":
			return false
		case sha:
			found = true
		}
	}
	return found
}
