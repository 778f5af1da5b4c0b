package server_test

import (
	"bytes"
	"context"
	"encoding/xml"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"gocloud.dev/blob"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	analyticsv1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/analytics/v1"
	clipsv1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/clips/v1"
	commonv1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/common/v1"
	jobsv1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/jobs/v1"
	nlpv1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/nlp/v1"
	transcribev1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/transcribe/v1"
	videosv1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/videos/v1"
	visionv1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/vision/v1"
	"github.com/clipmesh/clipmesh/platform/auth"
	"github.com/clipmesh/clipmesh/platform/blobstore"
	"github.com/clipmesh/clipmesh/platform/mediasrc"
	"github.com/clipmesh/clipmesh/platform/mediasrc/mediasrctest"
	"github.com/clipmesh/clipmesh/platform/natsx"
	"github.com/clipmesh/clipmesh/platform/store"
	"github.com/clipmesh/clipmesh/services/clips/internal/clipstore"
	"github.com/clipmesh/clipmesh/services/clips/internal/server"
)

// The end-to-end fixture: a white square moving across a black frame and a
// 1 kHz beep, with a made-up transcript (captions need times, not sound).
const (
	srcW, srcH  = 640, 360
	srcSeconds  = 12.0
	srcFPS      = 25
	beepAt      = 6.3
	squareSide  = 60
	squareFrom  = 40.0 // centre x at t=0
	squareSpeed = 500.0 / srcSeconds
)

func squareX(t float64) float64 { return squareFrom + squareSpeed*t }

var (
	fixtureMu   sync.Mutex
	fixturePath string
)

// fixture writes the end-to-end source once per test binary.
func fixture(t *testing.T) string {
	t.Helper()
	fixtureMu.Lock()
	defer fixtureMu.Unlock()
	if fixturePath != "" {
		return fixturePath
	}
	dir, err := os.MkdirTemp("", "clips-e2e-")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "square_beep.mp4")
	d := strconv.FormatFloat(srcSeconds, 'f', -1, 64)
	cmd := exec.CommandContext(t.Context(), "ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y",
		"-f", "lavfi", "-i", fmt.Sprintf("color=black:s=%dx%d:r=%d:d=%s", srcW, srcH, srcFPS, d),
		"-f", "lavfi", "-i", fmt.Sprintf("color=white:s=%dx%d:r=%d:d=%s", squareSide, squareSide, srcFPS, d),
		"-f", "lavfi", "-i", fmt.Sprintf("aevalsrc='if(gte(t,%g),0.5*sin(2*PI*1000*t),0)':s=48000:d=%s", beepAt, d),
		"-filter_complex", fmt.Sprintf("[0:v][1:v]overlay=x='%g+%g*t-%d':y=%d:eval=frame,format=yuv420p[v]", squareFrom, squareSpeed, squareSide/2, (srcH-squareSide)/2),
		"-map", "[v]", "-map", "2:a", "-c:v", "libx264", "-preset", "ultrafast", "-g", "25", "-c:a", "aac", "-b:a", "96k", path)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("fixture: %v\n%s", err, out)
	}
	fixturePath = path
	return path
}

func TestMain(m *testing.M) {
	if os.Getenv(envRenderer) == "1" {
		if err := rendererMain(); err != nil {
			fmt.Fprintln(os.Stderr, "renderer:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	code := m.Run()
	if fixturePath != "" {
		_ = os.RemoveAll(filepath.Dir(fixturePath))
	}
	os.Exit(code)
}

// words is the made-up transcript: three sentences.
func words() []*transcribev1.Word {
	var out []*transcribev1.Word
	add := func(start float64, text string) {
		for i, f := range strings.Fields(text) {
			s := start + float64(i)*0.4
			out = append(out, &transcribev1.Word{Range: &commonv1.TimeRange{StartSeconds: s, EndSeconds: s + 0.3}, Text: f})
		}
	}
	add(0.5, "Welcome to the square show.")       // 0.5 – 2.4
	add(3.2, "Watch the square glide right now.") // 3.2 – 5.5
	add(6.0, "Hear the beep as it passes.")       // 6.0 – 8.3
	add(9.0, "That was the whole moving square.") // 9.0 – 11.3
	return out
}

func transcript() *transcribev1.Transcript {
	return &transcribev1.Transcript{Language: "en", Segments: []*transcribev1.Segment{{Words: words()}}}
}

// vision is the truth of the fixture as vision would report it.
func vision() *visionv1.VisionResult {
	v := &visionv1.VisionResult{}
	for t := 0.0; t <= srcSeconds; t += 0.2 {
		v.SubjectPoints = append(v.SubjectPoints, &visionv1.SubjectPoint{Seconds: t, X: squareX(t) / srcW, Y: 0.5})
	}
	return v
}

// env is a clips server with its renderer on real NATS (embedded
// JetStream), SQLite and a folder blob store.
type env struct {
	client   clipsv1.ClipsServiceClient
	bucket   *blob.Bucket
	store    *clipstore.Store
	videos   *mediasrctest.Videos
	jobs     *fakeJobs
	nats     *natsx.Conn
	renderer *server.Renderer
	dir      string
	log      *slog.Logger
}

// tenantFrom makes the caller's principal from x-test-tenant (default t1),
// standing in for the mesh's authentication.
func tenantFrom(ctx context.Context) context.Context {
	ten := "t1"
	if md, ok := metadata.FromIncomingContext(ctx); ok && len(md.Get("x-test-tenant")) > 0 {
		ten = md.Get("x-test-tenant")[0]
	}
	return auth.WithPrincipal(ctx, auth.Principal{Tenant: ten, Subject: "test", Role: auth.RoleEditor})
}

type wrappedStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (w wrappedStream) Context() context.Context { return w.ctx }

// envOptions vary newEnv.
type envOptions struct {
	// speed is the renderer's x264 preset (default ultrafast).
	speed string
	// dir holds the database, blobs and NATS store (default a temp dir).
	dir string
	// listen opens a TCP listener on the embedded NATS, for renderer
	// subprocesses.
	listen bool
	// noRenderer leaves rendering to someone else.
	noRenderer bool
}

func newEnv(t *testing.T, opts ...envOptions) *env {
	t.Helper()
	var o envOptions
	if len(opts) > 0 {
		o = opts[0]
	}
	if o.speed == "" {
		o.speed = "ultrafast"
	}
	if o.dir == "" {
		o.dir = t.TempDir()
	}
	ctx := t.Context()
	dir := o.dir
	bucket, err := blobstore.Open(ctx, "", dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = bucket.Close() })
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	nopts := natsx.Options{StoreDir: filepath.Join(dir, "nats"), Name: "clips-test", Logger: log}
	if o.listen {
		nopts.ListenAddr = "127.0.0.1:0"
	}
	nc, err := natsx.Connect(ctx, nopts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = nc.Close(context.Background()) })
	db, err := store.Open(ctx, "", dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	e := &env{bucket: bucket, store: &clipstore.Store{DB: db}, videos: mediasrctest.NewVideos(bucket), jobs: &fakeJobs{}, nats: nc, dir: dir, log: log}
	e.renderer = &server.Renderer{Store: e.store, Blob: bucket, NC: nc.NC, JS: nc.JS, Logger: log, Concurrency: 2,
		TmpDir: dir, Speed: o.speed, AckWait: killTestAckWait}
	if err := e.renderer.Setup(ctx); err != nil {
		t.Fatal(err)
	}
	if !o.noRenderer {
		e.startRenderer(t)
	}
	cc := mediasrctest.Serve(t, e.videos, func(g grpc.ServiceRegistrar, cc *grpc.ClientConn) {
		jobsv1.RegisterJobServiceServer(g, e.jobs)
		s := &server.Server{Media: &mediasrc.Resolver{Videos: videosv1.NewVideoServiceClient(cc), Blob: bucket, TmpDir: dir},
			Jobs: jobsv1.NewJobServiceClient(cc), Blob: bucket, Store: e.store, NC: nc.NC, JS: nc.JS, Logger: log,
			Poll: 200 * time.Millisecond}
		s.Register(g)
	},
		grpc.ChainUnaryInterceptor(func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
			return h(tenantFrom(ctx), req)
		}),
		grpc.ChainStreamInterceptor(func(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, h grpc.StreamHandler) error {
			return h(srv, wrappedStream{ss, tenantFrom(ss.Context())})
		}))
	e.client = clipsv1.NewClipsServiceClient(cc)
	v := e.videos.Add(t, "vid_square", fixture(t))
	v.Filename = "square_beep.mp4"
	v.Probe = &videosv1.Probe{DurationSeconds: srcSeconds}
	e.videos.Put(v)
	return e
}

// startRenderer runs e's in-process renderer until the test ends.
func (e *env) startRenderer(t *testing.T) {
	rctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = e.renderer.Start(rctx) }()
	t.Cleanup(func() { cancel(); <-done })
}

// fakeJobs is a JobService holding one finished analysis of vid_square.
type fakeJobs struct {
	jobsv1.UnimplementedJobServiceServer
	result *jobsv1.AnalysisResult
}

func (f *fakeJobs) ListJobs(_ context.Context, req *jobsv1.ListJobsRequest) (*jobsv1.ListJobsResponse, error) {
	if f.result == nil || req.GetVideoId() != "vid_square" {
		return &jobsv1.ListJobsResponse{}, nil
	}
	return &jobsv1.ListJobsResponse{Jobs: []*jobsv1.Job{
		{Id: "job_running", VideoId: "vid_square", State: jobsv1.JobState_JOB_STATE_RUNNING},
		{Id: "job_done", VideoId: "vid_square", State: jobsv1.JobState_JOB_STATE_SUCCEEDED},
	}}, nil
}

func (f *fakeJobs) GetJob(_ context.Context, req *jobsv1.GetJobRequest) (*jobsv1.GetJobResponse, error) {
	if req.GetJobId() != "job_done" {
		return nil, status.Error(codes.NotFound, "no such job")
	}
	return &jobsv1.GetJobResponse{Job: &jobsv1.Job{Id: "job_done", State: jobsv1.JobState_JOB_STATE_SUCCEEDED, Result: f.result}}, nil
}

func tr(a, b float64) *commonv1.TimeRange {
	return &commonv1.TimeRange{StartSeconds: a, EndSeconds: b}
}

// download reads a clip file through ReadClipFile.
func download(t *testing.T, ctx context.Context, c clipsv1.ClipsServiceClient, id, kind string, off, n int64) ([]byte, *commonv1.Artifact) {
	t.Helper()
	st, err := c.ReadClipFile(ctx, &clipsv1.ReadClipFileRequest{ClipId: id, Kind: kind, Offset: off, Length: n})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	var art *commonv1.Artifact
	for {
		m, err := st.Recv()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("read %s: %v", kind, err)
		}
		if m.GetFile() != nil {
			art = m.GetFile()
		}
		buf.Write(m.GetData())
	}
	return buf.Bytes(), art
}

func saveFile(t *testing.T, ctx context.Context, c clipsv1.ClipsServiceClient, id, kind string) string {
	t.Helper()
	data, _ := download(t, ctx, c, id, kind, 0, 0)
	p := filepath.Join(t.TempDir(), kind)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func probe(t *testing.T, path string) (w, h int, dur, audioDur float64, hasAudio bool) {
	t.Helper()
	out, err := exec.CommandContext(t.Context(), "ffprobe", "-v", "error", "-show_entries", "stream=codec_type,width,height,duration", "-of", "csv=p=0", path).Output()
	if err != nil {
		t.Fatalf("ffprobe: %v", err)
	}
	for l := range strings.SplitSeq(strings.TrimSpace(string(out)), "\n") {
		f := strings.Split(l, ",")
		switch f[0] {
		case "video":
			w, _ = strconv.Atoi(f[1])
			h, _ = strconv.Atoi(f[2])
			dur, _ = strconv.ParseFloat(f[3], 64)
		case "audio":
			hasAudio = true
			audioDur, _ = strconv.ParseFloat(f[len(f)-1], 64)
		}
	}
	return
}

// onset is the first time the audio rises above -30 dBFS.
func onset(t *testing.T, path string) float64 {
	t.Helper()
	out, err := exec.CommandContext(t.Context(), "ffmpeg", "-nostdin", "-hide_banner", "-i", path, "-vn",
		"-af", "silencedetect=n=-30dB:d=0.1", "-f", "null", "-").CombinedOutput()
	if err != nil {
		t.Fatalf("silencedetect: %v\n%s", err, out)
	}
	m := regexp.MustCompile(`silence_end: ([0-9.]+)`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("no beep found:\n%s", out)
	}
	f, _ := strconv.ParseFloat(string(m[1]), 64)
	return f
}

// brightBox is the bounding box of pixels brighter than 128 in the frame at
// t, scaled to w x h.
func brightBox(t *testing.T, video string, at float64, w, h int) (x0, x1, n int) {
	t.Helper()
	out, err := exec.CommandContext(t.Context(), "ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error",
		"-ss", strconv.FormatFloat(at, 'f', 3, 64), "-i", video, "-frames:v", "1",
		"-vf", fmt.Sprintf("scale=%d:%d,format=gray", w, h), "-f", "rawvideo", "pipe:1").Output()
	if err != nil || len(out) != w*h {
		t.Fatalf("frame at %v: %v", at, err)
	}
	x0 = w
	// Only the middle rows: captions sit in the lower third.
	for y := h / 3; y < h/2+h/8; y++ {
		for x := 0; x < w; x++ {
			if out[y*w+x] > 128 {
				x0, x1 = min(x0, x), max(x1, x)
				n++
			}
		}
	}
	return x0, x1, n
}

// srtCue is one parsed SRT cue.
type srtCue struct {
	start, end float64
	text       string
}

func parseSRT(t *testing.T, s string) []srtCue {
	t.Helper()
	ts := func(v string) float64 {
		var h, m, sec, ms int
		if _, err := fmt.Sscanf(v, "%d:%d:%d,%d", &h, &m, &sec, &ms); err != nil {
			t.Fatalf("srt time %q: %v", v, err)
		}
		return float64(h*3600+m*60+sec) + float64(ms)/1000
	}
	var out []srtCue
	for block := range strings.SplitSeq(strings.TrimSpace(s), "\n\n") {
		lines := strings.Split(block, "\n")
		if len(lines) < 3 {
			t.Fatalf("bad SRT block %q", block)
		}
		a, b, _ := strings.Cut(lines[1], " --> ")
		out = append(out, srtCue{ts(a), ts(b), strings.Join(lines[2:], " ")})
	}
	return out
}

func TestRenderEndToEnd(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("renders with ffmpeg; skipped under -short")
	}
	e := newEnv(t)
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	const start, end = 3.0, 9.0
	resp, err := e.client.Render(ctx, &clipsv1.RenderRequest{VideoId: "vid_square", Ranges: []*commonv1.TimeRange{tr(start, end)},
		Options:    &clipsv1.ClipOptions{Preset: "tiktok", CaptionStyle: "word", AspectRatios: []string{"9:16", "1:1"}},
		Transcript: transcript(), Vision: vision(),
		Text: &nlpv1.AnalyzeTextResponse{Keywords: []*nlpv1.Keyword{{Text: "square", Score: 5}},
			Topics: []*nlpv1.TopicScore{{Label: "geometry", Score: 0.7}}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.GetClips()) != 2 {
		t.Fatalf("%d clips, want one per aspect", len(resp.GetClips()))
	}
	for _, c := range resp.GetClips() {
		if c.GetState() != clipsv1.ClipState_CLIP_STATE_SUCCEEDED {
			t.Fatalf("clip %s: %v %s", c.GetId(), c.GetState(), c.GetError())
		}
	}
	vert, square := resp.GetClips()[0], resp.GetClips()[1]
	if vert.GetAspectRatio() != "9:16" || square.GetAspectRatio() != "1:1" {
		t.Fatalf("aspects %s, %s", vert.GetAspectRatio(), square.GetAspectRatio())
	}
	wantWords := "Watch the square glide right now. Hear the beep as it passes."
	if vert.GetTranscript() != wantWords {
		t.Errorf("transcript %q, want %q", vert.GetTranscript(), wantWords)
	}
	if vert.GetTitle() != "Watch the square glide right now" || len(vert.GetHashtags()) == 0 || vert.GetHashtags()[0] != "#Geometry" {
		t.Errorf("title %q hashtags %v", vert.GetTitle(), vert.GetHashtags())
	}

	// Duration within one frame, size per aspect, audio present and in sync.
	frame := 1.0 / 30
	for _, tc := range []struct {
		c    *clipsv1.Clip
		w, h int
	}{{vert, 1080, 1920}, {square, 1080, 1080}} {
		mp4 := saveFile(t, ctx, e.client, tc.c.GetId(), "clip")
		w, h, vd, ad, hasAudio := probe(t, mp4)
		if w != tc.w || h != tc.h {
			t.Errorf("%s: %dx%d, want %dx%d", tc.c.GetAspectRatio(), w, h, tc.w, tc.h)
		}
		if math.Abs(vd-(end-start)) > frame || !hasAudio || math.Abs(ad-(end-start)) > frame {
			t.Errorf("%s: video %v s, audio %v s (present %v), want %v ± %v", tc.c.GetAspectRatio(), vd, ad, hasAudio, end-start, frame)
		}
		if got := onset(t, mp4); math.Abs(got-(beepAt-start)) > frame {
			t.Errorf("%s: beep at %v, want %v ± %v", tc.c.GetAspectRatio(), got, beepAt-start, frame)
		}
	}

	// The crop window follows the square: it stays whole inside the
	// vertical frame while crossing 40% of the source width.
	mp4 := saveFile(t, ctx, e.client, vert.GetId(), "clip")
	for _, at := range []float64{0.5, 2.5, 4.5, 5.8} {
		x0, x1, n := brightBox(t, mp4, at, 108, 192)
		if n == 0 || x0 <= 0 || x1 >= 107 {
			t.Errorf("t=%v: square box x[%d, %d] (%d px) not whole inside the frame", at, x0, x1, n)
		}
	}

	// Captions: the SRT cues carry exactly the transcript's words inside
	// the clip, at their clip-relative times.
	srt, _ := download(t, ctx, e.client, vert.GetId(), "srt", 0, 0)
	cues := parseSRT(t, string(srt))
	var got []string
	for _, c := range cues {
		got = append(got, c.text)
	}
	if strings.Join(got, " ") != wantWords {
		t.Errorf("SRT words %q, want %q", strings.Join(got, " "), wantWords)
	}
	// Each cue runs from its first word's start to its last word's end.
	var inside []*transcribev1.Word
	for _, w := range words() {
		if w.GetRange().GetStartSeconds() >= start && w.GetRange().GetEndSeconds() <= end {
			inside = append(inside, w)
		}
	}
	i := 0
	for _, c := range cues {
		k := len(strings.Fields(c.text))
		if i+k > len(inside) {
			t.Fatalf("cue %q has more words than the clip", c.text)
		}
		ws, we := inside[i].GetRange().GetStartSeconds()-start, inside[i+k-1].GetRange().GetEndSeconds()-start
		if math.Abs(c.start-ws) > 0.001 || math.Abs(c.end-we) > 0.001 {
			t.Errorf("cue %q at %v–%v, want %v–%v", c.text, c.start, c.end, ws, we)
		}
		i += k
	}
	vtt, _ := download(t, ctx, e.client, vert.GetId(), "vtt", 0, 0)
	if !bytes.HasPrefix(vtt, []byte("WEBVTT")) || !bytes.Contains(vtt, []byte("00:00:00.200 --> ")) {
		t.Errorf("VTT:\n%s", vtt)
	}

	// EDL and FCPXML point at the source range.
	edl, _ := download(t, ctx, e.client, vert.GetId(), "edl", 0, 0)
	if !bytes.Contains(edl, []byte("00:00:03:00 00:00:09:00")) {
		t.Errorf("EDL does not cut 00:00:03:00–00:00:09:00:\n%s", edl)
	}
	fcp, _ := download(t, ctx, e.client, vert.GetId(), "fcpxml", 0, 0)
	var doc struct {
		Clips []struct {
			Start    string `xml:"start,attr"`
			Duration string `xml:"duration,attr"`
		} `xml:"library>event>project>sequence>spine>asset-clip"`
	}
	if err := xml.Unmarshal(fcp, &doc); err != nil || len(doc.Clips) != 1 {
		t.Fatalf("FCPXML: %v (%d clips)\n%s", err, len(doc.Clips), fcp)
	}
	if doc.Clips[0].Start != "75/25s" || doc.Clips[0].Duration != "150/25s" {
		t.Errorf("FCPXML clip start %s duration %s, want 75/25s and 150/25s", doc.Clips[0].Start, doc.Clips[0].Duration)
	}

	// A byte range of the MP4 is that range of the stored file.
	whole, art := download(t, ctx, e.client, vert.GetId(), "clip", 0, 0)
	part, _ := download(t, ctx, e.client, vert.GetId(), "clip", 1000, 4096)
	if int64(len(whole)) != art.GetSizeBytes() || !bytes.Equal(part, whole[1000:5096]) {
		t.Errorf("range read: %d of %d bytes, part matches %v", len(whole), art.GetSizeBytes(), bytes.Equal(part, whole[1000:5096]))
	}

	// ListClips shows both; another tenant sees none of them.
	list, err := e.client.ListClips(ctx, &clipsv1.ListClipsRequest{VideoId: "vid_square"})
	if err != nil || len(list.GetClips()) != 2 {
		t.Fatalf("ListClips: %v, %v", list, err)
	}
	other := metadata.AppendToOutgoingContext(ctx, "x-test-tenant", "t2")
	if list, err := e.client.ListClips(other, &clipsv1.ListClipsRequest{VideoId: "vid_square"}); err != nil || len(list.GetClips()) != 0 {
		t.Errorf("other tenant's ListClips: %v, %v", list, err)
	}
	if _, err := e.client.GetClip(other, &clipsv1.GetClipRequest{ClipId: vert.GetId()}); status.Code(err) != codes.NotFound {
		t.Errorf("other tenant's GetClip: %v", err)
	}
	st, err := e.client.ReadClipFile(other, &clipsv1.ReadClipFileRequest{ClipId: vert.GetId(), Kind: "clip"})
	if err == nil {
		_, err = st.Recv()
	}
	if status.Code(err) != codes.NotFound {
		t.Errorf("other tenant's ReadClipFile: %v", err)
	}
}

func TestRenderChoosesMoments(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("renders with ffmpeg; skipped under -short")
	}
	e := newEnv(t)
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	// No ranges, no moments: the latest finished analysis is used.
	e.jobs.result = &jobsv1.AnalysisResult{
		Analytics:  &analyticsv1.FuseResponse{Moments: []*analyticsv1.Moment{{Range: tr(3.5, 6.5), Score: 0.8, Hook: 0.6}, {Range: tr(8.6, 11), Score: 0.5}}},
		Transcript: transcript(),
		Vision:     vision(),
	}
	resp, err := e.client.Render(ctx, &clipsv1.RenderRequest{VideoId: "vid_square",
		Options: &clipsv1.ClipOptions{Count: 2, MinSeconds: 2, MaxSeconds: 6, Preset: "x"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.GetClips()) != 2 {
		t.Fatalf("%d clips, want 2", len(resp.GetClips()))
	}
	// Snapped to the sentences: [3.2, 5.5] and [9.0, 11.3], with the lead
	// silence selection keeps around them.
	for i, want := range [][2]float64{{3.05, 5.65}, {8.85, 11.45}} {
		c := resp.GetClips()[i]
		if math.Abs(c.GetRange().GetStartSeconds()-want[0]) > 1e-6 || math.Abs(c.GetRange().GetEndSeconds()-want[1]) > 1e-6 {
			t.Errorf("clip %d: [%v, %v], want %v", i, c.GetRange().GetStartSeconds(), c.GetRange().GetEndSeconds(), want)
		}
		if c.GetState() != clipsv1.ClipState_CLIP_STATE_SUCCEEDED || c.GetAspectRatio() != "16:9" {
			t.Errorf("clip %d: %v %s %s", i, c.GetState(), c.GetAspectRatio(), c.GetError())
		}
	}
	first := resp.GetClips()[0]
	if first.GetScore() != 0.8 || !hasFactor(first, "hook", 0.6) || !hasFactor(first, "starts_at_sentence", 1) {
		t.Errorf("score %v factors %v", first.GetScore(), first.GetFactors())
	}
	// Without an analysis it is a failed precondition.
	e.jobs.result = nil
	_, err = e.client.Render(ctx, &clipsv1.RenderRequest{VideoId: "vid_square"})
	if status.Code(err) != codes.FailedPrecondition {
		t.Errorf("no analysis: %v", err)
	}
}

func hasFactor(c *clipsv1.Clip, name string, v float64) bool {
	for _, f := range c.GetFactors() {
		if f.GetName() == name && f.GetValue() == v {
			return true
		}
	}
	return false
}

func TestRenderBadInput(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := t.Context()
	ok := &clipsv1.ClipOptions{Preset: "tiktok"}
	for _, tc := range []struct {
		name  string
		req   *clipsv1.RenderRequest
		field string
	}{
		{"no video", &clipsv1.RenderRequest{}, "video_id"},
		{"past the end", &clipsv1.RenderRequest{VideoId: "vid_square", Ranges: []*commonv1.TimeRange{tr(2, 4), tr(10, 13)}, Options: ok}, "ranges[1].end_seconds"},
		{"starts past the end", &clipsv1.RenderRequest{VideoId: "vid_square", Ranges: []*commonv1.TimeRange{tr(12.5, 14)}, Options: ok}, "ranges[0].start_seconds"},
		{"zero length", &clipsv1.RenderRequest{VideoId: "vid_square", Ranges: []*commonv1.TimeRange{tr(3, 3)}, Options: ok}, "ranges[0].end_seconds"},
		{"negative length", &clipsv1.RenderRequest{VideoId: "vid_square", Ranges: []*commonv1.TimeRange{tr(3, 2)}, Options: ok}, "ranges[0].end_seconds"},
		{"negative start", &clipsv1.RenderRequest{VideoId: "vid_square", Ranges: []*commonv1.TimeRange{tr(-1, 2)}, Options: ok}, "ranges[0].start_seconds"},
		{"unknown preset", &clipsv1.RenderRequest{VideoId: "vid_square", Options: &clipsv1.ClipOptions{Preset: "vine"}}, "options.preset"},
		{"unknown caption style", &clipsv1.RenderRequest{VideoId: "vid_square", Options: &clipsv1.ClipOptions{CaptionStyle: "comic-sans"}}, "options.caption_style"},
		{"unknown aspect", &clipsv1.RenderRequest{VideoId: "vid_square", Options: &clipsv1.ClipOptions{AspectRatios: []string{"9:16", "21:9"}}}, "options.aspect_ratios[1]"},
		{"max below min", &clipsv1.RenderRequest{VideoId: "vid_square", Options: &clipsv1.ClipOptions{MinSeconds: 30, MaxSeconds: 20}}, "options.max_seconds"},
		{"longer than the preset", &clipsv1.RenderRequest{VideoId: "vid_square", Options: &clipsv1.ClipOptions{Preset: "x", MaxSeconds: 300}}, "options.max_seconds"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.client.Render(ctx, tc.req)
			st := status.Convert(err)
			if st.Code() != codes.InvalidArgument {
				t.Fatalf("err = %v, want InvalidArgument", err)
			}
			var field string
			for _, d := range st.Details() {
				if br, ok := d.(*errdetails.BadRequest); ok && len(br.GetFieldViolations()) > 0 {
					field = br.GetFieldViolations()[0].GetField()
				}
			}
			if field != tc.field || !strings.Contains(st.Message(), tc.field) {
				t.Fatalf("field %q (message %q), want %q", field, st.Message(), tc.field)
			}
		})
	}
	if _, err := e.client.Render(ctx, &clipsv1.RenderRequest{VideoId: "vid_other", Ranges: []*commonv1.TimeRange{tr(0, 1)}}); status.Code(err) != codes.NotFound {
		t.Errorf("unknown video: %v", err)
	}
	// Nothing was stored by the refused requests.
	if list, err := e.client.ListClips(ctx, &clipsv1.ListClipsRequest{VideoId: "vid_square"}); err != nil || len(list.GetClips()) != 0 {
		t.Errorf("refused requests stored clips: %v %v", list, err)
	}
}

func TestCancel(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("renders with ffmpeg; skipped under -short")
	}
	e := newEnv(t)
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	resp, err := e.client.Render(ctx, &clipsv1.RenderRequest{VideoId: "vid_square", Async: true,
		Ranges: []*commonv1.TimeRange{tr(0, 12)}, Options: &clipsv1.ClipOptions{Preset: "youtube_shorts"}})
	if err != nil {
		t.Fatal(err)
	}
	id := resp.GetClips()[0].GetId()
	if resp.GetClips()[0].GetState() != clipsv1.ClipState_CLIP_STATE_QUEUED {
		t.Fatalf("async render answered %v, want queued", resp.GetClips()[0].GetState())
	}
	// Wait until it renders, then cancel.
	deadline := time.Now().Add(time.Minute)
	for {
		c, err := e.client.GetClip(ctx, &clipsv1.GetClipRequest{ClipId: id})
		if err != nil {
			t.Fatal(err)
		}
		if c.GetClip().GetState() == clipsv1.ClipState_CLIP_STATE_RENDERING {
			break
		}
		if clipstore.Final(c.GetClip().GetState()) || time.Now().After(deadline) {
			t.Fatalf("clip %v before it could be cancelled", c.GetClip().GetState())
		}
		time.Sleep(20 * time.Millisecond)
	}
	c, err := e.client.CancelClip(ctx, &clipsv1.CancelClipRequest{ClipId: id})
	if err != nil || c.GetClip().GetState() != clipsv1.ClipState_CLIP_STATE_CANCELLED {
		t.Fatalf("cancel: %v %v", c, err)
	}
	// The renderer stops and the clip stays cancelled, with no files.
	time.Sleep(2 * time.Second)
	got, err := e.client.GetClip(ctx, &clipsv1.GetClipRequest{ClipId: id})
	if err != nil || got.GetClip().GetState() != clipsv1.ClipState_CLIP_STATE_CANCELLED || len(got.GetClip().GetFiles()) != 0 {
		t.Fatalf("after cancel: %v %v", got, err)
	}
	st, err := e.client.ReadClipFile(ctx, &clipsv1.ReadClipFileRequest{ClipId: id, Kind: "clip"})
	if err == nil {
		_, err = st.Recv()
	}
	if status.Code(err) != codes.FailedPrecondition {
		t.Errorf("file of a cancelled clip: %v", err)
	}
}

func TestFFmpegErrorSurfaces(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{speed: "warp9"}) // not an x264 preset: ffmpeg refuses it
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	_, err := e.client.Render(ctx, &clipsv1.RenderRequest{VideoId: "vid_square", Ranges: []*commonv1.TimeRange{tr(1, 2)}})
	st := status.Convert(err)
	if st.Code() != codes.Internal || !strings.Contains(st.Message(), "ffmpeg: ") || strings.Contains(st.Message(), "exit status") {
		t.Fatalf("err = %v, want ffmpeg's own error line", err)
	}
	t.Logf("Render said: %s", st.Message())
	list, _ := e.client.ListClips(ctx, &clipsv1.ListClipsRequest{VideoId: "vid_square"})
	if len(list.GetClips()) != 1 || list.GetClips()[0].GetState() != clipsv1.ClipState_CLIP_STATE_FAILED || list.GetClips()[0].GetError() == "" {
		t.Fatalf("stored clip: %v", list)
	}
}
