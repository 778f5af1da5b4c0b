package pipeline_test

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"gocloud.dev/blob/memblob"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"

	analyticsv1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/analytics/v1"
	clipsv1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/clips/v1"
	commonv1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/common/v1"
	jobsv1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/jobs/v1"
	nlpv1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/nlp/v1"
	transcribev1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/transcribe/v1"
	visionv1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/vision/v1"
	"github.com/clipmesh/clipmesh/platform/auth"
	"github.com/clipmesh/clipmesh/platform/store"
	"github.com/clipmesh/clipmesh/platform/store/storetest"
	"github.com/clipmesh/clipmesh/services/jobs/internal/catalog"
	"github.com/clipmesh/clipmesh/services/jobs/internal/media"
	"github.com/clipmesh/clipmesh/services/jobs/internal/pipeline"
)

const (
	meshToken = "test-mesh-token"
	tenant    = "acme"
	videoID   = "vid_0123456789abcdef0123456789abcdef"
)

// newPipeline returns a pipeline over a catalog holding one video (with
// video and audio) of tenant, whose stages call a bufconn server with the
// mesh's auth on which register puts the fake services.
func newPipeline(t *testing.T, register func(s *grpc.Server)) *pipeline.Pipeline {
	t.Helper()
	db := storetest.SQLite(t)
	insertVideo(t, db)
	lib := &catalog.Library{DB: db.DB, Blob: memblob.OpenBucket(nil), TempDir: t.TempDir()}

	authn := auth.NewAuthenticator(auth.NewKeys(db.DB), false, meshToken)
	gs := grpc.NewServer(grpc.ChainUnaryInterceptor(authn.UnaryInterceptor), grpc.ChainStreamInterceptor(authn.StreamInterceptor))
	register(gs)
	lis := bufconn.Listen(1 << 20)
	go func() { _ = gs.Serve(lis) }()
	t.Cleanup(gs.Stop)
	cc, err := grpc.NewClient("passthrough:///bufnet", append([]grpc.DialOption{
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
	}, auth.ClientInterceptors(meshToken)...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cc.Close() })
	p, err := pipeline.New(lib, func(string) (grpc.ClientConnInterface, error) { return cc, nil })
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func insertVideo(t *testing.T, db *store.DB) {
	t.Helper()
	probe, err := json.Marshal(media.Info{DurationSeconds: 12, FormatName: "mov,mp4,m4a,3gp,3g2,mj2", Engine: "ffprobe",
		Video: &media.VideoStream{Codec: "h264", Width: 320, Height: 240, FPS: 25},
		Audio: &media.AudioStream{Codec: "aac", Channels: 1, SampleRate: 48000}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = db.ExecContext(t.Context(), `INSERT INTO videos (tenant, id, filename, content_type, size_bytes, sha256, blob_key, probe_json, created_at)
		VALUES ($1, $2, 'v.mp4', 'video/mp4', 1, 'x', 'videos/x', $3, 1)`, tenant, videoID, string(probe))
	if err != nil {
		t.Fatal(err)
	}
}

// principalOf checks that a call carries the job's tenant, as every stage
// call must.
func principalOf(ctx context.Context) error {
	p, ok := auth.FromContext(ctx)
	if !ok || p.Tenant != tenant {
		return status.Errorf(codes.PermissionDenied, "called as %+v, want tenant %s", p, tenant)
	}
	return nil
}

type fakeVision struct {
	visionv1.UnimplementedVisionServiceServer
	block chan struct{} // when set, closed when called, then waits for the caller to go
}

func (f *fakeVision) AnalyzeVideo(req *visionv1.AnalyzeVideoRequest, st grpc.ServerStreamingServer[visionv1.AnalyzeVideoResponse]) error {
	if err := principalOf(st.Context()); err != nil {
		return err
	}
	if f.block != nil {
		close(f.block)
		<-st.Context().Done()
		return st.Context().Err()
	}
	for _, frac := range []float64{0.25, 0.5} {
		if err := st.Send(&visionv1.AnalyzeVideoResponse{Event: &visionv1.AnalyzeVideoResponse_Progress{Progress: &commonv1.Progress{Fraction: frac}}}); err != nil {
			return err
		}
	}
	return st.Send(&visionv1.AnalyzeVideoResponse{Event: &visionv1.AnalyzeVideoResponse_Result{Result: &visionv1.VisionResult{
		Producer: &commonv1.Producer{Engine: "fake-vision", Version: "1"}}}})
}

type fakeTranscribe struct {
	transcribev1.UnimplementedTranscribeServiceServer
}

func (fakeTranscribe) Transcribe(req *transcribev1.TranscribeRequest, st grpc.ServerStreamingServer[transcribev1.TranscribeResponse]) error {
	if err := principalOf(st.Context()); err != nil {
		return err
	}
	return st.Send(&transcribev1.TranscribeResponse{Event: &transcribev1.TranscribeResponse_Transcript{Transcript: &transcribev1.Transcript{
		Producer: &commonv1.Producer{Engine: "fake-asr"}, Language: "en",
		Segments: []*transcribev1.Segment{
			{Range: &commonv1.TimeRange{StartSeconds: 0.5, EndSeconds: 2}, Text: "hello"},
			{Range: &commonv1.TimeRange{StartSeconds: 3, EndSeconds: 4}, Text: "world"},
		},
	}}})
}

type fakeNLP struct {
	nlpv1.UnimplementedNlpServiceServer
	mu  sync.Mutex
	got *nlpv1.AnalyzeTextRequest
}

func (f *fakeNLP) AnalyzeText(ctx context.Context, req *nlpv1.AnalyzeTextRequest) (*nlpv1.AnalyzeTextResponse, error) {
	if err := principalOf(ctx); err != nil {
		return nil, err
	}
	f.mu.Lock()
	f.got = req
	f.mu.Unlock()
	return &nlpv1.AnalyzeTextResponse{Producer: &commonv1.Producer{Engine: "fake-nlp"}, Language: req.GetLanguage()}, nil
}

type brokenAnalytics struct {
	analyticsv1.UnimplementedAnalyticsServiceServer
}

func (brokenAnalytics) Fuse(context.Context, *analyticsv1.FuseRequest) (*analyticsv1.FuseResponse, error) {
	return nil, status.Error(codes.Internal, "fusion exploded")
}

type downClips struct {
	clipsv1.UnimplementedClipsServiceServer
}

func (downClips) Render(context.Context, *clipsv1.RenderRequest) (*clipsv1.RenderResponse, error) {
	return nil, status.Error(codes.Unavailable, "renderer starting")
}

// recorder keeps a copy of every job reported.
type recorder struct {
	mu   sync.Mutex
	jobs []*jobsv1.Job
}

func (r *recorder) report(j *jobsv1.Job) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.jobs = append(r.jobs, proto.Clone(j).(*jobsv1.Job))
}

func newJob() *jobsv1.Job {
	return &jobsv1.Job{Id: "job_1", VideoId: videoID, State: jobsv1.JobState_JOB_STATE_RUNNING,
		Options: &jobsv1.AnalyzeOptions{Language: "auto", IncludeTranscripts: true, Clips: &clipsv1.ClipOptions{}}}
}

func TestRunEveryOutcome(t *testing.T) {
	t.Parallel()
	nlp := &fakeNLP{}
	p := newPipeline(t, func(s *grpc.Server) {
		visionv1.RegisterVisionServiceServer(s, &fakeVision{})
		transcribev1.RegisterTranscribeServiceServer(s, fakeTranscribe{})
		nlpv1.RegisterNlpServiceServer(s, nlp)
		analyticsv1.RegisterAnalyticsServiceServer(s, brokenAnalytics{})
		clipsv1.RegisterClipsServiceServer(s, downClips{})
		// audio is not registered: Unimplemented, as today's stub.
	})
	rec := &recorder{}
	job := newJob()
	ctx := auth.WithPrincipal(t.Context(), auth.Principal{Tenant: tenant, Subject: "job:job_1", Role: auth.RoleEditor})
	if err := p.Run(ctx, tenant, job, rec.report); err != nil {
		t.Fatalf("Run: %v (one failed stage must not fail the job)", err)
	}

	type row struct {
		Name   string
		State  jobsv1.StageState
		Reason string
	}
	var got []row
	for _, s := range job.GetStages() {
		got = append(got, row{s.GetName(), s.GetState(), s.GetReason()})
	}
	want := []row{
		{"probe", jobsv1.StageState_STAGE_STATE_DONE, ""},
		{"extract_audio", jobsv1.StageState_STAGE_STATE_SKIPPED, "audio extraction not configured"},
		{"vision", jobsv1.StageState_STAGE_STATE_DONE, ""},
		{"audio", jobsv1.StageState_STAGE_STATE_SKIPPED, "audio service not available: unknown service clipmesh.audio.v1.AudioService"},
		{"transcribe", jobsv1.StageState_STAGE_STATE_DONE, ""},
		{"nlp", jobsv1.StageState_STAGE_STATE_DONE, ""},
		{"analytics", jobsv1.StageState_STAGE_STATE_FAILED, "fusion exploded"},
		// Analytics failed: no moments, so clips is not called (it would
		// fall back to an earlier job's analysis).
		{"clips", jobsv1.StageState_STAGE_STATE_SKIPPED, "no moments from analytics"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("stages (-want +got):\n%s", diff)
	}

	type mod struct {
		Name   string
		State  commonv1.ModalityState
		Engine string
	}
	var mods []mod
	for _, m := range job.GetResult().GetModalities() {
		mods = append(mods, mod{m.GetModality(), m.GetState(), m.GetProducer().GetEngine()})
	}
	sort.Slice(mods, func(i, j int) bool { return mods[i].Name < mods[j].Name })
	wantMods := []mod{
		{"analytics", commonv1.ModalityState_MODALITY_STATE_FAILED, ""},
		{"audio", commonv1.ModalityState_MODALITY_STATE_UNAVAILABLE, ""},
		{"clips", commonv1.ModalityState_MODALITY_STATE_SKIPPED, ""},
		{"nlp", commonv1.ModalityState_MODALITY_STATE_OK, "fake-nlp"},
		{"transcribe", commonv1.ModalityState_MODALITY_STATE_OK, "fake-asr"},
		{"vision", commonv1.ModalityState_MODALITY_STATE_OK, "fake-vision"},
	}
	if diff := cmp.Diff(wantMods, mods); diff != "" {
		t.Errorf("modalities (-want +got):\n%s", diff)
	}

	// Results are kept; nlp got the transcript.
	if job.GetResult().GetVision().GetProducer().GetEngine() != "fake-vision" || len(job.GetResult().GetTranscript().GetSegments()) != 2 ||
		job.GetResult().GetText().GetLanguage() != "en" || job.GetResult().GetVideo().GetId() != videoID {
		t.Errorf("result = %v; want the vision, transcript, text and video results", job.GetResult())
	}
	wantNLP := &nlpv1.AnalyzeTextRequest{Language: "en", Segments: []*nlpv1.TextSegment{
		{Range: &commonv1.TimeRange{StartSeconds: 0.5, EndSeconds: 2}, Text: "hello"},
		{Range: &commonv1.TimeRange{StartSeconds: 3, EndSeconds: 4}, Text: "world"},
	}}
	nlp.mu.Lock()
	if diff := cmp.Diff(wantNLP, nlp.got, protocmp.Transform()); diff != "" {
		t.Errorf("nlp request (-want +got):\n%s", diff)
	}
	nlp.mu.Unlock()

	// Progress never goes back and ends whole; vision's own progress shows.
	rec.mu.Lock()
	defer rec.mu.Unlock()
	sawVisionHalf := false
	for i, j := range rec.jobs {
		if i > 0 && j.GetProgress().GetFraction() < rec.jobs[i-1].GetProgress().GetFraction() {
			t.Errorf("report %d: progress went back from %v to %v", i, rec.jobs[i-1].GetProgress().GetFraction(), j.GetProgress().GetFraction())
		}
		for _, s := range j.GetStages() {
			if s.GetName() == "vision" && s.GetState() == jobsv1.StageState_STAGE_STATE_RUNNING && s.GetFraction() == 0.5 {
				sawVisionHalf = true
			}
		}
	}
	if !sawVisionHalf {
		t.Error("no report showed vision running at 0.5")
	}
	if n := len(rec.jobs); n == 0 || rec.jobs[n-1].GetProgress().GetFraction() != 1 {
		t.Errorf("last report's progress = %v, want 1", rec.jobs[len(rec.jobs)-1].GetProgress())
	}
}

func TestRunUnknownVideoFails(t *testing.T) {
	t.Parallel()
	p := newPipeline(t, func(*grpc.Server) {})
	job := newJob()
	job.VideoId = "vid_ffffffffffffffffffffffffffffffff"
	rec := &recorder{}
	err := p.Run(t.Context(), tenant, job, rec.report)
	if !errors.Is(err, catalog.ErrNotFound) {
		t.Fatalf("Run = %v, want an error wrapping catalog.ErrNotFound", err)
	}
	if s := job.GetStages()[0]; s.GetName() != "probe" || s.GetState() != jobsv1.StageState_STAGE_STATE_FAILED {
		t.Errorf("first stage = %v, want probe FAILED", s)
	}
	// Another tenant's video is not found either.
	job = newJob()
	if err := p.Run(t.Context(), "other", job, rec.report); !errors.Is(err, catalog.ErrNotFound) {
		t.Errorf("Run as another tenant = %v, want ErrNotFound", err)
	}
}

func TestRunCancelled(t *testing.T) {
	t.Parallel()
	vision := &fakeVision{block: make(chan struct{})}
	p := newPipeline(t, func(s *grpc.Server) { visionv1.RegisterVisionServiceServer(s, vision) })
	ctx, cancel := context.WithCancel(auth.WithPrincipal(t.Context(), auth.Principal{Tenant: tenant, Role: auth.RoleEditor}))
	defer cancel()
	errc := make(chan error, 1)
	go func() { errc <- p.Run(ctx, tenant, newJob(), func(*jobsv1.Job) {}) }()
	select {
	case <-vision.block:
	case <-time.After(10 * time.Second):
		t.Fatal("vision was never called")
	}
	cancel()
	select {
	case err := <-errc:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Run after cancel = %v, want context.Canceled", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after its context was cancelled")
	}
}
