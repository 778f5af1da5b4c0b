// Package pipeline runs the analysis of one video across the mesh: probe,
// then vision, audio and transcribe in parallel, nlp on the transcript,
// analytics fusion, and clips. Each stage is a gRPC call to its service; a
// service that is not available marks its stage skipped, visibly, and the
// job goes on with what it has.
package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	analyticsv1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/analytics/v1"
	audiov1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/audio/v1"
	clipsv1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/clips/v1"
	commonv1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/common/v1"
	jobsv1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/jobs/v1"
	nlpv1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/nlp/v1"
	transcribev1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/transcribe/v1"
	visionv1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/vision/v1"
	"github.com/clipmesh/clipmesh/services/jobs/internal/catalog"
	"github.com/clipmesh/clipmesh/services/jobs/internal/convert"
)

// Stage names, in pipeline order.
const (
	StageProbe      = "probe"
	StageVision     = "vision"
	StageAudio      = "audio"
	StageTranscribe = "transcribe"
	StageNLP        = "nlp"
	StageAnalytics  = "analytics"
	StageClips      = "clips"
)

// weights of each stage in overall progress (roughly their cost).
var weights = map[string]float64{
	StageProbe: 0.02, StageVision: 0.4, StageAudio: 0.1, StageTranscribe: 0.3,
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
}

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
	r.mu.Lock()
	defer r.mu.Unlock()
	r.job.Result.Modalities = append(r.job.Result.Modalities, &commonv1.ModalityStatus{Modality: name, State: state, Reason: reason, Producer: prod})
}

// Run executes the job's stages. ctx carries the caller's principal (the
// job's tenant). A redelivered job runs every stage again (resuming from
// the first unfinished stage comes with the jobs issue). It returns an error
// only when the job as a whole fails or is cancelled.
func (p *Pipeline) Run(ctx context.Context, tenant string, job *jobsv1.Job, report Reporter) error {
	r := &run{job: job, report: report}
	if job.Result == nil {
		job.Result = &jobsv1.AnalysisResult{}
	}
	job.Result.Modalities = nil
	stages := []string{StageProbe, StageVision, StageAudio, StageTranscribe, StageNLP, StageAnalytics}
	if job.GetOptions().GetClips() != nil {
		stages = append(stages, StageClips)
	}
	for _, s := range stages {
		r.stage(s)
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

	var wg sync.WaitGroup
	wg.Add(3)
	go func() {
		defer wg.Done()
		if !hasVideo {
			r.skip(StageVision, commonv1.ModalityState_MODALITY_STATE_SKIPPED, "no video stream")
			return
		}
		res, err := streamStage(ctx, r, StageVision, func(ctx context.Context) (grpc.ServerStreamingClient[visionv1.AnalyzeVideoResponse], error) {
			return p.Vision.AnalyzeVideo(ctx, &visionv1.AnalyzeVideoRequest{VideoId: job.GetVideoId(), IncludeThumbnails: job.GetOptions().GetIncludeThumbnails()})
		}, func(m *visionv1.AnalyzeVideoResponse) (*commonv1.Progress, *visionv1.VisionResult) {
			return m.GetProgress(), m.GetResult()
		})
		if err == nil {
			r.mu.Lock()
			job.Result.Vision = res
			r.mu.Unlock()
			r.modality(StageVision, commonv1.ModalityState_MODALITY_STATE_OK, "", res.GetProducer())
		}
	}()
	go func() {
		defer wg.Done()
		if !hasAudio {
			r.skip(StageAudio, commonv1.ModalityState_MODALITY_STATE_SKIPPED, "no audio stream")
			return
		}
		res, err := streamStage(ctx, r, StageAudio, func(ctx context.Context) (grpc.ServerStreamingClient[audiov1.AnalyzeAudioResponse], error) {
			return p.Audio.AnalyzeAudio(ctx, &audiov1.AnalyzeAudioRequest{VideoId: job.GetVideoId()})
		}, func(m *audiov1.AnalyzeAudioResponse) (*commonv1.Progress, *audiov1.AudioResult) {
			return m.GetProgress(), m.GetResult()
		})
		if err == nil {
			r.mu.Lock()
			job.Result.Audio = res
			r.mu.Unlock()
			r.modality(StageAudio, commonv1.ModalityState_MODALITY_STATE_OK, "", res.GetProducer())
		}
	}()
	go func() {
		defer wg.Done()
		if !hasAudio {
			r.skip(StageTranscribe, commonv1.ModalityState_MODALITY_STATE_SKIPPED, "no audio stream")
			return
		}
		res, err := streamStage(ctx, r, StageTranscribe, func(ctx context.Context) (grpc.ServerStreamingClient[transcribev1.TranscribeResponse], error) {
			return p.Transcribe.Transcribe(ctx, &transcribev1.TranscribeRequest{VideoId: job.GetVideoId(), Language: job.GetOptions().GetLanguage()})
		}, func(m *transcribev1.TranscribeResponse) (*commonv1.Progress, *transcribev1.Transcript) {
			return m.GetProgress(), m.GetTranscript()
		})
		if err == nil {
			r.mu.Lock()
			job.Result.Transcript = res
			r.mu.Unlock()
			r.modality(StageTranscribe, commonv1.ModalityState_MODALITY_STATE_OK, "", res.GetProducer())
		}
	}()
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return err
	}

	if segs := job.Result.GetTranscript().GetSegments(); len(segs) == 0 {
		r.skip(StageNLP, commonv1.ModalityState_MODALITY_STATE_SKIPPED, "no transcript")
	} else {
		req := &nlpv1.AnalyzeTextRequest{Language: job.Result.GetTranscript().GetLanguage()}
		for _, s := range segs {
			req.Segments = append(req.Segments, &nlpv1.TextSegment{Range: s.GetRange(), Text: s.GetText()})
		}
		res, err := unaryStage(ctx, r, StageNLP, func(ctx context.Context) (*nlpv1.AnalyzeTextResponse, error) { return p.NLP.AnalyzeText(ctx, req) })
		if err == nil {
			job.Result.Text = res
			r.modality(StageNLP, commonv1.ModalityState_MODALITY_STATE_OK, "", res.GetProducer())
		}
	}
	res, err := unaryStage(ctx, r, StageAnalytics, func(ctx context.Context) (*analyticsv1.FuseResponse, error) {
		return p.Analytics.Fuse(ctx, &analyticsv1.FuseRequest{VideoId: job.GetVideoId()})
	})
	if err == nil {
		job.Result.Analytics = res
		r.modality(StageAnalytics, commonv1.ModalityState_MODALITY_STATE_OK, "", res.GetProducer())
	}
	if opts := job.GetOptions().GetClips(); opts != nil {
		res, err := unaryStage(ctx, r, StageClips, func(ctx context.Context) (*clipsv1.RenderResponse, error) {
			return p.Clips.Render(ctx, &clipsv1.RenderRequest{VideoId: job.GetVideoId(), Options: opts})
		})
		if err == nil {
			job.Result.Clips = res.GetClips()
			r.modality(StageClips, commonv1.ModalityState_MODALITY_STATE_OK, "", nil)
		}
	}
	return ctx.Err()
}

func (r *run) skip(stage string, state commonv1.ModalityState, reason string) {
	r.update(stage, func(s *jobsv1.StageStatus) { s.State, s.Reason = jobsv1.StageState_STAGE_STATE_SKIPPED, reason })
	r.modality(stage, state, reason, nil)
}

// finish records a stage's outcome from its error: not available (the
// service is not deployed or not implemented yet) is a skip; anything else
// a failure. Both are visible in the job and its modalities.
func (r *run) finish(ctx context.Context, stage string, err error) error {
	if err == nil {
		r.update(stage, func(s *jobsv1.StageStatus) { s.State, s.Fraction = jobsv1.StageState_STAGE_STATE_DONE, 1 })
		return nil
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	switch st, _ := status.FromError(err); st.Code() {
	case codes.Unimplemented, codes.Unavailable:
		r.skip(stage, commonv1.ModalityState_MODALITY_STATE_UNAVAILABLE, fmt.Sprintf("%s service not available: %s", stage, st.Message()))
	default:
		r.update(stage, func(s *jobsv1.StageStatus) { s.State, s.Reason = jobsv1.StageState_STAGE_STATE_FAILED, st.Message() })
		r.modality(stage, commonv1.ModalityState_MODALITY_STATE_FAILED, st.Message(), nil)
	}
	return err
}

func unaryStage[T any](ctx context.Context, r *run, stage string, call func(context.Context) (T, error)) (T, error) {
	r.update(stage, func(s *jobsv1.StageStatus) { s.State = jobsv1.StageState_STAGE_STATE_RUNNING })
	res, err := call(ctx)
	return res, r.finish(ctx, stage, err)
}

// streamStage reads a modality's progress stream until its result.
func streamStage[M any, T any](ctx context.Context, r *run, stage string,
	open func(context.Context) (grpc.ServerStreamingClient[M], error),
	split func(*M) (*commonv1.Progress, *T)) (*T, error) {
	r.update(stage, func(s *jobsv1.StageStatus) { s.State = jobsv1.StageState_STAGE_STATE_RUNNING })
	res, err := func() (*T, error) {
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
	return res, r.finish(ctx, stage, err)
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
