package server_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"

	analyticsv1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/analytics/v1"
	audiov1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/audio/v1"
	commonv1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/common/v1"
	jobsv1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/jobs/v1"
	videosv1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/videos/v1"
	visionv1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/vision/v1"
	"github.com/clipmesh/clipmesh/platform/auth"
	"github.com/clipmesh/clipmesh/platform/store/storetest"
	"github.com/clipmesh/clipmesh/services/analytics/internal/engagement"
	"github.com/clipmesh/clipmesh/services/analytics/internal/moments"
	"github.com/clipmesh/clipmesh/services/analytics/internal/resultstore"
	"github.com/clipmesh/clipmesh/services/analytics/internal/server"
)

// fakeVideos holds videos per tenant.
type fakeVideos struct {
	videosv1.UnimplementedVideoServiceServer
	videos map[[2]string]*videosv1.Video
}

func (f *fakeVideos) GetVideo(ctx context.Context, req *videosv1.GetVideoRequest) (*videosv1.GetVideoResponse, error) {
	p, _ := auth.FromContext(ctx)
	if v, ok := f.videos[[2]string{p.Tenant, req.GetVideoId()}]; ok {
		return &videosv1.GetVideoResponse{Video: v}, nil
	}
	return nil, status.Errorf(codes.NotFound, "video %s not found", req.GetVideoId())
}

// fakeJobs holds the latest job of some videos.
type fakeJobs struct {
	jobsv1.UnimplementedJobServiceServer
	mu   sync.Mutex
	jobs map[string]*jobsv1.Job
}

func (f *fakeJobs) ListJobs(_ context.Context, req *jobsv1.ListJobsRequest) (*jobsv1.ListJobsResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if j, ok := f.jobs[req.GetVideoId()]; ok {
		return &jobsv1.ListJobsResponse{Jobs: []*jobsv1.Job{j}}, nil
	}
	return &jobsv1.ListJobsResponse{}, nil
}

// principalFromMetadata stands in for platform/auth's interceptor: the
// tenant and role come from x-tenant and x-role.
func principalFromMetadata(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	if t := md.Get("x-tenant"); len(t) > 0 {
		role := auth.RoleEditor
		if r := md.Get("x-role"); len(r) > 0 {
			role, _ = auth.ParseRole(r[0])
		}
		ctx = auth.WithPrincipal(ctx, auth.Principal{Tenant: t[0], Subject: "test", Role: role})
	}
	return h(ctx, req)
}

// forwardPrincipal passes the principal to the fakes, as the mesh token does.
func forwardPrincipal(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, inv grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	if p, ok := auth.FromContext(ctx); ok {
		ctx = metadata.AppendToOutgoingContext(ctx, "x-tenant", p.Tenant, "x-role", string(p.Role))
	}
	return inv(ctx, method, req, reply, cc, opts...)
}

type testEnv struct {
	client analyticsv1.AnalyticsServiceClient
	jobs   *fakeJobs
	reader *sdkmetric.ManualReader
}

func newTestClient(t *testing.T) *testEnv {
	t.Helper()
	db := storetest.SQLite(t)
	st := resultstore.New(db)
	probe := &videosv1.Probe{DurationSeconds: 30, BitRate: 400000, Video: &videosv1.VideoStream{Codec: "h264", Width: 320, Height: 240, Fps: 25}}
	videos := &fakeVideos{videos: map[[2]string]*videosv1.Video{
		{"acme", "vid_1"}:       {Id: "vid_1", Probe: probe},
		{"acme", "vid_running"}: {Id: "vid_running", Probe: probe},
		{"acme", "vid_new"}:     {Id: "vid_new", Probe: probe},
		{"acme", "vid_failed"}:  {Id: "vid_failed", Probe: probe},
	}}
	jobs := &fakeJobs{jobs: map[string]*jobsv1.Job{
		"vid_running": {Id: "job_r", VideoId: "vid_running", State: jobsv1.JobState_JOB_STATE_RUNNING,
			Progress: &commonv1.Progress{Stage: "vision", Fraction: 0.4, Message: "vision: 40%"}},
		"vid_failed": {Id: "job_f", VideoId: "vid_failed", State: jobsv1.JobState_JOB_STATE_SUCCEEDED,
			Stages: []*jobsv1.StageStatus{{Name: "analytics", State: jobsv1.StageState_STAGE_STATE_FAILED, Reason: "fusion exploded"}}},
	}}
	lis := bufconn.Listen(1 << 20)
	g := grpc.NewServer(grpc.UnaryInterceptor(principalFromMetadata))
	videosv1.RegisterVideoServiceServer(g, videos)
	jobsv1.RegisterJobServiceServer(g, jobs)
	cc, err := grpc.NewClient("passthrough:///bufnet",
		grpc.WithContextDialer(func(context.Context, string) (net.Conn, error) { return lis.Dial() }),
		grpc.WithTransportCredentials(insecure.NewCredentials()), grpc.WithUnaryInterceptor(forwardPrincipal))
	if err != nil {
		t.Fatal(err)
	}
	reader := sdkmetric.NewManualReader()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	m, err := server.NewMetrics(t.Context(), sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader)), st, logger)
	if err != nil {
		t.Fatal(err)
	}
	srv := &server.Server{
		Videos: videosv1.NewVideoServiceClient(cc), Jobs: jobsv1.NewJobServiceClient(cc), Store: st,
		Weights: engagement.DefaultWeights(), Moments: moments.Options{MinLength: 5, MaxLength: 15},
		Metrics: m, Version: "test", Logger: logger,
	}
	srv.Register(g)
	go func() { _ = g.Serve(lis) }()
	t.Cleanup(func() {
		_ = cc.Close()
		g.Stop()
	})
	return &testEnv{client: analyticsv1.NewAnalyticsServiceClient(cc), jobs: jobs, reader: reader}
}

func as(ctx context.Context, tenant, role string) context.Context {
	return metadata.AppendToOutgoingContext(ctx, "x-tenant", tenant, "x-role", role)
}

// modalities is a 30 s video whose [10, 20) is loud, moving and talking.
func modalities() (*visionv1.VisionResult, *audiov1.AudioResult) {
	v := &visionv1.VisionResult{Producer: &commonv1.Producer{Engine: "clipmesh-vision", Version: "v9"},
		Scenes: []*visionv1.Scene{{Range: tr(0, 10)}, {Index: 1, Range: tr(10, 20)}, {Index: 2, Range: tr(20, 30)}}}
	a := &audiov1.AudioResult{HasAudio: true, DurationSeconds: 30, Producer: &commonv1.Producer{Engine: "clipmesh-audio", Version: "a9"},
		Summary: &audiov1.AudioSummary{SnrDb: 30, DynamicRangeLu: 9, IntegratedLufs: -20, VocalActivityRatio: 1.0 / 3}}
	for i := range 30 {
		vs := &visionv1.SecondStats{Second: int32(i), Brightness: 0.3, Sharpness: 100, Contrast: 0.2}
		as := &audiov1.AudioSecond{TimeSeconds: float64(i), RmsDbfs: -120}
		if i >= 10 && i < 20 {
			vs.MotionEnergy = 0.02 + 0.005*float64(i%3)
			as.RmsDbfs, as.SpeechProbability, as.OnsetStrength, as.PitchHz = -15-float64(i%2), 0.9, 2, 150+float64(10*(i%3))
		}
		v.Seconds = append(v.Seconds, vs)
		a.Series = append(a.Series, as)
	}
	return v, a
}

func tr(a, b float64) *commonv1.TimeRange { return &commonv1.TimeRange{StartSeconds: a, EndSeconds: b} }

func TestFuseAndGetDetailed(t *testing.T) {
	t.Parallel()
	env := newTestClient(t)
	ctx := as(t.Context(), "acme", "editor")
	v, a := modalities()
	res, err := env.client.Fuse(ctx, &analyticsv1.FuseRequest{VideoId: "vid_1", Vision: v, Audio: a, JobId: "job_1"})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.GetEngagement()) != 30 || len(res.GetTimeline()) != 30 {
		t.Fatalf("engagement %d seconds, timeline %d", len(res.GetEngagement()), len(res.GetTimeline()))
	}
	for _, s := range res.GetTimeline() {
		sum := 0.0
		for f, c := range s.GetContributions() {
			if !slices.Contains(res.GetFactors(), f) {
				t.Fatalf("second %d: contribution of unlisted factor %s", s.GetSecond(), f)
			}
			sum += c
		}
		if d := sum - s.GetScore(); d > 1e-9 || d < -1e-9 || s.GetScore() != res.GetEngagement()[s.GetSecond()] {
			t.Fatalf("second %d: score %v, contributions sum %v", s.GetSecond(), s.GetScore(), sum)
		}
	}
	for _, f := range []string{"motion", "loudness", "speech_presence", "cut_rhythm"} {
		if !slices.Contains(res.GetFactors(), f) {
			t.Errorf("factors %v lack %s", res.GetFactors(), f)
		}
	}
	if !slices.Contains(res.GetMissingFactors(), "speech_rate") || !slices.Contains(res.GetMissingFactors(), "hooks") {
		t.Errorf("missing factors = %v", res.GetMissingFactors())
	}
	best := res.GetMoments()[0]
	mid := (best.GetRange().GetStartSeconds() + best.GetRange().GetEndSeconds()) / 2
	if mid < 10 || mid > 20 || best.GetScore() < res.GetMoments()[len(res.GetMoments())-1].GetScore() {
		t.Errorf("best moment %v not in the active middle", best)
	}
	if len(best.GetReasons()) == 0 {
		t.Errorf("best moment has no reasons")
	}
	if len(res.GetMoods()) != 3 || res.GetMoods()[1].GetMood() == "calm" || res.GetMoods()[0].GetMood() != "calm" {
		t.Errorf("moods = %v", res.GetMoods())
	}
	if !strings.HasPrefix(res.GetProducer().GetModel(), server.FusionVersion+" weights:") {
		t.Errorf("producer = %v", res.GetProducer())
	}

	d, err := env.client.GetDetailed(ctx, &analyticsv1.GetDetailedRequest{VideoId: "vid_1"})
	if err != nil {
		t.Fatal(err)
	}
	if d.GetVideo().GetFps() != 25 || d.GetVideo().GetDurationSeconds() != 30 || d.GetJobId() != "job_1" || d.GetCreateTime() == nil {
		t.Errorf("detailed video %v, job %q", d.GetVideo(), d.GetJobId())
	}
	if d.GetEngagement().GetAvg() <= 0 || len(d.GetEngagement().GetPeaks()) == 0 || d.GetAudio().GetQualityScore() <= 0 {
		t.Errorf("detailed engagement %v audio %v", d.GetEngagement(), d.GetAudio())
	}
	if d.GetEmotions().GetDominant() != "calm" || d.GetEmotions().GetSource() != "mood" {
		t.Errorf("emotions = %v", d.GetEmotions())
	}
	var producers []string
	for _, m := range d.GetModalities() {
		producers = append(producers, m.GetProducer().GetVersion())
	}
	if !slices.Contains(producers, "v9") || !slices.Contains(producers, "a9") {
		t.Errorf("detailed modalities do not carry the producers' versions: %v", d.GetModalities())
	}

	// Another tenant: the video is not found.
	if _, err := env.client.GetDetailed(as(t.Context(), "other", "admin"), &analyticsv1.GetDetailedRequest{VideoId: "vid_1"}); status.Code(err) != codes.NotFound {
		t.Errorf("other tenant: %v, want NotFound", err)
	}

	st, err := env.client.GetTenantStats(ctx, &analyticsv1.GetTenantStatsRequest{})
	if err != nil || st.GetVideos() != 1 || st.GetMinutes() != 0.5 || st.GetFusions() != 1 || st.GetAvgEngagement() != d.GetEngagement().GetAvg() ||
		len(st.GetTopEmotions()) != 1 || st.GetTopEmotions()[0].GetLabel() != "calm" {
		t.Errorf("stats = %v, %v", st, err)
	}

	var rm metricdata.ResourceMetrics
	if err := env.reader.Collect(t.Context(), &rm); err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			switch data := m.Data.(type) {
			case metricdata.Sum[int64]:
				got[m.Name] = float64(data.DataPoints[0].Value)
			case metricdata.Sum[float64]:
				got[m.Name] = data.DataPoints[0].Value
			case metricdata.Gauge[int64]:
				got[m.Name] = float64(data.DataPoints[0].Value)
			case metricdata.Gauge[float64]:
				got[m.Name] = data.DataPoints[0].Value
			}
		}
	}
	if got["clipmesh.analytics.fusions"] != 1 || got["clipmesh.analytics.video.seconds"] != 30 ||
		got["clipmesh.analytics.tenant.videos"] != 1 || got["clipmesh.analytics.tenant.minutes"] != 0.5 {
		t.Errorf("metrics = %v", got)
	}
}

func TestFuseMissingModalities(t *testing.T) {
	t.Parallel()
	env := newTestClient(t)
	ctx := as(t.Context(), "acme", "editor")
	_, a := modalities()
	res, err := env.client.Fuse(ctx, &analyticsv1.FuseRequest{VideoId: "vid_1", Audio: a})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"speech_presence", "loudness", "loudness_change", "excitement", "audio_events"}
	if !slices.Equal(res.GetFactors(), want) {
		t.Errorf("factors = %v, want %v", res.GetFactors(), want)
	}
	if len(res.GetTimeline()) != 30 || len(res.GetFactors())+len(res.GetMissingFactors()) != len(engagement.AllFactors) {
		t.Errorf("timeline %d, factors %v + missing %v", len(res.GetTimeline()), res.GetFactors(), res.GetMissingFactors())
	}
	for _, m := range res.GetInputs() {
		if m.GetModality() == "vision" && (m.GetState() != commonv1.ModalityState_MODALITY_STATE_SKIPPED || m.GetReason() == "") {
			t.Errorf("vision input = %v", m)
		}
	}
	d, err := env.client.GetDetailed(ctx, &analyticsv1.GetDetailedRequest{VideoId: "vid_1"})
	if err != nil {
		t.Fatal(err)
	}
	if d.GetQuality() != nil || !slices.Contains(d.GetMissing(), "quality") || !slices.Contains(d.GetMissing(), "content.scene_rate") {
		t.Errorf("missing = %v, quality %v", d.GetMissing(), d.GetQuality())
	}
}

func TestErrors(t *testing.T) {
	t.Parallel()
	env := newTestClient(t)
	ctx := as(t.Context(), "acme", "editor")
	v, a := modalities()
	tests := []struct {
		name string
		call func() error
		code codes.Code
		msg  string
	}{
		{"fuse unknown video", func() error {
			_, err := env.client.Fuse(ctx, &analyticsv1.FuseRequest{VideoId: "vid_nope", Audio: a})
			return err
		}, codes.NotFound, "vid_nope"},
		{"fuse nothing", func() error {
			_, err := env.client.Fuse(ctx, &analyticsv1.FuseRequest{VideoId: "vid_1"})
			return err
		}, codes.FailedPrecondition, "nothing to fuse"},
		{"fuse bad id", func() error {
			_, err := env.client.Fuse(ctx, &analyticsv1.FuseRequest{VideoId: "job_1", Vision: v})
			return err
		}, codes.InvalidArgument, "video_id"},
		{"fuse mismatched video", func() error {
			_, err := env.client.Fuse(ctx, &analyticsv1.FuseRequest{VideoId: "vid_1", Video: &videosv1.Video{Id: "vid_2"}, Vision: v})
			return err
		}, codes.InvalidArgument, "vid_2"},
		{"fuse as viewer", func() error {
			_, err := env.client.Fuse(as(t.Context(), "acme", "viewer"), &analyticsv1.FuseRequest{VideoId: "vid_1", Vision: v})
			return err
		}, codes.PermissionDenied, "viewer"},
		{"fuse anonymous", func() error {
			_, err := env.client.Fuse(t.Context(), &analyticsv1.FuseRequest{VideoId: "vid_1", Vision: v})
			return err
		}, codes.Unauthenticated, ""},
		{"detailed unknown video", func() error {
			_, err := env.client.GetDetailed(ctx, &analyticsv1.GetDetailedRequest{VideoId: "vid_nope"})
			return err
		}, codes.NotFound, "vid_nope"},
		{"detailed while running", func() error {
			_, err := env.client.GetDetailed(ctx, &analyticsv1.GetDetailedRequest{VideoId: "vid_running"})
			return err
		}, codes.FailedPrecondition, "job job_r is JOB_STATE_RUNNING (vision: 40%, 40%)"},
		{"detailed never analysed", func() error {
			_, err := env.client.GetDetailed(ctx, &analyticsv1.GetDetailedRequest{VideoId: "vid_new"})
			return err
		}, codes.FailedPrecondition, "has not been analysed"},
		{"detailed after a failed fusion", func() error {
			_, err := env.client.GetDetailed(ctx, &analyticsv1.GetDetailedRequest{VideoId: "vid_failed"})
			return err
		}, codes.FailedPrecondition, "analytics stage failed: fusion exploded"},
		{"stats top_n", func() error {
			_, err := env.client.GetTenantStats(ctx, &analyticsv1.GetTenantStatsRequest{TopN: 1000})
			return err
		}, codes.InvalidArgument, "top_n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			if status.Code(err) != tt.code || !strings.Contains(status.Convert(err).Message(), tt.msg) {
				t.Errorf("err = %v, want %s containing %q", err, tt.code, tt.msg)
			}
		})
	}
	_, err := env.client.GetDetailed(ctx, &analyticsv1.GetDetailedRequest{VideoId: "vid_running"})
	var info *errdetails.ErrorInfo
	for _, d := range status.Convert(err).Details() {
		if e, ok := d.(*errdetails.ErrorInfo); ok {
			info = e
		}
	}
	if info == nil || info.GetReason() != "ANALYSIS_NOT_FINISHED" || info.GetMetadata()["job_state"] != "JOB_STATE_RUNNING" || info.GetMetadata()["stage"] != "vision" {
		t.Errorf("error details = %v", info)
	}
}
