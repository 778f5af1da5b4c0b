package server

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image/jpeg"
	"io"
	"log/slog"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
	"gocloud.dev/blob"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	commonv1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/common/v1"
	videosv1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/videos/v1"
	visionv1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/vision/v1"
	"github.com/clipmesh/clipmesh/platform/blobstore"
	"github.com/clipmesh/clipmesh/platform/fixtures"
	"github.com/clipmesh/clipmesh/platform/mediasrc"
	"github.com/clipmesh/clipmesh/platform/mediasrc/mediasrctest"
	"github.com/clipmesh/clipmesh/platform/models"
	"github.com/clipmesh/clipmesh/platform/natsx"
	"github.com/clipmesh/clipmesh/platform/ort"
	"github.com/clipmesh/clipmesh/platform/ort/orttest"
	"github.com/clipmesh/clipmesh/services/vision/internal/analysis"
	"github.com/clipmesh/clipmesh/services/vision/internal/extras"
	"github.com/clipmesh/clipmesh/services/vision/internal/faces"
)

type testEnv struct {
	client visionv1.VisionServiceClient
	bucket *blob.Bucket
	nc     *nats.Conn
	// videos are the stored videos by id.
	videos map[string]*videosv1.Video
}

// newTestClient serves a VisionService and a fake VideoService on bufconn,
// with an embedded NATS; files maps video ids to local files, stored in the
// bucket under "videos/<sha256>".
func newTestClient(t *testing.T, files map[string]string, limits analysis.Limits, opts ...grpc.ServerOption) *testEnv {
	t.Helper()
	bucket, err := blobstore.Open(t.Context(), "", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = bucket.Close() })
	fake := mediasrctest.NewVideos(bucket)
	env := &testEnv{bucket: bucket, videos: map[string]*videosv1.Video{}}
	for id, path := range files {
		env.videos[id] = fake.Add(t, id, path)
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
	env.nc = conn.NC
	dir, err := models.Dir("")
	if err != nil {
		t.Fatal(err)
	}
	engine := faces.NewEngine(dir, ort.Options{IntraOpThreads: 1})
	t.Cleanup(func() { _ = engine.Close() })
	extraEngine := extras.NewEngine(dir, ort.Options{IntraOpThreads: 1})
	t.Cleanup(func() { _ = extraEngine.Close() })
	eyes, err := faces.NewEyeConfirmer("")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = eyes.Close() })
	cc := mediasrctest.Serve(t, fake, func(g grpc.ServiceRegistrar, cc *grpc.ClientConn) {
		srv := &Server{
			Eyes:   eyes,
			Extras: extraEngine,
			Media:  &mediasrc.Resolver{Videos: videosv1.NewVideoServiceClient(cc), Blob: bucket, TmpDir: t.TempDir()},
			Blob:   bucket, NC: conn.NC, Faces: engine, Limits: limits, Version: "test", Logger: slog.New(slog.DiscardHandler),
		}
		if err := srv.Ready(t.Context()); err != nil {
			t.Fatalf("ready: %v", err)
		}
		srv.Register(g)
	}, opts...)
	env.client = visionv1.NewVisionServiceClient(cc)
	return env
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

// faceVideo loops a photo (the models' face photo when empty) into a
// 3-second 25 fps video.
func faceVideo(t *testing.T, photo string) string {
	t.Helper()
	if photo == "" {
		photo = orttest.Model(t, "face-photo")
	}
	out := filepath.Join(t.TempDir(), "face.mp4")
	cmd := exec.CommandContext(t.Context(), "ffmpeg", "-nostdin", "-v", "error", "-loop", "1", "-framerate", "25",
		"-i", photo, "-t", "3", "-c:v", "libx264", "-pix_fmt", "yuv420p", out)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg: %v: %s", err, b)
	}
	return out
}

func TestAnalyzeVideo(t *testing.T) {
	t.Parallel()
	orttest.Init(t)
	orttest.Model(t, faces.ModelName)
	files := map[string]string{"face": faceVideo(t, "")}
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
		if strings.Join(engines, ",") != "ffmpeg,opencv,clipmesh-vision,blazeface,onnxruntime,opencv,mini-xception,mediapipe-facemesh,nanodet,pp-ocrv4" || r.GetProducer().GetFallback() {
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
		// The colour temperature reaches every level of the result.
		if k := still.GetQuality().GetMean().GetColorTemperatureK(); k < 1000 || k > 30000 {
			t.Errorf("smptebars mean colour temperature %.0f K", k)
		}
		if len(still.GetScenes()) == 0 || still.GetScenes()[0].GetColorTemperatureK() <= 0 ||
			len(still.GetSeconds()) == 0 || still.GetSeconds()[0].GetColorTemperatureK() <= 0 {
			t.Errorf("colour temperature missing from the scenes or seconds: %v / %v", still.GetScenes(), still.GetSeconds())
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
		if f.GetEyesChecked() < 5 || f.GetEyesConfirmedFraction() < 0.8 {
			t.Errorf("eye cascade: %d checked, %.2f confirmed; want both open eyes confirmed", f.GetEyesChecked(), f.GetEyesConfirmedFraction())
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
		if th[0].GetKey() != "thumbs/"+env.videos["face"].GetSha256()+"/0.jpg" || r.GetScenes()[0].GetThumbnail().GetKey() != th[0].GetKey() {
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

// TestSceneEventsLive checks that a boundary is published on NATS while the
// video is still being decoded, with the video id and the request's trace
// context: a 15-second video with a cut at 2 s; the first event must come
// before a progress message of the same run (decoding still going) and
// before the result.
func TestSceneEventsLive(t *testing.T) {
	t.Parallel()
	orttest.Init(t)
	path := filepath.Join(t.TempDir(), "late.mp4")
	out, err := exec.CommandContext(t.Context(), "ffmpeg", "-nostdin", "-v", "error",
		"-f", "lavfi", "-i", "color=c=red:s=320x240:r=25:d=2",
		"-f", "lavfi", "-i", "testsrc2=s=320x240:r=25:d=13",
		"-filter_complex", "[0:v][1:v]concat=n=2:v=1[v]", "-map", "[v]", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", path).CombinedOutput()
	if err != nil {
		t.Fatalf("ffmpeg: %v\n%s", err, out)
	}
	// A fixed trace in the handler's context stands for the one otelgrpc
	// extracts from the caller in production; W3C propagation is what
	// platform/telemetry installs.
	otel.SetTextMapPropagator(propagation.TraceContext{})
	traceID := trace.TraceID{0x5c, 0xe1, 0x1e, 0x5e, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}
	sc := trace.NewSpanContext(trace.SpanContextConfig{TraceID: traceID, SpanID: trace.SpanID{1, 2, 3, 4, 5, 6, 7, 8}, TraceFlags: trace.FlagsSampled})
	traced := grpc.StreamInterceptor(func(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, h grpc.StreamHandler) error {
		return h(srv, &ctxStream{ServerStream: ss, ctx: trace.ContextWithSpanContext(ss.Context(), sc)})
	})
	env := newTestClient(t, map[string]string{"late": path}, analysis.Limits{}, traced)

	events := make(chan time.Time, 16)
	var first *nats.Msg
	sub, err := env.nc.Subscribe(SceneSubject, func(m *nats.Msg) {
		if first == nil {
			first = m
		}
		events <- time.Now()
	})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = sub.Unsubscribe() }()
	if err := env.nc.Flush(); err != nil {
		t.Fatal(err)
	}

	st, err := env.client.AnalyzeVideo(t.Context(), &visionv1.AnalyzeVideoRequest{VideoId: "late"})
	if err != nil {
		t.Fatal(err)
	}
	var firstEvent time.Time
	progressAfter := 0
	var res *visionv1.VisionResult
	for res == nil {
		m, err := st.Recv()
		if err != nil {
			t.Fatalf("stream: %v", err)
		}
		select {
		case at := <-events:
			if firstEvent.IsZero() {
				firstEvent = at
			}
		default:
		}
		if p := m.GetProgress(); p != nil && !firstEvent.IsZero() && p.GetFraction() < 0.99 {
			progressAfter++
		}
		res = m.GetResult()
	}
	if firstEvent.IsZero() {
		t.Fatal("no scene event before the result")
	}
	if progressAfter == 0 {
		t.Error("the first scene event came after decoding ended: not live")
	}
	if sc := res.GetScenes(); len(sc) != 2 || sc[1].GetStartFrame() < 49 || sc[1].GetStartFrame() > 51 {
		t.Fatalf("scenes %v, want a cut at frame 50", sc)
	}
	var ev visionv1.SceneDetected
	if err := proto.Unmarshal(first.Data, &ev); err != nil {
		t.Fatal(err)
	}
	if ev.GetVideoId() != "late" || ev.GetScene().GetStartFrame() != res.GetScenes()[1].GetStartFrame() ||
		ev.GetScene().GetTransition() != visionv1.TransitionKind_TRANSITION_KIND_CUT || ev.GetScene().GetIndex() != 1 {
		t.Errorf("event %v, final scene %v", &ev, res.GetScenes()[1])
	}
	if tp := first.Header.Get("traceparent"); !strings.Contains(tp, traceID.String()) {
		t.Errorf("traceparent %q does not carry the request's trace %s", tp, traceID)
	}
	t.Logf("first event %v before the result; %d progress messages after it", time.Since(firstEvent), progressAfter)
}

type ctxStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s *ctxStream) Context() context.Context { return s.ctx }

// TestBadVideo: a file cut short is analysed as far as it decodes, the
// result saying where it stopped; a stream with no declared duration is
// still held to the length limit while decoding.
func TestBadVideo(t *testing.T) {
	t.Parallel()
	orttest.Init(t)
	dir := t.TempDir()
	src := fixtures.MustPath(t, fixtures.Cuts)
	mkv, raw := filepath.Join(dir, "full.mkv"), filepath.Join(dir, "video.h264")
	for _, args := range [][]string{
		{"-i", src, "-c", "copy", mkv},
		{"-i", src, "-map", "0:v", "-c", "copy", "-bsf:v", "h264_mp4toannexb", raw},
	} {
		if out, err := exec.CommandContext(t.Context(), "ffmpeg", append([]string{"-nostdin", "-v", "error"}, args...)...).CombinedOutput(); err != nil {
			t.Fatalf("ffmpeg %v: %v\n%s", args, err, out)
		}
	}
	data, err := os.ReadFile(mkv)
	if err != nil {
		t.Fatal(err)
	}
	cut := filepath.Join(dir, "cut.mkv")
	if err := os.WriteFile(cut, data[:len(data)*6/10], 0o644); err != nil {
		t.Fatal(err)
	}

	env := newTestClient(t, map[string]string{"cut": cut}, analysis.Limits{MaxSeconds: 600})
	_, r, err := runAnalyze(t.Context(), env.client, &visionv1.AnalyzeVideoRequest{VideoId: "cut"})
	if err != nil {
		t.Fatalf("a truncated file should be analysed as far as it decodes: %v", err)
	}
	d := r.GetDecode()
	t.Logf("decode %v", d)
	if d.GetComplete() || !strings.Contains(d.GetError(), fmt.Sprintf("stopped after frame %d ", d.GetFrames())) ||
		d.GetSeconds() < 4.5 || d.GetSeconds() > 9 {
		t.Errorf("decode status %v: want incomplete, stopped between 4.5 and 9 s, saying where", d)
	}
	// The cuts before the break are found, within a frame (Matroska's
	// millisecond timestamps may shift the 25 fps grid by one).
	sc := r.GetScenes()
	near := func(got, want int64) bool { return got >= want-1 && got <= want+1 }
	if len(sc) != 3 || !near(sc[1].GetStartFrame(), fixtures.CutFrames[0]) || !near(sc[2].GetStartFrame(), fixtures.CutFrames[1]) {
		t.Errorf("scenes of the decoded part %v, want cuts at %v", sc, fixtures.CutFrames[:2])
	}

	env = newTestClient(t, map[string]string{"raw": raw}, analysis.Limits{MaxSeconds: 5})
	_, _, err = runAnalyze(t.Context(), env.client, &visionv1.AnalyzeVideoRequest{VideoId: "raw"})
	if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "the limit is 5 s") {
		t.Errorf("12 s raw stream with no declared duration under a 5 s limit: %v", err)
	}
}

// astronaut is Debian python3-skimage's portrait of Eileen Collins:
// a real, smiling face looking at the camera.
const astronaut = "/usr/lib/python3/dist-packages/skimage/data/astronaut.png"

// TestModels runs the expression, face mesh, person and text models
// through the service: the smiling astronaut is happy with open eyes
// looking at the camera; in a photo whose face is covered the person
// detector still finds the man and the subject point follows him; a
// caption that ffmpeg draws is read back.
func TestModels(t *testing.T) {
	t.Parallel()
	orttest.Init(t)
	for _, m := range []string{"human-emotion", "human-facemesh", "human-iris", "human-nanodet", "ppocr-det", "ppocr-rec", "ppocr-keys"} {
		orttest.Model(t, m)
	}
	if _, err := os.Stat(astronaut); err != nil {
		t.Fatalf("%v (install python3-skimage)", err)
	}
	const font = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
	if _, err := os.Stat(font); err != nil {
		t.Fatalf("%v (install fonts-dejavu-core)", err)
	}
	dir := t.TempDir()
	render := func(name string, args ...string) string {
		out := filepath.Join(dir, name)
		full := append([]string{"-nostdin", "-v", "error"}, args...)
		full = append(full, "-t", "3", "-r", "25", "-c:v", "libx264", "-pix_fmt", "yuv420p", out)
		if b, err := exec.CommandContext(t.Context(), "ffmpeg", full...).CombinedOutput(); err != nil {
			t.Fatalf("ffmpeg %v: %v\n%s", args, err, b)
		}
		return out
	}
	// The astronaut at 640x360: her face in the left half (so a subject
	// point at the frame's centre would be wrong).
	place := "scale=360:360,pad=640:360:40:0"
	files := map[string]string{
		"astronaut": render("astronaut.mp4", "-loop", "1", "-i", astronaut, "-vf", place),
		// scikit-image's cameraman (a man behind a tripod camera, in
		// profile) with his face painted over: no face, still a person.
		"faceless": render("faceless.mp4", "-loop", "1", "-i", "/usr/lib/python3/dist-packages/skimage/data/camera.png",
			"-vf", "drawbox=x=180:y=70:w=100:h=110:color=0xd0a080:t=fill,"+place),
		"caption": render("caption.mp4", "-f", "lavfi", "-i", "color=c=0x202830:s=1280x720",
			"-vf", "drawtext=fontfile="+font+":text='BREAKING NEWS 2026':fontsize=72:fontcolor=white:x=(w-text_w)/2:y=h-160"),
	}
	env := newTestClient(t, files, analysis.Limits{MaxSeconds: 600})
	run := func(t *testing.T, id string) *visionv1.VisionResult {
		t.Helper()
		_, r, err := runAnalyze(t.Context(), env.client, &visionv1.AnalyzeVideoRequest{VideoId: id})
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range r.GetProducers() {
			if p.GetFallback() {
				t.Errorf("producer %v did not run", p)
			}
		}
		return r
	}

	t.Run("astronaut", func(t *testing.T) {
		r := run(t, "astronaut")
		tr := r.GetFaceTracks()
		if len(tr) != 1 {
			t.Fatalf("%d face tracks %v, want 1", len(tr), tr)
		}
		f := tr[0]
		t.Logf("emotion %s %v; eyes open %.2f, contact %.2f (%d mesh samples), confirmed %.2f", f.GetEmotion(), f.GetEmotions(),
			f.GetEyesOpenFraction(), f.GetEyeContactFraction(), f.GetMeshSamples(), f.GetEyesConfirmedFraction())
		if f.GetEmotion() != "happy" || len(f.GetEmotions()) != 7 {
			t.Errorf("emotion %q %v, want happy", f.GetEmotion(), f.GetEmotions())
		}
		if f.GetMeshSamples() < 5 || f.GetEyesOpenFraction() < 0.8 || f.GetEyeContactFraction() < 0.8 {
			t.Errorf("eyes open %.2f, eye contact %.2f over %d samples; want open eyes looking at the camera",
				f.GetEyesOpenFraction(), f.GetEyeContactFraction(), f.GetMeshSamples())
		}
		if len(f.GetSamples()) != int(f.GetDetections()) || f.GetSamples()[0].GetEmotion() != "happy" || f.GetSamples()[0].GetEyesOpenness() < 0.15 {
			t.Errorf("samples %v", f.GetSamples())
		}
		if s := r.GetSeconds(); len(s) == 0 || s[0].GetPeople() < 1 {
			t.Errorf("no person counted: %v", s)
		}
	})

	t.Run("person without a face", func(t *testing.T) {
		r := run(t, "faceless")
		if len(r.GetFaceTracks()) != 0 {
			t.Fatalf("face tracks %v in a video whose only face is painted over", r.GetFaceTracks())
		}
		if s := r.GetSeconds(); len(s) == 0 || s[0].GetPeople() < 1 {
			t.Fatalf("no person: %v", s)
		}
		// His head is at x ≈ (40 + 230·360/512) / 640 ≈ 0.32 of the frame.
		pts := r.GetSubjectPoints()
		if len(pts) == 0 {
			t.Fatal("no subject points")
		}
		for _, p := range pts {
			if p.GetX() < 0.15 || p.GetX() > 0.5 || p.GetY() > 0.5 {
				t.Errorf("subject point %v does not follow the man (head near x 0.32, upper half)", p)
				break
			}
		}
	})

	t.Run("caption", func(t *testing.T) {
		r := run(t, "caption")
		var texts []string
		for _, l := range r.GetText() {
			texts = append(texts, l.GetText())
		}
		t.Logf("text %v", r.GetText())
		if len(texts) != 1 || !strings.EqualFold(strings.Join(strings.Fields(texts[0]), " "), "BREAKING NEWS 2026") {
			t.Fatalf("read %q, want BREAKING NEWS 2026", texts)
		}
		l := r.GetText()[0]
		if l.GetY() < 0.6 || l.GetX() < 0.1 || l.GetX()+l.GetWidth() > 0.9 || l.GetConfidence() < 0.8 {
			t.Errorf("line %v: want it centred in the lower part, confidently read", l)
		}
	})
}
