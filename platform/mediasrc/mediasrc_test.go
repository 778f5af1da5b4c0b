package mediasrc_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	commonv1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/common/v1"
	videosv1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/videos/v1"
	"github.com/clipmesh/clipmesh/platform/blobstore"
	"github.com/clipmesh/clipmesh/platform/mediasrc"
	"github.com/clipmesh/clipmesh/platform/mediasrc/mediasrctest"
)

func TestResolve(t *testing.T) {
	t.Parallel()
	for _, url := range []string{"", "mem://"} { // local folder (no copy) and remote (download)
		t.Run("bucket "+url, func(t *testing.T) {
			t.Parallel()
			bucket, err := blobstore.Open(t.Context(), url, t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = bucket.Close() })
			dir := t.TempDir()
			write := func(name, content string) string {
				p := filepath.Join(dir, name)
				if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
					t.Fatal(err)
				}
				return p
			}
			videos := mediasrctest.NewVideos(bucket)
			mine := videos.Add(t, "mine", write("a.mp4", "video A"))
			theirs := videos.Add(t, "theirs", write("b.mp4", "video B"))
			track := mediasrc.DerivedKey(mine.GetSha256(), "audio-16k.wav")
			if err := bucket.WriteAll(t.Context(), track, []byte("track of A"), nil); err != nil {
				t.Fatal(err)
			}
			cc := mediasrctest.Serve(t, videos, nil)
			r := &mediasrc.Resolver{Videos: videosv1.NewVideoServiceClient(cc), Blob: bucket, TmpDir: t.TempDir()}

			for _, tt := range []struct {
				name, id, artifact string
				want               string // content, or "" for an error
				wantErr            error
				code               codes.Code
			}{
				{name: "original", id: "mine", want: "video A"},
				{name: "own track", id: "mine", artifact: track, want: "track of A"},
				{name: "own original as artifact", id: "mine", artifact: mine.GetOriginal().GetKey(), want: "video A"},
				{name: "track of another video", id: "theirs", artifact: track, wantErr: mediasrc.ErrNotFound},
				{name: "other original", id: "mine", artifact: theirs.GetOriginal().GetKey(), wantErr: mediasrc.ErrNotFound},
				{name: "dot dot", id: "mine", artifact: "derived/" + mine.GetSha256() + "/../../videos/" + theirs.GetSha256(), wantErr: mediasrc.ErrNotFound},
				{name: "missing derived blob", id: "mine", artifact: mediasrc.DerivedKey(mine.GetSha256(), "nope.wav"), wantErr: blobstore.ErrNotFound},
				{name: "artifact without video", artifact: track, wantErr: mediasrc.ErrInvalidRequest},
				{name: "nothing", wantErr: mediasrc.ErrInvalidRequest},
				{name: "unknown video", id: "ghost", code: codes.NotFound},
			} {
				t.Run(tt.name, func(t *testing.T) {
					var a *commonv1.Artifact
					if tt.artifact != "" {
						a = &commonv1.Artifact{Key: tt.artifact}
					}
					m, err := r.Resolve(t.Context(), tt.id, a)
					if tt.want == "" {
						if err == nil {
							m.Close()
							t.Fatal("no error")
						}
						if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
							t.Errorf("err = %v, want %v", err, tt.wantErr)
						}
						if tt.code != codes.OK && status.Code(err) != tt.code {
							t.Errorf("err = %v, want code %v", err, tt.code)
						}
						return
					}
					if err != nil {
						t.Fatal(err)
					}
					defer m.Close()
					got, err := os.ReadFile(m.Path)
					if err != nil || string(got) != tt.want {
						t.Errorf("content %q (%v), want %q", got, err, tt.want)
					}
					if m.Video.GetId() != tt.id || m.Artifact != (tt.artifact != "" && tt.artifact != mine.GetOriginal().GetKey()) {
						t.Errorf("media %+v", m)
					}
					if url != "" {
						m.Close()
						if _, err := os.Stat(m.Path); !os.IsNotExist(err) {
							t.Errorf("downloaded copy %s left after Close: %v", m.Path, err)
						}
					}
				})
			}
		})
	}
}

func TestBelongs(t *testing.T) {
	t.Parallel()
	sha := strings.Repeat("ab", 32)
	v := &videosv1.Video{Sha256: sha, Original: &commonv1.Artifact{Key: "videos/" + sha}}
	for key, want := range map[string]bool{
		"videos/" + sha:                  true,
		"derived/" + sha + "/a.wav":      true,
		"thumbs/" + sha + "/0.jpg":       true,
		"derived/" + sha[:63] + "/a.wav": false,
		"derived/x" + sha + "/a.wav":     false,
		"derived/" + sha + "/../b":       false,
		"":                               false,
	} {
		if got := mediasrc.Belongs(key, v); got != want {
			t.Errorf("Belongs(%q) = %v, want %v", key, got, want)
		}
	}
	if mediasrc.Belongs("derived/"+sha+"/a.wav", &videosv1.Video{}) {
		t.Error("a video without sha owns a derived key")
	}
}
