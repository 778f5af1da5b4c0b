package pipeline_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"gocloud.dev/blob"
	"gocloud.dev/blob/memblob"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/test/bufconn"
	"google.golang.org/protobuf/proto"

	analyticsv1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/analytics/v1"
	audiov1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/audio/v1"
	clipsv1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/clips/v1"
	commonv1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/common/v1"
	jobsv1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/jobs/v1"
	nlpv1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/nlp/v1"
	transcribev1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/transcribe/v1"
	visionv1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/vision/v1"
	"github.com/clipmesh/clipmesh/platform/auth"
	"github.com/clipmesh/clipmesh/platform/fixtures"
	"github.com/clipmesh/clipmesh/platform/store"
	"github.com/clipmesh/clipmesh/platform/store/storetest"
	"github.com/clipmesh/clipmesh/services/jobs/internal/cache"
	"github.com/clipmesh/clipmesh/services/jobs/internal/catalog"
	"github.com/clipmesh/clipmesh/services/jobs/internal/extract"
	"github.com/clipmesh/clipmesh/services/jobs/internal/jobstore"
	"github.com/clipmesh/clipmesh/services/jobs/internal/pipeline"
)

// mesh is a full set of fake modality services that record what they are
// sent; vision can be made to wait until its caller goes.
type mesh struct {
	visionv1.UnimplementedVisionServiceServer
	audiov1.UnimplementedAudioServiceServer
	transcribev1.UnimplementedTranscribeServiceServer
	nlpv1.UnimplementedNlpServiceServer
	analyticsv1.UnimplementedAnalyticsServiceServer
	clipsv1.UnimplementedClipsServiceServer

	bucket *blob.Bucket
	calls  sync.Map // service name -> *atomic.Int32
	block  atomic.Bool
	mu     sync.Mutex
	audio  *audiov1.AnalyzeAudioRequest
	asr    *transcribev1.TranscribeRequest
	nlp    *nlpv1.AnalyzeTextRequest
	fuse   *analyticsv1.FuseRequest
	render *clipsv1.RenderRequest
	wav    []byte // the audio track audio was pointed at
}

func (m *mesh) count(name string) int32 {
	c, _ := m.calls.LoadOrStore(name, &atomic.Int32{})
	return c.(*atomic.Int32).Load()
}

func (m *mesh) called(name string) {
	c, _ := m.calls.LoadOrStore(name, &atomic.Int32{})
	c.(*atomic.Int32).Add(1)
}

var transcript = &transcribev1.Transcript{
	Producer: &commonv1.Producer{Engine: "fake-asr", Version: "2"}, Language: "es",
	Segments: []*transcribev1.Segment{
		{Range: &commonv1.TimeRange{StartSeconds: 0.2, EndSeconds: 1.5}, Text: "hola"},
		{Range: &commonv1.TimeRange{StartSeconds: 2, EndSeconds: 3.5}, Text: "mundo"},
	},
}

func (m *mesh) AnalyzeVideo(_ *visionv1.AnalyzeVideoRequest, st grpc.ServerStreamingServer[visionv1.AnalyzeVideoResponse]) error {
	m.called("vision")
	if m.block.Load() {
		<-st.Context().Done()
		return st.Context().Err()
	}
	return st.Send(&visionv1.AnalyzeVideoResponse{Event: &visionv1.AnalyzeVideoResponse_Result{Result: &visionv1.VisionResult{
		Producer: &commonv1.Producer{Engine: "fake-vision", Version: "1"}, Scenes: []*visionv1.Scene{{Range: &commonv1.TimeRange{EndSeconds: 2}}}}}})
}

func (m *mesh) AnalyzeAudio(req *audiov1.AnalyzeAudioRequest, st grpc.ServerStreamingServer[audiov1.AnalyzeAudioResponse]) error {
	m.called("audio")
	wav, err := m.bucket.ReadAll(st.Context(), req.GetAudioTrack().GetKey())
	if err != nil {
		return err
	}
	m.mu.Lock()
	m.audio, m.wav = req, wav
	m.mu.Unlock()
	return st.Send(&audiov1.AnalyzeAudioResponse{Event: &audiov1.AnalyzeAudioResponse_Result{Result: &audiov1.AudioResult{
		Producer: &commonv1.Producer{Engine: "fake-audio"}, HasAudio: true}}})
}

func (m *mesh) Transcribe(req *transcribev1.TranscribeRequest, st grpc.ServerStreamingServer[transcribev1.TranscribeResponse]) error {
	m.called("transcribe")
	m.mu.Lock()
	m.asr = req
	m.mu.Unlock()
	return st.Send(&transcribev1.TranscribeResponse{Event: &transcribev1.TranscribeResponse_Transcript{Transcript: transcript}})
}

func (m *mesh) AnalyzeText(_ context.Context, req *nlpv1.AnalyzeTextRequest) (*nlpv1.AnalyzeTextResponse, error) {
	m.called("nlp")
	m.mu.Lock()
	m.nlp = req
	m.mu.Unlock()
	return &nlpv1.AnalyzeTextResponse{Producer: &commonv1.Producer{Engine: "fake-nlp"}, Language: req.GetLanguage()}, nil
}

func (m *mesh) Fuse(_ context.Context, req *analyticsv1.FuseRequest) (*analyticsv1.FuseResponse, error) {
	m.called("analytics")
	m.mu.Lock()
	m.fuse = req
	m.mu.Unlock()
	return &analyticsv1.FuseResponse{Producer: &commonv1.Producer{Engine: "fake-fusion"}, Engagement: []float64{0.1, 0.9},
		Moments: []*analyticsv1.Moment{{Range: &commonv1.TimeRange{StartSeconds: 1, EndSeconds: 2}, Score: 0.9}}}, nil
}

func (m *mesh) Render(_ context.Context, req *clipsv1.RenderRequest) (*clipsv1.RenderResponse, error) {
	m.called("clips")
	m.mu.Lock()
	m.render = req
	m.mu.Unlock()
	return &clipsv1.RenderResponse{Clips: []*clipsv1.Clip{{Id: "clip_1"}}}, nil
}

// fullPipeline is a pipeline over db with a real catalog (memory bucket)
// holding the fixture, real audio extraction and stage store, whose
// services are m.
func fullPipeline(t *testing.T, db *store.DB, m *mesh, fixture string) (*pipeline.Pipeline, catalog.Video) {
	t.Helper()
	bucket := memblob.OpenBucket(nil)
	t.Cleanup(func() { _ = bucket.Close() })
	m.bucket = bucket
	lib := &catalog.Library{DB: db.DB, Blob: bucket, TempDir: t.TempDir()}
	f, err := os.Open(fixtures.MustPath(t, fixture))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	v, _, err := lib.Ingest(t.Context(), tenant, catalog.Meta{Filename: fixture}, f)
	if err != nil {
		t.Fatalf("Ingest: %v", err)
	}

	authn := auth.NewAuthenticator(auth.NewKeys(db.DB), false, meshToken)
	gs := grpc.NewServer(grpc.ChainUnaryInterceptor(authn.UnaryInterceptor), grpc.ChainStreamInterceptor(authn.StreamInterceptor))
	visionv1.RegisterVisionServiceServer(gs, m)
	audiov1.RegisterAudioServiceServer(gs, m)
	transcribev1.RegisterTranscribeServiceServer(gs, m)
	nlpv1.RegisterNlpServiceServer(gs, m)
	analyticsv1.RegisterAnalyticsServiceServer(gs, m)
	clipsv1.RegisterClipsServiceServer(gs, m)
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
	p.Extractor = &extract.Extractor{Blob: bucket, TempDir: t.TempDir()}
	p.Stages = &jobstore.Store{DB: db.DB}
	return p, v
}

func jobCtx(t *testing.T) context.Context {
	return auth.WithPrincipal(t.Context(), auth.Principal{Tenant: tenant, Subject: "job:test", Role: auth.RoleEditor})
}

func fullJob(id, videoID string) *jobsv1.Job {
	return &jobsv1.Job{Id: id, VideoId: videoID, State: jobsv1.JobState_JOB_STATE_RUNNING,
		Options: &jobsv1.AnalyzeOptions{Language: "auto", IncludeTranscripts: true, Clips: &clipsv1.ClipOptions{Count: 1}}}
}

// TestDataFlow checks what each stage is given: the audio track (a real
// 16 kHz mono WAV made by ffmpeg) to audio and transcribe, the transcript
// to nlp, every result to analytics, and the moments with the vision,
// transcript and text results to clips.
func TestDataFlow(t *testing.T) {
	t.Parallel()
	m := &mesh{}
	p, v := fullPipeline(t, storetest.SQLite(t), m, fixtures.Cuts)
	job := fullJob("job_flow", v.ID)
	if err := p.Run(jobCtx(t), tenant, job, func(*jobsv1.Job) {}); err != nil {
		t.Fatalf("Run: %v", err)
	}
	for _, s := range job.GetStages() {
		if s.GetState() != jobsv1.StageState_STAGE_STATE_DONE {
			t.Errorf("stage %s = %s (%s), want DONE", s.GetName(), s.GetState(), s.GetReason())
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()

	track := job.GetResult().GetAudioTrack()
	if track.GetKey() != extract.Key(v.SHA256) || track.GetKind() != extract.Kind || track.GetSha256() == "" || track.GetSizeBytes() < 44 {
		t.Fatalf("result audio track = %v", track)
	}
	if !proto.Equal(m.audio.GetAudioTrack(), track) || !proto.Equal(m.asr.GetAudioTrack(), track) ||
		m.audio.GetVideoId() != v.ID || m.asr.GetVideoId() != v.ID {
		t.Errorf("audio got %v, transcribe got %v; want both the video id and track %v", m.audio, m.asr, track)
	}
	wav := m.wav
	if len(wav) < 44 || string(wav[:4]) != "RIFF" || string(wav[8:12]) != "WAVE" {
		t.Fatalf("audio track is not a WAV file (%d bytes)", len(wav))
	}
	channels, rate, bits := binary.LittleEndian.Uint16(wav[22:]), binary.LittleEndian.Uint32(wav[24:]), binary.LittleEndian.Uint16(wav[34:])
	if channels != 1 || rate != 16000 || bits != 16 {
		t.Errorf("audio track: %d channels, %d Hz, %d bits; want 1, 16000, 16", channels, rate, bits)
	}
	// The track lasts as long as the video (two bytes per sample).
	if secs := float64(len(wav)-44) / 32000; secs < v.Probe.DurationSeconds-0.5 || secs > v.Probe.DurationSeconds+0.5 {
		t.Errorf("audio track lasts %.2f s, the video %.2f s", secs, v.Probe.DurationSeconds)
	}

	if m.nlp.GetLanguage() != "es" || len(m.nlp.GetSegments()) != 2 || m.nlp.GetSegments()[1].GetText() != "mundo" ||
		m.nlp.GetSegments()[1].GetRange().GetStartSeconds() != 2 {
		t.Errorf("nlp request = %v; want the transcript's timed segments in its language", m.nlp)
	}
	f := m.fuse
	if f.GetJobId() != "job_flow" || f.GetVideoId() != v.ID || f.GetVideo().GetId() != v.ID ||
		f.GetVision().GetProducer().GetEngine() != "fake-vision" || f.GetAudio().GetProducer().GetEngine() != "fake-audio" ||
		len(f.GetTranscript().GetSegments()) != 2 || f.GetText().GetProducer().GetEngine() != "fake-nlp" {
		t.Errorf("fuse request = %v; want the job, video and every modality's result", f)
	}
	r := m.render
	if len(r.GetMoments()) != 1 || r.GetMoments()[0].GetScore() != 0.9 || r.GetVision().GetProducer().GetEngine() != "fake-vision" ||
		len(r.GetTranscript().GetSegments()) != 2 || r.GetText().GetProducer().GetEngine() != "fake-nlp" || r.GetOptions().GetCount() != 1 {
		t.Errorf("render request = %v; want analytics' moments, vision, transcript, text and the clip options", r)
	}
	if len(job.GetResult().GetClips()) != 1 {
		t.Errorf("result clips = %v", job.GetResult().GetClips())
	}
}

// TestResume runs a job whose vision stage never ends, stops it (as a
// killed worker would), and runs it again: the stages already finished are
// taken from the store, not run again, and their results reach the stages
// after them.
func TestResume(t *testing.T) {
	t.Parallel()
	m := &mesh{}
	db := storetest.SQLite(t)
	p, v := fullPipeline(t, db, m, fixtures.Cuts)
	m.block.Store(true)
	ctx, cancel := context.WithCancel(jobCtx(t))
	errc := make(chan error, 1)
	go func() { errc <- p.Run(ctx, tenant, fullJob("job_resume", v.ID), func(*jobsv1.Job) {}) }()
	stages := &jobstore.Store{DB: db.DB}
	deadline := time.Now().Add(30 * time.Second)
	for {
		saved, err := stages.Stages(t.Context(), tenant, "job_resume")
		if err != nil {
			t.Fatal(err)
		}
		if len(saved) == 3 { // extract_audio, audio, transcribe
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("stored stages = %v, want extract_audio, audio and transcribe", saved)
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	if err := <-errc; err == nil {
		t.Fatal("the interrupted run succeeded")
	}
	if m.count("nlp") != 0 || m.count("analytics") != 0 {
		t.Fatal("stages after vision ran before it finished")
	}

	m.block.Store(false)
	var ranExtract bool
	job := fullJob("job_resume", v.ID)
	if err := p.Run(jobCtx(t), tenant, job, func(j *jobsv1.Job) {
		for _, s := range j.GetStages() {
			if s.GetName() == pipeline.StageExtractAudio && s.GetState() == jobsv1.StageState_STAGE_STATE_RUNNING {
				ranExtract = true
			}
		}
	}); err != nil {
		t.Fatalf("second Run: %v", err)
	}
	if got := [...]int32{m.count("vision"), m.count("audio"), m.count("transcribe"), m.count("nlp"), m.count("analytics"), m.count("clips")}; got != [...]int32{2, 1, 1, 1, 1, 1} {
		t.Errorf("calls of vision, audio, transcribe, nlp, analytics, clips = %v, want [2 1 1 1 1 1]", got)
	}
	if ranExtract {
		t.Error("the audio track was extracted again")
	}
	res := job.GetResult()
	if res.GetAudio().GetProducer().GetEngine() != "fake-audio" || len(res.GetTranscript().GetSegments()) != 2 ||
		res.GetAudioTrack().GetKey() != extract.Key(v.SHA256) || res.GetVision().GetProducer().GetEngine() != "fake-vision" {
		t.Errorf("resumed result = %v; want the stored audio, transcript and track beside the new vision result", res)
	}
	m.mu.Lock()
	if len(m.fuse.GetTranscript().GetSegments()) != 2 || m.fuse.GetAudio().GetProducer().GetEngine() != "fake-audio" {
		t.Errorf("analytics got %v; want the resumed transcript and audio results", m.fuse)
	}
	m.mu.Unlock()
	for _, s := range job.GetStages() {
		if s.GetState() != jobsv1.StageState_STAGE_STATE_DONE {
			t.Errorf("stage %s = %s, want DONE", s.GetName(), s.GetState())
		}
	}
}

// cacheHit runs the same analysis twice under two job ids, and once with
// other options: the second is served from c without calling any service.
func cacheHit(t *testing.T, db *store.DB, c cache.Cache) {
	m := &mesh{}
	p, v := fullPipeline(t, db, m, fixtures.Cuts)
	versions, err := cache.Versions("test")
	if err != nil {
		t.Fatal(err)
	}
	p.Cache, p.CacheVersions, p.CacheTTL = c, versions+";"+uuid.NewString(), time.Minute
	first := fullJob("job_"+uuid.NewString(), v.ID)
	if err := p.Run(jobCtx(t), tenant, first, func(*jobsv1.Job) {}); err != nil {
		t.Fatalf("first Run: %v", err)
	}
	if first.GetResult().GetCached() {
		t.Fatal("the first analysis says it came from the cache")
	}
	calls := func() [6]int32 {
		return [...]int32{m.count("vision"), m.count("audio"), m.count("transcribe"), m.count("nlp"), m.count("analytics"), m.count("clips")}
	}
	before := calls()
	if before != [...]int32{1, 1, 1, 1, 1, 1} {
		t.Fatalf("first run calls = %v, want one of each", before)
	}

	second := fullJob("job_"+uuid.NewString(), v.ID)
	if err := p.Run(jobCtx(t), tenant, second, func(*jobsv1.Job) {}); err != nil {
		t.Fatalf("second Run: %v", err)
	}
	if got := calls(); got != before {
		t.Errorf("a cached analysis called services: %v -> %v", before, got)
	}
	res := second.GetResult()
	if !res.GetCached() || res.GetAnalytics().GetProducer().GetEngine() != "fake-fusion" || len(res.GetClips()) != 1 ||
		len(res.GetTranscript().GetSegments()) != 2 || res.GetVideo().GetId() != v.ID {
		t.Errorf("cached result = %v; want the first run's result, marked cached", res)
	}
	for _, s := range second.GetStages() {
		if s.GetState() != jobsv1.StageState_STAGE_STATE_DONE {
			t.Errorf("cached job stage %s = %s (%s), want DONE", s.GetName(), s.GetState(), s.GetReason())
		}
	}

	other := fullJob("job_"+uuid.NewString(), v.ID)
	other.Options.Language = "es"
	if err := p.Run(jobCtx(t), tenant, other, func(*jobsv1.Job) {}); err != nil {
		t.Fatalf("Run with other options: %v", err)
	}
	if other.GetResult().GetCached() || calls()[0] != 2 {
		t.Errorf("other options: cached %v, vision calls %d; want a new analysis", other.GetResult().GetCached(), calls()[0])
	}
}

func TestCacheHitSQL(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		t.Parallel()
		cacheHit(t, db, &cache.SQL{DB: db.DB})
	})
}

func TestCacheHitRedis(t *testing.T) {
	t.Parallel()
	addr := os.Getenv("CLIPMESH_TEST_REDIS_ADDR")
	if addr == "" {
		if os.Getenv("CLIPMESH_TEST_REQUIRE_SERVICES") == "1" {
			t.Fatal("CLIPMESH_TEST_REDIS_ADDR is not set: eval \"$(scripts/test-services.sh)\"")
		}
		t.Skip("CLIPMESH_TEST_REDIS_ADDR is not set: eval \"$(scripts/test-services.sh)\" (or make test)")
	}
	rc, err := cache.OpenRedis(t.Context(), "redis://"+addr+"/0")
	if err != nil {
		t.Fatal(err)
	}
	rc.Prefix = fmt.Sprintf("clipmesh-test:%s:", uuid.NewString())
	t.Cleanup(func() {
		ctx := context.Background()
		keys, _ := rc.Client.Keys(ctx, rc.Prefix+"*").Result()
		if len(keys) > 0 {
			_ = rc.Client.Del(ctx, keys...).Err()
		}
		_ = rc.Close()
	})
	cacheHit(t, storetest.SQLite(t), rc)
	if n, err := rc.Client.Keys(t.Context(), rc.Prefix+"*").Result(); err != nil || len(n) != 2 {
		t.Errorf("redis holds %v (%v), want 2 entries (two option sets)", n, err)
	}
}
