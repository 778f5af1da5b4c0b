package server_test

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/testing/protocmp"

	commonv1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/common/v1"
	videosv1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/videos/v1"
	"github.com/clipmesh/clipmesh/platform/auth"
	"github.com/clipmesh/clipmesh/platform/fixtures"
	"github.com/clipmesh/clipmesh/platform/store"
	"github.com/clipmesh/clipmesh/platform/store/storetest"
	"github.com/clipmesh/clipmesh/services/jobs/internal/media"
)

// mp4Format is ffprobe's name of the ISO BMFF demuxer.
const mp4Format = "mov,mp4,m4a,3gp,3g2,mj2"

// wantProbes is what the probe of each fixture must say, from the truth the
// fixtures package exports. Bit rates depend on the encoder and are not
// compared; durations within 0.1 s (see probeOpts).
var wantProbes = map[string]*videosv1.Probe{
	fixtures.Cuts: {
		DurationSeconds: fixtures.CutsSeconds, FormatName: mp4Format, HasVideo: true, HasAudio: true, Engine: "ffprobe",
		Video: &videosv1.VideoStream{Codec: "h264", Width: fixtures.Width, Height: fixtures.Height, Fps: fixtures.FPS,
			FrameCount: fixtures.CutsSeconds * fixtures.FPS, PixelFormat: "yuv420p"},
		Audio: &videosv1.AudioStream{Codec: "aac", Channels: 1, SampleRate: 48000, ChannelLayout: "mono"},
	},
	fixtures.NoAudio: {
		DurationSeconds: fixtures.NoAudioSeconds, FormatName: mp4Format, HasVideo: true, Engine: "ffprobe",
		Video: &videosv1.VideoStream{Codec: "h264", Width: fixtures.Width, Height: fixtures.Height, Fps: fixtures.FPS,
			FrameCount: fixtures.NoAudioSeconds * fixtures.FPS, PixelFormat: "yuv420p"},
	},
	fixtures.AudioOnly: {
		DurationSeconds: fixtures.SpeechSeconds, FormatName: mp4Format, HasAudio: true, Engine: "ffprobe",
		Audio: &videosv1.AudioStream{Codec: "aac", Channels: 1, SampleRate: fixtures.SpeechSampleRate, ChannelLayout: "mono"},
	},
	fixtures.SpeechWAV: {
		DurationSeconds: fixtures.SpeechSeconds, FormatName: "wav", HasAudio: true, Engine: "ffprobe",
		Audio: &videosv1.AudioStream{Codec: "pcm_s16le", Channels: 1, SampleRate: fixtures.SpeechSampleRate},
	},
}

// probeOpts compare probes: bit rates ignored, times within 0.1 s.
var probeOpts = cmp.Options{
	protocmp.Transform(),
	protocmp.IgnoreFields(&videosv1.Probe{}, "bit_rate"),
	protocmp.IgnoreFields(&videosv1.VideoStream{}, "bit_rate"),
	protocmp.IgnoreFields(&videosv1.AudioStream{}, "bit_rate"),
	cmpopts.EquateApprox(0, 0.1),
}

// videoOpts compare videos: as probeOpts, and the creation time not at all.
var videoOpts = append(cmp.Options{protocmp.IgnoreFields(&videosv1.Video{}, "create_time")}, probeOpts...)

// wantVideo is the video the catalog makes of fixture name.
func wantVideo(t *testing.T, name, contentType string) *videosv1.Video {
	t.Helper()
	b := fixture(t, name)
	sum := sha256.Sum256(b)
	hexSum := hex.EncodeToString(sum[:])
	return &videosv1.Video{
		Id: videoID(b), Filename: name, ContentType: contentType, SizeBytes: int64(len(b)),
		Sha256: hexSum, Probe: wantProbes[name],
		Original: &commonv1.Artifact{Key: "videos/" + hexSum, Kind: "original", ContentType: contentType,
			SizeBytes: int64(len(b)), Sha256: hexSum},
	}
}

func TestUploadProbes(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		t.Parallel()
		env := newTestClient(t, db, noWorkers())
		ctx := env.key(t, "acme", auth.RoleEditor)
		for _, tt := range []struct {
			name        string
			contentType string
		}{
			{fixtures.Cuts, "video/mp4"},
			{fixtures.NoAudio, "video/mp4"},
			{fixtures.AudioOnly, "audio/mp4"},
			{fixtures.SpeechWAV, "audio/wav"},
		} {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				want := wantVideo(t, tt.name, tt.contentType)
				before := time.Now()
				res, err := upload(ctx, env.Videos, tt.name, fixture(t, tt.name))
				if err != nil {
					t.Fatalf("Upload: %v", err)
				}
				if !res.GetCreated() {
					t.Error("first upload: created = false, want true")
				}
				if diff := cmp.Diff(want, res.GetVideo(), videoOpts); diff != "" {
					t.Errorf("Upload video mismatch (-want +got):\n%s", diff)
				}
				if ct := res.GetVideo().GetCreateTime().AsTime(); ct.Before(before.Add(-time.Second)) || ct.After(time.Now().Add(time.Second)) {
					t.Errorf("create_time = %v, want about now", ct)
				}
				if got := res.GetVideo().GetProbe().GetBitRate(); got <= 0 {
					t.Errorf("probe bit_rate = %d, want > 0", got)
				}

				// The same bytes again are the same video.
				again, err := upload(ctx, env.Videos, "renamed-"+tt.name, fixture(t, tt.name))
				if err != nil {
					t.Fatalf("second Upload: %v", err)
				}
				if again.GetCreated() {
					t.Error("second upload: created = true, want false")
				}
				if diff := cmp.Diff(res.GetVideo(), again.GetVideo(), protocmp.Transform()); diff != "" {
					t.Errorf("second upload returned another video (-first +second):\n%s", diff)
				}

				got, err := env.Videos.GetVideo(ctx, &videosv1.GetVideoRequest{VideoId: want.GetId()})
				if err != nil {
					t.Fatalf("GetVideo: %v", err)
				}
				if diff := cmp.Diff(res.GetVideo(), got.GetVideo(), protocmp.Transform()); diff != "" {
					t.Errorf("GetVideo differs from the upload (-upload +get):\n%s", diff)
				}
			})
		}
	})
}

func TestListVideosPages(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		t.Parallel()
		env := newTestClient(t, db, noWorkers())
		ctx := env.key(t, "acme", auth.RoleEditor)

		var uploaded []*videosv1.Video
		for _, name := range []string{fixtures.NoAudio, fixtures.MovingSquare, fixtures.Still} {
			uploaded = append(uploaded, mustUpload(t, ctx, env.Videos, name))
		}
		// Newest first.
		want := []*videosv1.Video{uploaded[2], uploaded[1], uploaded[0]}

		var got []*videosv1.Video
		token := ""
		for page := 0; ; page++ {
			if page > len(want) {
				t.Fatalf("more than %d pages of 1: tokens never end", page)
			}
			res, err := env.Videos.ListVideos(ctx, &videosv1.ListVideosRequest{PageSize: 1, PageToken: token})
			if err != nil {
				t.Fatalf("ListVideos page %d: %v", page, err)
			}
			if len(res.GetVideos()) > 1 {
				t.Fatalf("page %d has %d videos, want at most 1", page, len(res.GetVideos()))
			}
			got = append(got, res.GetVideos()...)
			token = res.GetNextPageToken()
			if token == "" {
				break
			}
		}
		if diff := cmp.Diff(want, got, protocmp.Transform()); diff != "" {
			t.Errorf("paged ListVideos (-want +got):\n%s", diff)
		}

		all, err := env.Videos.ListVideos(ctx, &videosv1.ListVideosRequest{})
		if err != nil {
			t.Fatalf("ListVideos: %v", err)
		}
		if diff := cmp.Diff(&videosv1.ListVideosResponse{Videos: want}, all, protocmp.Transform()); diff != "" {
			t.Errorf("ListVideos with the default page size (-want +got):\n%s", diff)
		}

		for _, tt := range []struct {
			name string
			req  *videosv1.ListVideosRequest
		}{
			{"negative page size", &videosv1.ListVideosRequest{PageSize: -1}},
			{"token not base64", &videosv1.ListVideosRequest{PageToken: "!!!"}},
			{"token without position", &videosv1.ListVideosRequest{PageToken: "bm9wZQ"}}, // "nope"
		} {
			t.Run(tt.name, func(t *testing.T) {
				_, err := env.Videos.ListVideos(ctx, tt.req)
				if status.Code(err) != codes.InvalidArgument {
					t.Errorf("ListVideos(%v) = %v, want InvalidArgument", tt.req, err)
				}
			})
		}
	})
}

func TestDeleteVideo(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		t.Parallel()
		env := newTestClient(t, db, noWorkers())
		acme := env.key(t, "acme", auth.RoleEditor)
		other := env.key(t, "other", auth.RoleEditor)

		// Two tenants upload the same content: one blob, two videos.
		v := mustUpload(t, acme, env.Videos, fixtures.NoAudio)
		if w := mustUpload(t, other, env.Videos, fixtures.NoAudio); w.GetId() != v.GetId() {
			t.Fatalf("same content, other tenant: id %s, want %s", w.GetId(), v.GetId())
		}
		keep := mustUpload(t, acme, env.Videos, fixtures.MovingSquare)
		if got := len(env.blobKeys(t)); got != 2 {
			t.Fatalf("bucket holds %d objects, want 2", got)
		}

		if _, err := env.Videos.DeleteVideo(acme, &videosv1.DeleteVideoRequest{VideoId: v.GetId()}); err != nil {
			t.Fatalf("DeleteVideo: %v", err)
		}
		_, err := env.Videos.GetVideo(acme, &videosv1.GetVideoRequest{VideoId: v.GetId()})
		if status.Code(err) != codes.NotFound {
			t.Errorf("GetVideo after delete = %v, want NotFound", err)
		}
		_, err = env.Videos.DeleteVideo(acme, &videosv1.DeleteVideoRequest{VideoId: v.GetId()})
		if status.Code(err) != codes.NotFound {
			t.Errorf("DeleteVideo again = %v, want NotFound", err)
		}
		// The other tenant's copy, and acme's other video, are intact.
		if _, err := env.Videos.GetVideo(other, &videosv1.GetVideoRequest{VideoId: v.GetId()}); err != nil {
			t.Errorf("other tenant's GetVideo after acme's delete: %v", err)
		}
		if _, err := env.Videos.GetVideo(acme, &videosv1.GetVideoRequest{VideoId: keep.GetId()}); err != nil {
			t.Errorf("GetVideo of the video not deleted: %v", err)
		}
		if got := len(env.blobKeys(t)); got != 2 {
			t.Errorf("bucket holds %d objects after deleting a shared video, want 2", got)
		}

		// The last reference takes the blob with it.
		if _, err := env.Videos.DeleteVideo(other, &videosv1.DeleteVideoRequest{VideoId: v.GetId()}); err != nil {
			t.Fatalf("DeleteVideo of the last reference: %v", err)
		}
		if got := env.blobKeys(t); len(got) != 1 || !strings.HasSuffix(got[0], keep.GetSha256()) {
			t.Errorf("bucket after deleting every reference = %v, want only %s's blob", got, keep.GetId())
		}
	})
}

func TestVideoIDValidation(t *testing.T) {
	t.Parallel()
	env := newTestClient(t, storetest.SQLite(t), noWorkers())
	ctx := env.key(t, "acme", auth.RoleEditor)
	for _, tt := range []struct {
		name, id string
		want     codes.Code
		wantMsg  string
	}{
		{"empty", "", codes.InvalidArgument, "video_id is required"},
		{"wrong prefix", "job_123", codes.InvalidArgument, "is not a vid id"},
		{"too long", "vid_" + strings.Repeat("a", 200), codes.InvalidArgument, "is not a vid id"},
		{"unknown", "vid_00000000000000000000000000000000", codes.NotFound, "video not found"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := env.Videos.GetVideo(ctx, &videosv1.GetVideoRequest{VideoId: tt.id})
			if status.Code(err) != tt.want || !strings.Contains(status.Convert(err).Message(), tt.wantMsg) {
				t.Errorf("GetVideo(%q) = %v, want %v saying %q", tt.id, err, tt.want, tt.wantMsg)
			}
			_, err = env.Videos.DeleteVideo(ctx, &videosv1.DeleteVideoRequest{VideoId: tt.id})
			if status.Code(err) != tt.want {
				t.Errorf("DeleteVideo(%q) = %v, want %v", tt.id, err, tt.want)
			}
		})
	}
}

func TestUploadRefusesBadInput(t *testing.T) {
	t.Parallel()
	cuts := func(t *testing.T) []*videosv1.UploadRequest { return uploadMsgs("cuts.mp4", fixture(t, fixtures.Cuts)) }
	file := func(name string) func(t *testing.T) []*videosv1.UploadRequest {
		return func(t *testing.T) []*videosv1.UploadRequest { return uploadMsgs(name, fixture(t, name)) }
	}
	meta := func(name string) *videosv1.UploadRequest {
		return &videosv1.UploadRequest{Data: &videosv1.UploadRequest_Metadata{Metadata: &videosv1.UploadMetadata{Filename: name}}}
	}
	tests := []struct {
		name    string
		opts    []option
		msgs    func(t *testing.T) []*videosv1.UploadRequest
		wantMsg []string // every one must be in the status message
		keep    string   // the good fixture stored before (default MovingSquare)
	}{
		{name: "empty file", msgs: file(fixtures.Empty), wantMsg: []string{"invalid media", "the file is empty"}},
		{name: "garbage", msgs: file(fixtures.Garbage), wantMsg: []string{"invalid media", "not a readable media file", "Invalid data"}},
		{name: "truncated", msgs: file(fixtures.Truncated), wantMsg: []string{"invalid media", "not a readable media file"}},
		{name: "text", msgs: file(fixtures.Text), wantMsg: []string{"invalid media", "not a readable media file"}},
		{name: "no message at all", msgs: func(*testing.T) []*videosv1.UploadRequest { return nil },
			wantMsg: []string{"empty upload"}},
		{name: "metadata only", msgs: func(*testing.T) []*videosv1.UploadRequest { return []*videosv1.UploadRequest{meta("x.mp4")} },
			wantMsg: []string{"the file is empty"}},
		{name: "metadata twice", msgs: func(t *testing.T) []*videosv1.UploadRequest {
			m := cuts(t)
			return append([]*videosv1.UploadRequest{m[0], meta("again.mp4")}, m[1:]...)
		}, wantMsg: []string{"metadata must be sent once, first"}},
		{name: "metadata after bytes", msgs: func(t *testing.T) []*videosv1.UploadRequest {
			m := cuts(t)
			return append(append([]*videosv1.UploadRequest{}, m[:2]...), append([]*videosv1.UploadRequest{meta("late.mp4")}, m[2:]...)...)
		}, wantMsg: []string{"metadata must be sent once, first"}},
		{name: "filename too long", msgs: func(t *testing.T) []*videosv1.UploadRequest {
			return uploadMsgs(strings.Repeat("x", 1025), fixture(t, fixtures.NoAudio))
		}, wantMsg: []string{"filename is longer than 1024 bytes"}},
		{name: "over the size limit", opts: []option{maxBytes(100 << 10)}, msgs: cuts,
			wantMsg: []string{"upload too large", "over the limit of 102400 bytes"}},
		{name: "over the duration limit", opts: []option{limits(media.Limits{MaxDurationSeconds: 10})}, msgs: cuts,
			wantMsg: []string{"invalid media", "duration 12 s is over the limit of 10 s"}},
		{name: "over the pixel limit", opts: []option{limits(media.Limits{MaxPixels: fixtures.Width*fixtures.Height - 1})}, msgs: cuts,
			wantMsg: []string{"invalid media", "frame 320x240 is over the limit of 76799 pixels"}, keep: fixtures.Tone440},
	}
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		t.Parallel()
		// One service per set of options, each holding one good video that
		// no bad upload may disturb.
		// The services share db, so each has its own tenant.
		type served struct {
			env    *testEnv
			tenant string
			good   []*videosv1.Video
		}
		n := 0
		serve := func(keep string, opts ...option) *served {
			env := newTestClient(t, db, append(opts, noWorkers())...)
			n++
			tenant := fmt.Sprintf("acme-%d", n)
			ctx := env.key(t, tenant, auth.RoleEditor)
			return &served{env: env, tenant: tenant, good: []*videosv1.Video{mustUpload(t, ctx, env.Videos, keep)}}
		}
		plain := serve(fixtures.MovingSquare)
		all := []*served{plain}
		by := make([]*served, len(tests))
		for i, tt := range tests {
			by[i] = plain
			if len(tt.opts) > 0 {
				keep := tt.keep
				if keep == "" {
					keep = fixtures.MovingSquare
				}
				by[i] = serve(keep, tt.opts...)
				all = append(all, by[i])
			}
		}
		t.Run("refused", func(t *testing.T) {
			for i, tt := range tests {
				s := by[i]
				t.Run(tt.name, func(t *testing.T) {
					t.Parallel()
					ctx := s.env.key(t, s.tenant, auth.RoleEditor)
					res, err := send(ctx, s.env.Videos, tt.msgs(t))
					if status.Code(err) != codes.InvalidArgument {
						t.Fatalf("Upload = %v, %v; want InvalidArgument", res, err)
					}
					msg := status.Convert(err).Message()
					for _, w := range tt.wantMsg {
						if !strings.Contains(msg, w) {
							t.Errorf("Upload error %q does not say %q", msg, w)
						}
					}
					if strings.Contains(msg, "rpc error") || strings.Contains(msg, "catalog:") {
						t.Errorf("Upload error %q shows the server's own wrapping", msg)
					}
					if dir := s.env.Library.TempDir; strings.Contains(msg, dir) {
						t.Errorf("Upload error %q shows the server's spool directory %s", msg, dir)
					}
				})
			}
		})
		// After every bad upload: nothing stored, nothing lost.
		for _, s := range all {
			ctx := s.env.key(t, s.tenant, auth.RoleViewer)
			list, err := s.env.Videos.ListVideos(ctx, &videosv1.ListVideosRequest{})
			if err != nil {
				t.Errorf("ListVideos: %v", err)
				continue
			}
			if diff := cmp.Diff(s.good, list.GetVideos(), protocmp.Transform()); diff != "" {
				t.Errorf("videos after bad uploads (-want +got):\n%s", diff)
			}
			if got := s.env.blobKeys(t); len(got) != 1 {
				t.Errorf("bucket after bad uploads = %v, want only the good video's blob", got)
			}
			if got := s.env.tempFiles(t); len(got) != 0 {
				t.Errorf("spool directory after bad uploads holds %v, want nothing", got)
			}
		}
	})
}
