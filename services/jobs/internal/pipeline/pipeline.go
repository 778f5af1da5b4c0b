// Package pipeline runs the analysis of one video across the mesh: probe,
// the audio track extracted once, then vision, audio and transcribe in
// parallel, nlp on the transcript, analytics fusion of every result, and
// clips from its moments. Each stage is a gRPC call to its service; a
// service that is not available marks its stage skipped, visibly, and the
// job goes on with what it has. Each stage's outcome is stored as it
// finishes, so a job run again resumes where it stopped, and complete
// results are cached by content, options and model versions.
package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	analyticsv1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/analytics/v1"
	audiov1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/audio/v1"
	clipsv1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/clips/v1"
	commonv1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/common/v1"
	jobsv1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/jobs/v1"
	nlpv1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/nlp/v1"
	transcribev1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/transcribe/v1"
	visionv1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/vision/v1"
	"github.com/clipmesh/clipmesh/services/jobs/internal/cache"
	"github.com/clipmesh/clipmesh/services/jobs/internal/catalog"
	"github.com/clipmesh/clipmesh/services/jobs/internal/convert"
	"github.com/clipmesh/clipmesh/services/jobs/internal/extract"
	"github.com/clipmesh/clipmesh/services/jobs/internal/jobstore"
)

// Stage names, in pipeline order.
const (
	StageProbe        = "probe"
	StageExtractAudio = "extract_audio"
	StageVision       = "vision"
	StageAudio        = "audio"
	StageTranscribe   = "transcribe"
	StageNLP          = "nlp"
	StageAnalytics    = "analytics"
	StageClips        = "clips"
)

// weights of each stage in overall progress (roughly their cost).
var weights = map[string]float64{
	StageProbe: 0.02, StageExtractAudio: 0.03, StageVision: 0.4, StageAudio: 0.1, StageTranscribe: 0.3,
	StageNLP: 0.03, StageAnalytics: 0.05, StageClips: 0.1,
}

// Pipeline holds the clients of every service a job calls.
type Pipeline struct {
	Videos     *catalog.Library
	Vision     visionv1.VisionServiceClient
	Audio      audiov1.AudioServiceClient
	Transcribe transcribev1.TranscribeServiceClient
	NLP        nlpv1.NlpServiceClient
	Analytics  analyticsv1.AnalyticsServiceClient
	Clips      clipsv1.ClipsServiceClient

	// Extractor makes the audio track audio and transcribe share (nil:
	// they decode the video themselves).
	Extractor *extract.Extractor
	// Stages stores each finished stage so a job run again resumes (nil:
	// every run starts over).
	Stages StageStore
	// Cache holds finished analyses (nil: none); CacheVersions
	// fingerprints the models and code (cache.Versions); CacheTTL is how
	// long an entry lives (default DefaultCacheTTL).
	Cache         cache.Cache
	CacheVersions string
	CacheTTL      time.Duration
	// Logger logs what does not fail a job (cache trouble); nil: silent.
	Logger *slog.Logger
}

// DefaultCacheTTL is how long a cached analysis lives by default.
const DefaultCacheTTL = 7 * 24 * time.Hour

// New returns a pipeline whose stages call the services behind conn(name).
func New(videos *catalog.Library, conn func(service string) (grpc.ClientConnInterface, error)) (*Pipeline, error) {
	cc := map[string]grpc.ClientConnInterface{}
	for _, name := range []string{"vision", "audio", "transcribe", "nlp", "analytics", "clips"} {
		c, err := conn(name)
		if err != nil {
			return nil, fmt.Errorf("pipeline: connect %s: %w", name, err)
		}
		cc[name] = c
	}
	return &Pipeline{
		Videos:     videos,
		Vision:     visionv1.NewVisionServiceClient(cc["vision"]),
		Audio:      audiov1.NewAudioServiceClient(cc["audio"]),
		Transcribe: transcribev1.NewTranscribeServiceClient(cc["transcribe"]),
		NLP:        nlpv1.NewNlpServiceClient(cc["nlp"]),
		Analytics:  analyticsv1.NewAnalyticsServiceClient(cc["analytics"]),
		Clips:      clipsv1.NewClipsServiceClient(cc["clips"]),
	}, nil
}

// Reporter receives the job each time a stage makes progress; it must not
// keep the pointer.
type Reporter func(job *jobsv1.Job)

// run tracks a job's stages while they run concurrently.
type run struct {
	mu     sync.Mutex
	job    *jobsv1.Job
	report Reporter
	p      *Pipeline
	tenant string
	saved  map[string]jobstore.StageRecord
	err    error // first failure to store a stage
}

func (r *run) stage(name string) *jobsv1.StageStatus {
	for _, s := range r.job.Stages {
		if s.Name == name {
			return s
		}
	}
	s := &jobsv1.StageStatus{Name: name, State: jobsv1.StageState_STAGE_STATE_PENDING}
	r.job.Stages = append(r.job.Stages, s)
	return s
}

// update changes a stage under the lock, recomputes overall progress and
// reports.
func (r *run) update(name string, fn func(s *jobsv1.StageStatus)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	fn(r.stage(name))
	total, done := 0.0, 0.0
	for _, s := range r.job.Stages {
		w := weights[s.Name]
		total += w
		switch s.State {
		case jobsv1.StageState_STAGE_STATE_DONE, jobsv1.StageState_STAGE_STATE_SKIPPED, jobsv1.StageState_STAGE_STATE_FAILED:
			done += w
		case jobsv1.StageState_STAGE_STATE_RUNNING:
			done += w * s.Fraction
		}
	}
	frac := 0.0
	if total > 0 {
		frac = done / total
	}
	r.job.Progress = &commonv1.Progress{Stage: name, Fraction: frac, Message: fmt.Sprintf("%s: %s", name, stateWord(r.stage(name))), UpdateTime: timestamppb.Now()}
	r.report(r.job)
}

func stateWord(s *jobsv1.StageStatus) string {
	switch s.State {
	case jobsv1.StageState_STAGE_STATE_DONE:
		return "done"
	case jobsv1.StageState_STAGE_STATE_SKIPPED:
		return "skipped (" + s.Reason + ")"
	case jobsv1.StageState_STAGE_STATE_FAILED:
		return "failed (" + s.Reason + ")"
	case jobsv1.StageState_STAGE_STATE_RUNNING:
		return fmt.Sprintf("%.0f%%", s.Fraction*100)
	}
	return "pending"
}

func (r *run) modality(name string, state commonv1.ModalityState, reason string, prod *commonv1.Producer) {
	if name == StageExtractAudio {
		return // a step towards audio and transcribe, not a modality
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.job.Result.Modalities = append(r.job.Result.Modalities, &commonv1.ModalityStatus{Modality: name, State: state, Reason: reason, Producer: prod})
}

// StageStore keeps each finished stage of a job (*jobstore.Store).
type StageStore interface {
	SaveStage(ctx context.Context, tenant, jobID string, r jobstore.StageRecord) error
	Stages(ctx context.Context, tenant, jobID string) (map[string]jobstore.StageRecord, error)
}

// Run executes the job's stages. ctx carries the caller's principal (the
// job's tenant). Each stage's outcome is stored as it finishes (with
// Stages set), and a job run again (a lost worker, a retry) takes the
// stages already done from the store and starts at the first unfinished
// one. With a Cache, a finished analysis of the same content, options and
// model versions is returned at once, and a complete new one is stored.
// It returns an error only when the job as a whole fails or is cancelled.
func (p *Pipeline) Run(ctx context.Context, tenant string, job *jobsv1.Job, report Reporter) error {
	r := &run{job: job, report: report, p: p, tenant: tenant}
	job.Result = &jobsv1.AnalysisResult{}
	job.Stages = nil
	stages := []string{StageProbe, StageExtractAudio, StageVision, StageAudio, StageTranscribe, StageNLP, StageAnalytics}
	if job.GetOptions().GetClips() != nil {
		stages = append(stages, StageClips)
	}
	for _, s := range stages {
		r.stage(s)
	}
	if p.Stages != nil {
		saved, err := p.Stages.Stages(ctx, tenant, job.GetId())
		if err != nil {
			return fmt.Errorf("load stages: %w", err)
		}
		r.saved = saved
	}

	// Probe: the upload already probed the file; the stage loads it.
	r.update(StageProbe, func(s *jobsv1.StageStatus) { s.State = jobsv1.StageState_STAGE_STATE_RUNNING })
	v, err := p.Videos.Get(ctx, tenant, job.GetVideoId())
	if err != nil {
		r.update(StageProbe, func(s *jobsv1.StageStatus) { s.State, s.Reason = jobsv1.StageState_STAGE_STATE_FAILED, err.Error() })
		return fmt.Errorf("probe: %w", err)
	}
	job.Result.Video = convert.Video(v)
	r.update(StageProbe, func(s *jobsv1.StageStatus) { s.State, s.Fraction = jobsv1.StageState_STAGE_STATE_DONE, 1 })
	hasVideo, hasAudio := v.Probe.Video != nil, v.Probe.Audio != nil

	cacheKey := ""
	if p.Cache != nil {
		cacheKey, err = cache.Key(tenant, v.SHA256, job.GetOptions(), p.CacheVersions)
		if err != nil {
			return err
		}
		if len(r.saved) == 0 && p.fromCache(ctx, r, cacheKey) {
			return nil
		}
	}

	// The audio track, decoded once for both audio and transcribe; if it
	// cannot be made they decode the video themselves.
	var track *commonv1.Artifact
	switch {
	case !hasAudio:
		r.skip(StageExtractAudio, commonv1.ModalityState_MODALITY_STATE_SKIPPED, "no audio stream")
	case p.Extractor == nil:
		r.skip(StageExtractAudio, commonv1.ModalityState_MODALITY_STATE_UNAVAILABLE, "audio extraction not configured")
	default:
		track = &commonv1.Artifact{}
		if !r.resume(StageExtractAudio, track) {
			track, err = p.extractAudio(ctx, r, v)
			if err != nil && ctx.Err() != nil {
				return ctx.Err()
			}
		}
		job.Result.AudioTrack = track
	}

	var wg sync.WaitGroup
	wg.Add(3)
	go func() {
		defer wg.Done()
		if !hasVideo {
			r.skip(StageVision, commonv1.ModalityState_MODALITY_STATE_SKIPPED, "no video stream")
			return
		}
		res := &visionv1.VisionResult{}
		if !r.resume(StageVision, res) {
			var err error
			res, err = streamStage(ctx, r, StageVision, func(ctx context.Context) (grpc.ServerStreamingClient[visionv1.AnalyzeVideoResponse], error) {
				return p.Vision.AnalyzeVideo(ctx, &visionv1.AnalyzeVideoRequest{VideoId: job.GetVideoId(), IncludeThumbnails: job.GetOptions().GetIncludeThumbnails()})
			}, func(m *visionv1.AnalyzeVideoResponse) (*commonv1.Progress, *visionv1.VisionResult) {
				return m.GetProgress(), m.GetResult()
			})
			if err != nil {
				return
			}
		}
		r.mu.Lock()
		job.Result.Vision = res
		r.mu.Unlock()
	}()
	go func() {
		defer wg.Done()
		if !hasAudio {
			r.skip(StageAudio, commonv1.ModalityState_MODALITY_STATE_SKIPPED, "no audio stream")
			return
		}
		res := &audiov1.AudioResult{}
		if !r.resume(StageAudio, res) {
			var err error
			res, err = streamStage(ctx, r, StageAudio, func(ctx context.Context) (grpc.ServerStreamingClient[audiov1.AnalyzeAudioResponse], error) {
				return p.Audio.AnalyzeAudio(ctx, &audiov1.AnalyzeAudioRequest{VideoId: job.GetVideoId(), AudioTrack: track})
			}, func(m *audiov1.AnalyzeAudioResponse) (*commonv1.Progress, *audiov1.AudioResult) {
				return m.GetProgress(), m.GetResult()
			})
			if err != nil {
				return
			}
		}
		r.mu.Lock()
		job.Result.Audio = res
		r.mu.Unlock()
	}()
	go func() {
		defer wg.Done()
		if !hasAudio {
			r.skip(StageTranscribe, commonv1.ModalityState_MODALITY_STATE_SKIPPED, "no audio stream")
			return
		}
		res := &transcribev1.Transcript{}
		if !r.resume(StageTranscribe, res) {
			var err error
			res, err = streamStage(ctx, r, StageTranscribe, func(ctx context.Context) (grpc.ServerStreamingClient[transcribev1.TranscribeResponse], error) {
				return p.Transcribe.Transcribe(ctx, &transcribev1.TranscribeRequest{VideoId: job.GetVideoId(), AudioTrack: track, Language: job.GetOptions().GetLanguage()})
			}, func(m *transcribev1.TranscribeResponse) (*commonv1.Progress, *transcribev1.Transcript) {
				return m.GetProgress(), m.GetTranscript()
			})
			if err != nil {
				return
			}
		}
		r.mu.Lock()
		job.Result.Transcript = res
		r.mu.Unlock()
	}()
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := r.saveErr(); err != nil {
		return err
	}

	transcript := job.Result.GetTranscript()
	if segs := transcript.GetSegments(); len(segs) == 0 {
		r.skip(StageNLP, commonv1.ModalityState_MODALITY_STATE_SKIPPED, "no transcript")
	} else if res := (&nlpv1.AnalyzeTextResponse{}); r.resume(StageNLP, res) {
		job.Result.Text = res
	} else {
		req := &nlpv1.AnalyzeTextRequest{Language: transcript.GetLanguage()}
		for _, s := range segs {
			req.Segments = append(req.Segments, &nlpv1.TextSegment{Range: s.GetRange(), Text: s.GetText()})
		}
		res, err := unaryStage(ctx, r, StageNLP, func(ctx context.Context) (*nlpv1.AnalyzeTextResponse, error) { return p.NLP.AnalyzeText(ctx, req) },
			func(res *nlpv1.AnalyzeTextResponse) (proto.Message, *commonv1.Producer) {
				return res, res.GetProducer()
			})
		if err == nil {
			job.Result.Text = res
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}

	if res := (&analyticsv1.FuseResponse{}); r.resume(StageAnalytics, res) {
		job.Result.Analytics = res
	} else {
		res, err := unaryStage(ctx, r, StageAnalytics, func(ctx context.Context) (*analyticsv1.FuseResponse, error) {
			return p.Analytics.Fuse(ctx, &analyticsv1.FuseRequest{
				VideoId: job.GetVideoId(), JobId: job.GetId(), Video: job.Result.GetVideo(),
				Vision: job.Result.GetVision(), Audio: job.Result.GetAudio(),
				Transcript: job.Result.GetTranscript(), Text: job.Result.GetText(),
			})
		}, func(res *analyticsv1.FuseResponse) (proto.Message, *commonv1.Producer) { return res, res.GetProducer() })
		if err == nil {
			job.Result.Analytics = res
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}

	if opts := job.GetOptions().GetClips(); opts != nil {
		if res := (&clipsv1.RenderResponse{}); r.resume(StageClips, res) {
			job.Result.Clips = res.GetClips()
		} else if len(job.Result.GetAnalytics().GetMoments()) == 0 {
			// Without moments clips would fall back to an earlier job's
			// analysis of the video: not this job's result.
			r.skip(StageClips, commonv1.ModalityState_MODALITY_STATE_SKIPPED, "no moments from analytics")
		} else {
			res, err := unaryStage(ctx, r, StageClips, func(ctx context.Context) (*clipsv1.RenderResponse, error) {
				return p.Clips.Render(ctx, &clipsv1.RenderRequest{
					VideoId: job.GetVideoId(), Options: opts, Moments: job.Result.GetAnalytics().GetMoments(),
					Vision: job.Result.GetVision(), Transcript: job.Result.GetTranscript(), Text: job.Result.GetText(),
				})
			}, func(res *clipsv1.RenderResponse) (proto.Message, *commonv1.Producer) { return res, nil })
			if err == nil {
				job.Result.Clips = res.GetClips()
			}
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := r.saveErr(); err != nil {
		return err
	}
	if cacheKey != "" && complete(job.Result) {
		// A cache that cannot be written costs only a recomputation later.
		if err := p.Cache.Put(ctx, cacheKey, job.Result, p.cacheTTL()); err != nil && p.Logger != nil {
			p.Logger.WarnContext(ctx, "store result in cache", "job_id", job.GetId(), "err", err)
		}
	}
	if !job.GetOptions().GetIncludeTranscripts() && job.Result.GetTranscript() != nil {
		// The transcript fed nlp, analytics and clips; the caller did not
		// ask to receive it.
		t := proto.Clone(job.Result.GetTranscript()).(*transcribev1.Transcript)
		t.Segments = nil
		job.Result.Transcript = t
	}
	return nil
}

// complete reports whether every modality of a result ran or did not
// apply: a result missing a modality whose service was down or failed is
// not cached, so the next run gets the full analysis.
func complete(res *jobsv1.AnalysisResult) bool {
	for _, m := range res.GetModalities() {
		switch m.GetState() {
		case commonv1.ModalityState_MODALITY_STATE_OK, commonv1.ModalityState_MODALITY_STATE_SKIPPED:
		default:
			return false
		}
	}
	return true
}

func (p *Pipeline) cacheTTL() time.Duration {
	if p.CacheTTL > 0 {
		return p.CacheTTL
	}
	return DefaultCacheTTL
}

// fromCache fills the job from a cached result of the same analysis, and
// reports whether there was one.
func (p *Pipeline) fromCache(ctx context.Context, r *run, key string) bool {
	hit, ok, err := p.Cache.Get(ctx, key)
	if err != nil {
		if p.Logger != nil {
			p.Logger.WarnContext(ctx, "read result cache", "job_id", r.job.GetId(), "err", err)
		}
		return false
	}
	if !ok {
		return false
	}
	video := r.job.Result.GetVideo() // this tenant's record of the content
	r.mu.Lock()
	r.job.Result = hit
	r.job.Result.Video, r.job.Result.Cached = video, true
	mods := map[string]*commonv1.ModalityStatus{}
	for _, m := range hit.GetModalities() {
		mods[m.GetModality()] = m
	}
	r.mu.Unlock()
	for _, s := range r.job.GetStages() {
		if s.GetName() == StageProbe {
			continue
		}
		name := s.GetName()
		state, reason := jobsv1.StageState_STAGE_STATE_DONE, "cached result"
		if m := mods[name]; m.GetState() == commonv1.ModalityState_MODALITY_STATE_SKIPPED {
			state, reason = jobsv1.StageState_STAGE_STATE_SKIPPED, m.GetReason()
		}
		if name == StageExtractAudio && hit.GetAudioTrack() == nil {
			state, reason = jobsv1.StageState_STAGE_STATE_SKIPPED, "no audio track"
		}
		r.update(name, func(s *jobsv1.StageStatus) { s.State, s.Reason, s.Fraction = state, reason, 1 })
	}
	if !r.job.GetOptions().GetIncludeTranscripts() && hit.GetTranscript() != nil {
		hit.Transcript.Segments = nil
	}
	return true
}

// extractAudio makes (or finds) the video's 16 kHz mono track.
func (p *Pipeline) extractAudio(ctx context.Context, r *run, v catalog.Video) (*commonv1.Artifact, error) {
	r.update(StageExtractAudio, func(s *jobsv1.StageStatus) { s.State = jobsv1.StageState_STAGE_STATE_RUNNING })
	var last time.Time
	t, err := p.Extractor.Extract(ctx, v.BlobKey, v.SHA256, v.Probe.DurationSeconds, func(f float64) {
		if time.Since(last) < 250*time.Millisecond {
			return
		}
		last = time.Now()
		r.update(StageExtractAudio, func(s *jobsv1.StageStatus) { s.Fraction = f })
	})
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		r.update(StageExtractAudio, func(s *jobsv1.StageStatus) { s.State, s.Reason = jobsv1.StageState_STAGE_STATE_FAILED, err.Error() })
		r.save(ctx, StageExtractAudio, jobsv1.StageState_STAGE_STATE_FAILED, commonv1.ModalityState_MODALITY_STATE_FAILED, err.Error(), nil)
		return nil, err
	}
	a := &commonv1.Artifact{Key: t.Key, Kind: extract.Kind, ContentType: extract.ContentType, SizeBytes: t.SizeBytes, Sha256: t.SHA256}
	r.update(StageExtractAudio, func(s *jobsv1.StageStatus) { s.State, s.Fraction = jobsv1.StageState_STAGE_STATE_DONE, 1 })
	r.save(ctx, StageExtractAudio, jobsv1.StageState_STAGE_STATE_DONE, commonv1.ModalityState_MODALITY_STATE_OK, "", a)
	return a, nil
}

func (r *run) skip(stage string, state commonv1.ModalityState, reason string) {
	r.update(stage, func(s *jobsv1.StageStatus) { s.State, s.Reason = jobsv1.StageState_STAGE_STATE_SKIPPED, reason })
	r.modality(stage, state, reason, nil)
	r.save(context.Background(), stage, jobsv1.StageState_STAGE_STATE_SKIPPED, state, reason, nil)
}

// resume restores a stage finished by an earlier run of the job into
// result, and reports whether it did. Done stages and stages that did not
// apply are finished; failed ones and ones whose service was not available
// run again.
func (r *run) resume(stage string, result proto.Message) bool {
	rec, ok := r.saved[stage]
	if !ok {
		return false
	}
	switch {
	case rec.State == jobsv1.StageState_STAGE_STATE_DONE && rec.Modality == commonv1.ModalityState_MODALITY_STATE_OK:
		if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(rec.Result, result); err != nil {
			return false // unreadable: run the stage again
		}
		var prod *commonv1.Producer
		if pr, ok := result.(interface{ GetProducer() *commonv1.Producer }); ok {
			prod = pr.GetProducer()
		}
		r.update(stage, func(s *jobsv1.StageStatus) { s.State, s.Fraction, s.Reason = jobsv1.StageState_STAGE_STATE_DONE, 1, "" })
		r.modality(stage, commonv1.ModalityState_MODALITY_STATE_OK, "", prod)
		return true
	case rec.State == jobsv1.StageState_STAGE_STATE_SKIPPED && rec.Modality == commonv1.ModalityState_MODALITY_STATE_SKIPPED:
		r.update(stage, func(s *jobsv1.StageStatus) { s.State, s.Reason = jobsv1.StageState_STAGE_STATE_SKIPPED, rec.Reason })
		r.modality(stage, rec.Modality, rec.Reason, nil)
		return true
	}
	return false
}

// save stores a stage's outcome; the first error fails the job (after the
// stages running beside it end), so it is retried rather than finished
// with an outcome that would not survive a redelivery.
func (r *run) save(ctx context.Context, stage string, state jobsv1.StageState, mod commonv1.ModalityState, reason string, result proto.Message) {
	if r.p.Stages == nil {
		return
	}
	rec := jobstore.StageRecord{Stage: stage, State: state, Modality: mod, Reason: reason}
	if result != nil {
		raw, err := protojson.Marshal(result)
		if err != nil {
			r.setSaveErr(fmt.Errorf("encode %s result: %w", stage, err))
			return
		}
		rec.Result = raw
	}
	if err := r.p.Stages.SaveStage(context.WithoutCancel(ctx), r.tenant, r.job.GetId(), rec); err != nil {
		r.setSaveErr(err)
	}
}

func (r *run) setSaveErr(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err == nil {
		r.err = err
	}
}

func (r *run) saveErr() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err != nil {
		return fmt.Errorf("store stage: %w", r.err)
	}
	return nil
}

// finish records a stage's outcome from its error: not available (the
// service is not deployed or not implemented yet) is a skip; anything else
// a failure. Both are visible in the job and its modalities, and stored.
func (r *run) finish(ctx context.Context, stage string, err error, result proto.Message, prod *commonv1.Producer) error {
	if err == nil {
		r.update(stage, func(s *jobsv1.StageStatus) { s.State, s.Fraction = jobsv1.StageState_STAGE_STATE_DONE, 1 })
		r.modality(stage, commonv1.ModalityState_MODALITY_STATE_OK, "", prod)
		r.save(ctx, stage, jobsv1.StageState_STAGE_STATE_DONE, commonv1.ModalityState_MODALITY_STATE_OK, "", result)
		return nil
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	switch st, _ := status.FromError(err); st.Code() {
	case codes.Unimplemented, codes.Unavailable:
		reason := fmt.Sprintf("%s service not available: %s", stage, st.Message())
		r.update(stage, func(s *jobsv1.StageStatus) { s.State, s.Reason = jobsv1.StageState_STAGE_STATE_SKIPPED, reason })
		r.modality(stage, commonv1.ModalityState_MODALITY_STATE_UNAVAILABLE, reason, nil)
		r.save(ctx, stage, jobsv1.StageState_STAGE_STATE_SKIPPED, commonv1.ModalityState_MODALITY_STATE_UNAVAILABLE, reason, nil)
	default:
		r.update(stage, func(s *jobsv1.StageStatus) { s.State, s.Reason = jobsv1.StageState_STAGE_STATE_FAILED, st.Message() })
		r.modality(stage, commonv1.ModalityState_MODALITY_STATE_FAILED, st.Message(), nil)
		r.save(ctx, stage, jobsv1.StageState_STAGE_STATE_FAILED, commonv1.ModalityState_MODALITY_STATE_FAILED, st.Message(), nil)
	}
	return err
}

func unaryStage[T any](ctx context.Context, r *run, stage string, call func(context.Context) (T, error),
	out func(T) (proto.Message, *commonv1.Producer)) (T, error) {
	r.update(stage, func(s *jobsv1.StageStatus) { s.State = jobsv1.StageState_STAGE_STATE_RUNNING })
	res, err := call(ctx)
	var msg proto.Message
	var prod *commonv1.Producer
	if err == nil {
		msg, prod = out(res)
	}
	return res, r.finish(ctx, stage, err, msg, prod)
}

// streamStage reads a modality's progress stream until its result.
func streamStage[M any, T any, PT interface {
	*T
	proto.Message
	GetProducer() *commonv1.Producer
}](ctx context.Context, r *run, stage string,
	open func(context.Context) (grpc.ServerStreamingClient[M], error),
	split func(*M) (*commonv1.Progress, PT)) (PT, error) {
	r.update(stage, func(s *jobsv1.StageStatus) { s.State = jobsv1.StageState_STAGE_STATE_RUNNING })
	res, err := func() (PT, error) {
		st, err := open(ctx)
		if err != nil {
			return nil, err
		}
		for {
			m, err := st.Recv()
			if errors.Is(err, io.EOF) {
				return nil, status.Error(codes.Internal, stage+" ended without a result")
			}
			if err != nil {
				return nil, err
			}
			prog, res := split(m)
			if res != nil {
				return res, nil
			}
			if prog != nil {
				r.update(stage, func(s *jobsv1.StageStatus) { s.Fraction = prog.GetFraction() })
			}
		}
	}()
	if err != nil {
		return nil, r.finish(ctx, stage, err, nil, nil)
	}
	return res, r.finish(ctx, stage, nil, res, res.GetProducer())
}

// Retryable reports whether a job whose Run returned err may succeed if run
// again: a video that does not exist (or is not the tenant's) never will;
// a store, blob or network error may.
func Retryable(err error) bool {
	switch {
	case err == nil, errors.Is(err, context.Canceled),
		errors.Is(err, catalog.ErrNotFound), errors.Is(err, catalog.ErrInvalidArgument):
		return false
	}
	return true
}
