package server

import (
	"bytes"
	"context"
	"errors"
	"image/jpeg"
	"io"
	"log/slog"
	"math"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"gocloud.dev/blob"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"
	"google.golang.org/protobuf/proto"

	commonv1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/common/v1"
	videosv1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/videos/v1"
	visionv1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/vision/v1"
	"github.com/clipmesh/clipmesh/platform/blobstore"
	"github.com/clipmesh/clipmesh/platform/fixtures"
	"github.com/clipmesh/clipmesh/platform/models"
	"github.com/clipmesh/clipmesh/platform/natsx"
	"github.com/clipmesh/clipmesh/platform/ort"
	"github.com/clipmesh/clipmesh/platform/ort/orttest"
	"github.com/clipmesh/clipmesh/services/vision/internal/analysis"
	"github.com/clipmesh/clipmesh/services/vision/internal/faces"
)

// fakeVideos is a VideoService holding a fixed set of videos.
type fakeVideos struct {
	videosv1.UnimplementedVideoServiceServer
	videos map[string]*videosv1.Video
}

func (f *fakeVideos) GetVideo(_ context.Context, req *videosv1.GetVideoRequest) (*videosv1.GetVideoResponse, error) {
	v, ok := f.videos[req.GetVideoId()]
	if !ok {
		return nil, status.Errorf(codes.NotFound, "video not found: %s", req.GetVideoId())
	}
	return &videosv1.GetVideoResponse{Video: v}, nil
}

type testEnv struct {
	client visionv1.VisionServiceClient
	bucket *blob.Bucket
	nc     *nats.Conn
}

// newTestClient serves a VisionService and a fake VideoService on bufconn,
// with an embedded NATS; files maps video ids to local files, stored in the
// bucket under "videos/<id>" with sha256 "sha-<id>".
func newTestClient(t *testing.T, files map[string]string, limits analysis.Limits) *testEnv {
	t.Helper()
	bucket, err := blobstore.Open(t.Context(), "", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = bucket.Close() })
	fake := &fakeVideos{videos: map[string]*videosv1.Video{}}
	for id, path := range files {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		key := "videos/" + id
		if err := bucket.WriteAll(t.Context(), key, data, nil); err != nil {
			t.Fatal(err)
		}
		fake.videos[id] = &videosv1.Video{Id: id, Sha256: "sha-" + id, Original: &commonv1.Artifact{Key: key, Kind: "original", SizeBytes: int64(len(data))}}
	}
	conn, err := natsx.Connect(t.Context(), natsx.Options{StoreDir: t.TempDir(), Name: "vision-test", Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = conn.Close(ctx)
	})
	dir, err := models.Dir("")
	if err != nil {
		t.Fatal(err)
	}
	engine := faces.NewEngine(dir, ort.Options{IntraOpThreads: 1})
	t.Cleanup(func() { _ = engine.Close() })

	lis := bufconn.Listen(1 << 20)
	g := grpc.NewServer()
	videosv1.RegisterVideoServiceServer(g, fake)
	cc, err := grpc.NewClient("passthrough:///bufnet",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(64<<20)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cc.Close() })
	srv := &Server{
		Videos: videosv1.NewVideoServiceClient(cc), Blob: bucket, TmpDir: t.TempDir(), NC: conn.NC,
		Faces: engine, Limits: limits, Version: "test", Logger: slog.New(slog.DiscardHandler),
	}
	if err := srv.Ready(t.Context()); err != nil {
		t.Fatalf("ready: %v", err)
	}
	srv.Register(g)
	go func() { _ = g.Serve(lis) }()
	t.Cleanup(g.Stop)
	return &testEnv{client: visionv1.NewVisionServiceClient(cc), bucket: bucket, nc: conn.NC}
}

// runAnalyze runs AnalyzeVideo to its end.
func runAnalyze(ctx context.Context, c visionv1.VisionServiceClient, req *visionv1.AnalyzeVideoRequest) ([]*commonv1.Progress, *visionv1.VisionResult, error) {
	st, err := c.AnalyzeVideo(ctx, req)
	if err != nil {
		return nil, nil, err
	}
	var progress []*commonv1.Progress
	var res *visionv1.VisionResult
	for {
		m, err := st.Recv()
		if errors.Is(err, io.EOF) {
			return progress, res, nil
		}
		if err != nil {
			return progress, res, err
		}
		if p := m.GetProgress(); p != nil {
			progress = append(progress, p)
		}
		if r := m.GetResult(); r != nil {
			res = r
		}
	}
}

// faceVideo loops the models' face photo into a 3-second 25 fps video.
func faceVideo(t *testing.T) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "face.mp4")
	cmd := exec.CommandContext(t.Context(), "ffmpeg", "-nostdin", "-v", "error", "-loop", "1", "-framerate", "25",
		"-i", orttest.Model(t, "face-photo"), "-t", "3", "-c:v", "libx264", "-pix_fmt", "yuv420p", out)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg: %v: %s", err, b)
	}
	return out
}

func TestAnalyzeVideo(t *testing.T) {
	t.Parallel()
	orttest.Init(t)
	orttest.Model(t, faces.ModelName)
	files := map[string]string{"face": faceVideo(t)}
	for _, name := range []string{fixtures.Cuts, fixtures.MovingSquare, fixtures.Still, fixtures.NoAudio, fixtures.AudioOnly, fixtures.Garbage} {
		files[strings.TrimSuffix(name, filepath.Ext(name))] = fixtures.MustPath(t, name)
	}
	env := newTestClient(t, files, analysis.Limits{MaxWidth: 1920, MaxHeight: 1080, MaxSeconds: 600})

	analyse := func(t *testing.T, id string, thumbs bool) *visionv1.VisionResult {
		t.Helper()
		progress, r, err := runAnalyze(t.Context(), env.client, &visionv1.AnalyzeVideoRequest{VideoId: id, IncludeThumbnails: thumbs})
		if err != nil {
			t.Fatalf("%s: %v", id, err)
		}
		if len(progress) < 2 || progress[len(progress)-1].GetFraction() != 1 {
			t.Errorf("%s: progress %v", id, progress)
		}
		for i := 1; i < len(progress); i++ {
			if progress[i].GetFraction() < progress[i-1].GetFraction() {
				t.Errorf("progress goes back: %v", progress)
			}
		}
		if !r.GetDecode().GetComplete() || r.GetDecode().GetError() != "" {
			t.Errorf("%s: decode %v", id, r.GetDecode())
		}
		return r
	}

	t.Run("cuts", func(t *testing.T) {
		sub, err := env.nc.SubscribeSync(SceneSubject)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = sub.Unsubscribe() }()
		if err := env.nc.Flush(); err != nil {
			t.Fatal(err)
		}
		r := analyse(t, "cuts", true)
		sc := r.GetScenes()
		if len(sc) != len(fixtures.CutFrames)+1 {
			t.Fatalf("%d scenes %v, want %d", len(sc), sc, len(fixtures.CutFrames)+1)
		}
		for i, want := range fixtures.CutFrames {
			s := sc[i+1]
			if d := s.GetStartFrame() - want; d < -1 || d > 1 {
				t.Errorf("scene %d starts at frame %d, want %d ±1", i+1, s.GetStartFrame(), want)
			}
			if s.GetTransition() != visionv1.TransitionKind_TRANSITION_KIND_CUT {
				t.Errorf("scene %d transition %v", i+1, s.GetTransition())
			}
		}
		for i := range fixtures.CutFrames {
			m, err := sub.NextMsg(5 * time.Second)
			if err != nil {
				t.Fatalf("SceneDetected %d: %v", i, err)
			}
			var ev visionv1.SceneDetected
			if err := proto.Unmarshal(m.Data, &ev); err != nil {
				t.Fatal(err)
			}
			if ev.GetVideoId() != "cuts" || ev.GetScene().GetStartFrame() != sc[i+1].GetStartFrame() {
				t.Errorf("event %d = %v, want scene %v", i, &ev, sc[i+1])
			}
		}
		if m, err := sub.NextMsg(200 * time.Millisecond); err == nil {
			t.Errorf("extra event %s", m.Data)
		}
		if len(r.GetFaceTracks()) != 0 {
			t.Errorf("faces in the cuts fixture: %v", r.GetFaceTracks())
		}
		if got, want := len(r.GetSeconds()), int(fixtures.CutsSeconds); got != want {
			t.Errorf("%d seconds of series, want %d", got, want)
		}
		var engines []string
		for _, p := range r.GetProducers() {
			engines = append(engines, p.GetEngine())
		}
		if strings.Join(engines, ",") != "ffmpeg,opencv,clipmesh-vision,blazeface,onnxruntime" || r.GetProducer().GetFallback() {
			t.Errorf("producers %v, overall %v", r.GetProducers(), r.GetProducer())
		}
		// Thumbnails: one per scene, inside it, stored in the bucket.
		if len(r.GetThumbnails()) != len(fixtures.CutFrames)+1 {
			t.Fatalf("thumbnails %v", r.GetThumbnails())
		}
		for _, s := range r.GetScenes() {
			ts := s.GetThumbnailSeconds()
			if s.GetThumbnail() == nil || ts < s.GetRange().GetStartSeconds() || ts >= s.GetRange().GetEndSeconds() {
				t.Errorf("scene %v: thumbnail outside", s)
			}
			if ok, err := env.bucket.Exists(t.Context(), s.GetThumbnail().GetKey()); err != nil || !ok {
				t.Errorf("%s not stored: %v", s.GetThumbnail().GetKey(), err)
			}
		}
	})

	t.Run("motion and subject", func(t *testing.T) {
		sq, still := analyse(t, "moving_square", false), analyse(t, "still", false)
		mean := func(r *visionv1.VisionResult) float64 {
			var s float64
			for _, x := range r.GetSeconds() {
				s += x.GetMotionEnergy()
			}
			return s / float64(len(r.GetSeconds()))
		}
		if m, s := mean(sq), mean(still); !(m > 10*s && m > 0) {
			t.Errorf("motion energy: square %g, still %g", m, s)
		}
		pts := sq.GetSubjectPoints()
		if len(pts) < 10 {
			t.Fatalf("%d subject points", len(pts))
		}
		for _, p := range pts {
			if p.GetSeconds() < 1 {
				continue // the smoothed point is still converging
			}
			sx, sy := fixtures.SquareCenter(p.GetSeconds())
			if dx, dy := p.GetX()-sx/fixtures.Width, p.GetY()-sy/fixtures.Height; math.Abs(dx) > 0.1 || math.Abs(dy) > 0.1 {
				t.Errorf("subject at %.2fs = (%.3f, %.3f), square at (%.3f, %.3f)", p.GetSeconds(), p.GetX(), p.GetY(), sx/fixtures.Width, sy/fixtures.Height)
			}
		}
		if q := still.GetQuality(); q.GetFrames() == 0 || q.GetMean().GetSharpness() <= 0 || q.GetMean().GetColorfulness() <= 0 {
			t.Errorf("quality of smptebars %v", q)
		}
	})

	t.Run("face", func(t *testing.T) {
		r := analyse(t, "face", true)
		tr := r.GetFaceTracks()
		if len(tr) != 1 {
			t.Fatalf("%d face tracks %v, want 1", len(tr), tr)
		}
		f := tr[0]
		t.Logf("track %v", f)
		if f.GetEyesVisibleFraction() < 0.9 || f.GetDetections() < 5 || f.GetScreenTimeSeconds() < 2.5 ||
			f.GetMeanSizeFraction() < 0.05 || f.GetMeanSizeFraction() > 0.6 || f.GetScore() < 0.75 {
			t.Errorf("track %v", f)
		}
		if f.GetRange().GetStartSeconds() > 0.1 || f.GetRange().GetEndSeconds() < 2.4 {
			t.Errorf("track range %v", f.GetRange())
		}
		if s := r.GetSeconds(); len(s) != 3 || s[0].GetFaces() != 1 || s[0].GetLargestFaceFraction() <= 0 {
			t.Errorf("seconds %v", s)
		}
		// Thumbnails: one per scene, stored as JPEG under thumbs/<sha>/.
		th := r.GetThumbnails()
		if len(th) != len(r.GetScenes()) || len(th) == 0 {
			t.Fatalf("thumbnails %v for %d scenes", th, len(r.GetScenes()))
		}
		if th[0].GetKey() != "thumbs/sha-face/0.jpg" || r.GetScenes()[0].GetThumbnail().GetKey() != th[0].GetKey() {
			t.Errorf("thumbnail %v, scene %v", th[0], r.GetScenes()[0])
		}
		data, err := env.bucket.ReadAll(t.Context(), th[0].GetKey())
		if err != nil {
			t.Fatal(err)
		}
		img, err := jpeg.Decode(bytes.NewReader(data))
		if err != nil || int64(len(data)) != th[0].GetSizeBytes() {
			t.Fatalf("thumbnail: %v (%d bytes, artifact %v)", err, len(data), th[0])
		}
		if b := img.Bounds(); b.Dx() != int(r.GetDecode().GetAnalysisWidth()) {
			t.Errorf("thumbnail %v", b)
		}
	})

	t.Run("no audio", func(t *testing.T) {
		r := analyse(t, "no_audio", false)
		if math.Abs(r.GetDecode().GetSeconds()-fixtures.NoAudioSeconds) > 0.05 || len(r.GetScenes()) == 0 {
			t.Errorf("decode %v, scenes %v", r.GetDecode(), r.GetScenes())
		}
	})

	for _, tt := range []struct {
		name, id, msg string
		code          codes.Code
	}{
		{"audio only", "audio_only", "no video stream", codes.InvalidArgument},
		{"garbage", "garbage", "invalid media", codes.InvalidArgument},
		{"unknown", "vid_unknown", "not found", codes.NotFound},
		{"empty id", "", "video_id", codes.InvalidArgument},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := runAnalyze(t.Context(), env.client, &visionv1.AnalyzeVideoRequest{VideoId: tt.id})
			if status.Code(err) != tt.code || !strings.Contains(status.Convert(err).Message(), tt.msg) {
				t.Errorf("err %v, want %v containing %q", err, tt.code, tt.msg)
			}
		})
	}
}

func TestLimits(t *testing.T) {
	t.Parallel()
	orttest.Init(t)
	env := newTestClient(t, map[string]string{"still": fixtures.MustPath(t, fixtures.Still)}, analysis.Limits{MaxWidth: 200, MaxSeconds: 600})
	_, _, err := runAnalyze(t.Context(), env.client, &visionv1.AnalyzeVideoRequest{VideoId: "still"})
	if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "the limit is 200 px") {
		t.Errorf("err %v", err)
	}
	env = newTestClient(t, map[string]string{"still": fixtures.MustPath(t, fixtures.Still)}, analysis.Limits{MaxSeconds: 2})
	_, _, err = runAnalyze(t.Context(), env.client, &visionv1.AnalyzeVideoRequest{VideoId: "still"})
	if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "the limit is 2 s") {
		t.Errorf("err %v", err)
	}
}
