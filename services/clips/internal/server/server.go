// Package server is the gRPC adapter of the clips service: it validates
// requests (InvalidArgument naming the field), resolves the source video
// through VideoService, chooses the clips (internal/selection), stores them
// (internal/clipstore) and queues their renders on JetStream, where a
// Renderer (renderer.go) renders them with internal/clipjob and uploads the
// files to the blob store.
package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"gocloud.dev/blob"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	clipsv1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/clips/v1"
	commonv1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/common/v1"
	jobsv1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/jobs/v1"
	"github.com/clipmesh/clipmesh/platform/auth"
	"github.com/clipmesh/clipmesh/platform/blobstore"
	"github.com/clipmesh/clipmesh/platform/grpcx"
	"github.com/clipmesh/clipmesh/platform/mediasrc"
	"github.com/clipmesh/clipmesh/platform/natsx"
	"github.com/clipmesh/clipmesh/services/clips/internal/captions"
	"github.com/clipmesh/clipmesh/services/clips/internal/clipjob"
	"github.com/clipmesh/clipmesh/services/clips/internal/clipstore"
	"github.com/clipmesh/clipmesh/services/clips/internal/inputerr"
	"github.com/clipmesh/clipmesh/services/clips/internal/presets"
	"github.com/clipmesh/clipmesh/services/clips/internal/render"
	"github.com/clipmesh/clipmesh/services/clips/internal/selection"
)

// Limits of one Render request.
const (
	MaxRanges  = 20
	MaxCount   = 20
	MaxAspects = 4
	// DefaultPreset is used when options.preset is empty.
	DefaultPreset = "tiktok"
)

// Errors mapped to FailedPrecondition.
var (
	// errNoAnalysis means there is nothing to choose clips from.
	errNoAnalysis = errors.New("no analysis")
	// errNotRendered means the clip has no files yet.
	errNotRendered = errors.New("the clip is not rendered (yet): it has no files")
)

// Server implements ClipsService.
type Server struct {
	clipsv1.UnimplementedClipsServiceServer

	// Media resolves video ids through VideoService (tenancy enforced
	// there).
	Media *mediasrc.Resolver
	// Jobs finds a video's latest finished analysis.
	Jobs   jobsv1.JobServiceClient
	Blob   *blob.Bucket
	Store  *clipstore.Store
	NC     *nats.Conn
	JS     jetstream.JetStream
	Logger *slog.Logger
	// Poll is how often a waiting Render re-reads its clips besides the
	// progress messages (default 1 s).
	Poll time.Duration
}

// Register adds ClipsService to g.
func (s *Server) Register(g grpc.ServiceRegistrar) { clipsv1.RegisterClipsServiceServer(g, s) }

// tenant returns the caller's tenant.
func tenant(ctx context.Context) (string, error) {
	p, ok := auth.FromContext(ctx)
	if !ok || p.Tenant == "" {
		return "", status.Error(codes.Unauthenticated, "no caller identity")
	}
	return p.Tenant, nil
}

// request is a validated RenderRequest.
type request struct {
	preset  presets.Preset
	aspects []string // "" means the preset's own
	style   string
	opt     selection.Options
}

func badField(field, format string, args ...any) error {
	return inputerr.New(field, "", fmt.Sprintf(format, args...))
}

// validate checks everything that does not need the video.
func validate(req *clipsv1.RenderRequest) (request, error) {
	var r request
	if req.GetVideoId() == "" {
		return r, badField("video_id", "required")
	}
	o := req.GetOptions()
	name := o.GetPreset()
	if name == "" {
		name = DefaultPreset
	}
	var err error
	if r.preset, err = presets.Lookup(name); err != nil {
		return r, inputerr.New("options.preset", name, "unknown preset (want one of "+strings.Join(presets.Names(), ", ")+")")
	}
	if len(o.GetAspectRatios()) > MaxAspects {
		return r, badField("options.aspect_ratios", "at most %d", MaxAspects)
	}
	seen := map[string]bool{}
	for i, a := range o.GetAspectRatios() {
		as, err := presets.ParseAspect(a)
		if err != nil {
			return r, inputerr.New(fmt.Sprintf("options.aspect_ratios[%d]", i), a, "unknown aspect ratio (want 9:16, 1:1, 4:5 or 16:9)")
		}
		if !seen[as.String()] {
			seen[as.String()] = true
			r.aspects = append(r.aspects, as.String())
		}
	}
	if len(r.aspects) == 0 {
		r.aspects = []string{""}
	}
	if st := o.GetCaptionStyle(); st != "" {
		s, err := captions.ParseStyle(st)
		if err != nil {
			return r, inputerr.New("options.caption_style", st, "unknown caption style (want word, block or karaoke)")
		}
		r.style = string(s)
	}
	if o.GetCount() > MaxCount {
		return r, inputerr.New("options.count", fmt.Sprint(o.GetCount()), fmt.Sprintf("at most %d", MaxCount))
	}
	r.opt = selection.Options{Count: int(o.GetCount()), Min: o.GetMinSeconds(), Max: o.GetMaxSeconds()}
	if err := r.opt.Validate(); err != nil {
		return r, err
	}
	if maxLen := r.preset.MaxLength.Seconds(); r.opt.Max > maxLen {
		return r, inputerr.New("options.max_seconds", fmt.Sprint(r.opt.Max), fmt.Sprintf("longer than %s allows (%.0f s)", r.preset.Name, maxLen))
	}
	if len(req.GetRanges()) > MaxRanges {
		return r, badField("ranges", "at most %d", MaxRanges)
	}
	for i, rg := range req.GetRanges() {
		st, en := rg.GetStartSeconds(), rg.GetEndSeconds()
		switch {
		case math.IsNaN(st) || math.IsInf(st, 0) || st < 0:
			return r, inputerr.New(fmt.Sprintf("ranges[%d].start_seconds", i), fmt.Sprint(st), "must be >= 0")
		case math.IsNaN(en) || math.IsInf(en, 0) || en <= st:
			return r, inputerr.New(fmt.Sprintf("ranges[%d].end_seconds", i), fmt.Sprint(en), "must be after start_seconds (zero or negative length)")
		case en-st > r.preset.MaxLength.Seconds():
			return r, inputerr.New(fmt.Sprintf("ranges[%d].end_seconds", i), fmt.Sprint(en), fmt.Sprintf("range is %.1f s, longer than %s allows (%.0f s)", en-st, r.preset.Name, r.preset.MaxLength.Seconds()))
		}
	}
	return r, nil
}

// Render implements ClipsService.Render.
func (s *Server) Render(ctx context.Context, req *clipsv1.RenderRequest) (*clipsv1.RenderResponse, error) {
	clips, err := s.render(ctx, req)
	if err != nil {
		return nil, s.toStatus(ctx, err)
	}
	return &clipsv1.RenderResponse{Clips: clips}, nil
}

func (s *Server) render(ctx context.Context, req *clipsv1.RenderRequest) ([]*clipsv1.Clip, error) {
	ten, err := tenant(ctx)
	if err != nil {
		return nil, err
	}
	r, err := validate(req)
	if err != nil {
		return nil, err
	}
	video, key, err := s.Media.Video(ctx, req.GetVideoId())
	if err != nil {
		return nil, err
	}
	dur := video.GetProbe().GetDurationSeconds()
	if dur <= 0 {
		if dur, err = s.probeDuration(ctx, key); err != nil {
			return nil, err
		}
	}
	// Half a frame at 24 fps: an end at the container's rounded duration
	// is inside the video.
	const slack = 0.02
	for i, rg := range req.GetRanges() {
		if rg.GetStartSeconds() >= dur {
			return nil, inputerr.New(fmt.Sprintf("ranges[%d].start_seconds", i), fmt.Sprint(rg.GetStartSeconds()), fmt.Sprintf("outside the video (%.3f s long)", dur))
		}
		if rg.GetEndSeconds() > dur+slack {
			return nil, inputerr.New(fmt.Sprintf("ranges[%d].end_seconds", i), fmt.Sprint(rg.GetEndSeconds()), fmt.Sprintf("outside the video (%.3f s long)", dur))
		}
	}
	in := inputFrom(req, dur)
	if len(req.GetRanges()) == 0 && len(req.GetMoments()) == 0 {
		if err := s.loadAnalysis(ctx, req, &in); err != nil {
			return nil, err
		}
	}
	var chosen []selection.Clip
	if len(req.GetRanges()) > 0 {
		for _, rg := range req.GetRanges() {
			chosen = append(chosen, selection.Describe(in, rg.GetStartSeconds(), min(rg.GetEndSeconds(), dur)))
		}
	} else {
		if chosen, err = selection.Select(in, r.opt); err != nil {
			return nil, err
		}
		if len(chosen) == 0 {
			return nil, fmt.Errorf("%w: none of the %d moments lies inside the video", errNoAnalysis, len(in.Moments))
		}
	}
	vis := req.GetVision()
	var out []*clipsv1.Clip
	for _, c := range chosen {
		for _, aspect := range r.aspects {
			spec := clipjob.Spec{SourceKey: key, SourceName: sourceName(video.GetFilename(), req.GetVideoId()),
				Start: c.Start, End: c.End, Preset: r.preset.Name, Aspect: aspect, CaptionStyle: r.style, Title: c.Title,
				Words: wordsNear(in.Words, c.Start, c.End), Cuts: cutsIn(in.Cuts, c.Start, c.End),
				Tracks: tracks(vis, c.Start, c.End)}
			clip := &clipsv1.Clip{Id: newID(), VideoId: req.GetVideoId(),
				Range:       &commonv1.TimeRange{StartSeconds: c.Start, EndSeconds: c.End},
				AspectRatio: aspectName(aspect, r.preset), Score: c.Score, Title: c.Title, Transcript: c.Transcript,
				Hashtags: c.Hashtags, Preset: r.preset.Name, CaptionStyle: r.style,
				State:    clipsv1.ClipState_CLIP_STATE_QUEUED,
				Progress: &commonv1.Progress{Stage: "queued", UpdateTime: timestamppb.Now()}}
			for _, f := range c.Factors {
				clip.Factors = append(clip.Factors, &clipsv1.ClipFactor{Name: f.Name, Value: f.Value, Detail: f.Detail})
			}
			raw, err := json.Marshal(spec)
			if err != nil {
				return nil, fmt.Errorf("encode render spec: %w", err)
			}
			if err := s.Store.Create(ctx, ten, clip, raw); err != nil {
				return nil, err
			}
			if err := s.queue(ctx, ten, clip.GetId()); err != nil {
				// A stored clip no renderer will see is failed, visibly.
				_, _ = s.Store.Update(context.WithoutCancel(ctx), ten, clip.GetId(), func(c *clipsv1.Clip) {
					c.State, c.Error = clipsv1.ClipState_CLIP_STATE_FAILED, "could not queue: "+err.Error()
				})
				return nil, status.Errorf(codes.Unavailable, "queue render: %v", err)
			}
			out = append(out, clip)
		}
	}
	if req.GetAsync() {
		return out, nil
	}
	return s.wait(ctx, ten, out)
}

func aspectName(aspect string, p presets.Preset) string {
	if aspect == "" {
		return p.Aspect.String()
	}
	return aspect
}

func sourceName(filename, id string) string {
	if filename != "" {
		return filename
	}
	return id + ".mp4"
}

func newID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return "clp_" + hex.EncodeToString(b[:])
}

// probeDuration reads the source's duration when the catalog has none.
func (s *Server) probeDuration(ctx context.Context, key string) (float64, error) {
	path, cleanup, err := blobstore.Materialize(ctx, s.Blob, key, s.Media.TmpDir)
	if err != nil {
		return 0, err
	}
	defer cleanup()
	info, err := render.Probe(ctx, path)
	if err != nil {
		return 0, err
	}
	if info.Duration <= 0 {
		return 0, inputerr.New("video_id", "", "the video has no duration")
	}
	return info.Duration, nil
}

// loadAnalysis fills in's moments (and whatever the request left empty:
// words, cuts, keywords, topics) from the video's latest succeeded job.
func (s *Server) loadAnalysis(ctx context.Context, req *clipsv1.RenderRequest, in *selection.Input) error {
	if s.Jobs == nil {
		return fmt.Errorf("%w: pass ranges or moments", errNoAnalysis)
	}
	token := ""
	for range 20 { // at most 20 pages of 50 jobs
		resp, err := s.Jobs.ListJobs(ctx, &jobsv1.ListJobsRequest{VideoId: req.GetVideoId(), PageSize: 50, PageToken: token})
		if err != nil {
			return fmt.Errorf("list the video's jobs: %w", err)
		}
		for _, j := range resp.GetJobs() {
			if j.GetState() != jobsv1.JobState_JOB_STATE_SUCCEEDED {
				continue
			}
			full, err := s.Jobs.GetJob(ctx, &jobsv1.GetJobRequest{JobId: j.GetId()})
			if err != nil {
				return fmt.Errorf("get job %s: %w", j.GetId(), err)
			}
			res := full.GetJob().GetResult()
			moments := res.GetAnalytics().GetMoments()
			if len(moments) == 0 {
				return fmt.Errorf("%w: the latest finished analysis (job %s) has no scored moments; pass ranges", errNoAnalysis, j.GetId())
			}
			filled := proto2Request(req, res)
			*in = inputFrom(filled, in.Duration)
			// Its vision result also drives reframing.
			req.Vision = filled.GetVision()
			return nil
		}
		if token = resp.GetNextPageToken(); token == "" {
			break
		}
	}
	return fmt.Errorf("%w: video %s has no finished analysis; analyze it first or pass ranges", errNoAnalysis, req.GetVideoId())
}

// proto2Request is req with the analysis' parts where req has none.
func proto2Request(req *clipsv1.RenderRequest, res *jobsv1.AnalysisResult) *clipsv1.RenderRequest {
	out := &clipsv1.RenderRequest{VideoId: req.GetVideoId(), Options: req.GetOptions(),
		Moments: res.GetAnalytics().GetMoments(), Vision: req.GetVision(), Transcript: req.GetTranscript(), Text: req.GetText()}
	if out.Vision == nil {
		out.Vision = res.GetVision()
	}
	if out.Transcript == nil {
		out.Transcript = res.GetTranscript()
	}
	if out.Text == nil {
		out.Text = res.GetText()
	}
	return out
}

// queue publishes the clip's render on the work queue; the message id is
// the clip id, so a repeated publish is dropped by JetStream.
func (s *Server) queue(ctx context.Context, ten, id string) error {
	_, err := natsx.PublishJS(ctx, s.JS, RenderSubject, &clipsv1.RenderQueued{ClipId: id, Tenant: ten}, jetstream.WithMsgID(id))
	return err
}

// wait returns the clips once every one is final. If ctx ends first, the
// clips not yet final are cancelled.
func (s *Server) wait(ctx context.Context, ten string, clips []*clipsv1.Clip) ([]*clipsv1.Clip, error) {
	wake := make(chan *nats.Msg, 64)
	for _, c := range clips {
		sub, err := s.NC.ChanSubscribe(ProgressSubject(c.GetId()), wake)
		if err != nil {
			return nil, fmt.Errorf("subscribe to progress: %w", err)
		}
		defer func() { _ = sub.Unsubscribe() }()
	}
	poll := s.Poll
	if poll <= 0 {
		poll = time.Second
	}
	t := time.NewTicker(poll)
	defer t.Stop()
	for {
		done := true
		for i, c := range clips {
			if clipstore.Final(c.GetState()) {
				continue
			}
			cur, err := s.Store.Get(ctx, ten, c.GetId())
			if err != nil {
				if ctx.Err() != nil {
					break
				}
				return nil, err
			}
			clips[i] = cur
			done = done && clipstore.Final(cur.GetState())
		}
		if done && ctx.Err() == nil {
			return clips, finalError(clips)
		}
		select {
		case <-ctx.Done():
			for _, c := range clips {
				if !clipstore.Final(c.GetState()) {
					_, _ = s.cancel(context.WithoutCancel(ctx), ten, c.GetId(), "the Render call that asked for it ended: "+ctx.Err().Error())
				}
			}
			return nil, ctx.Err()
		case <-wake:
		case <-t.C:
		}
	}
}

// errRenderFailed is returned when every clip of a Render failed.
var errRenderFailed = errors.New("render failed")

// finalError is nil when any clip succeeded, else the first failure.
func finalError(clips []*clipsv1.Clip) error {
	var first *clipsv1.Clip
	for _, c := range clips {
		if c.GetState() == clipsv1.ClipState_CLIP_STATE_SUCCEEDED {
			return nil
		}
		if first == nil && c.GetState() != clipsv1.ClipState_CLIP_STATE_SUCCEEDED {
			first = c
		}
	}
	if first == nil {
		return nil
	}
	return fmt.Errorf("%w: clip %s %s: %s", errRenderFailed, first.GetId(),
		strings.ToLower(strings.TrimPrefix(first.GetState().String(), "CLIP_STATE_")), first.GetError())
}

// ListClips implements ClipsService.ListClips.
func (s *Server) ListClips(ctx context.Context, req *clipsv1.ListClipsRequest) (*clipsv1.ListClipsResponse, error) {
	ten, err := tenant(ctx)
	if err != nil {
		return nil, err
	}
	if req.GetVideoId() == "" {
		return nil, s.toStatus(ctx, badField("video_id", "required"))
	}
	clips, err := s.Store.List(ctx, ten, req.GetVideoId())
	if err != nil {
		return nil, s.toStatus(ctx, err)
	}
	return &clipsv1.ListClipsResponse{Clips: clips}, nil
}

// GetClip implements ClipsService.GetClip.
func (s *Server) GetClip(ctx context.Context, req *clipsv1.GetClipRequest) (*clipsv1.GetClipResponse, error) {
	ten, err := tenant(ctx)
	if err != nil {
		return nil, err
	}
	if req.GetClipId() == "" {
		return nil, s.toStatus(ctx, badField("clip_id", "required"))
	}
	c, err := s.Store.Get(ctx, ten, req.GetClipId())
	if err != nil {
		return nil, s.toStatus(ctx, err)
	}
	return &clipsv1.GetClipResponse{Clip: c}, nil
}

// CancelClip implements ClipsService.CancelClip.
func (s *Server) CancelClip(ctx context.Context, req *clipsv1.CancelClipRequest) (*clipsv1.CancelClipResponse, error) {
	ten, err := tenant(ctx)
	if err != nil {
		return nil, err
	}
	if req.GetClipId() == "" {
		return nil, s.toStatus(ctx, badField("clip_id", "required"))
	}
	c, err := s.cancel(ctx, ten, req.GetClipId(), "cancelled by the caller")
	if err != nil {
		return nil, s.toStatus(ctx, err)
	}
	return &clipsv1.CancelClipResponse{Clip: c}, nil
}

// cancel stores the cancellation (unless the clip is final) and tells the
// renderer running it to stop.
func (s *Server) cancel(ctx context.Context, ten, id, why string) (*clipsv1.Clip, error) {
	c, err := s.Store.Update(ctx, ten, id, func(c *clipsv1.Clip) {
		c.State, c.Error = clipsv1.ClipState_CLIP_STATE_CANCELLED, why
	})
	if errors.Is(err, clipstore.ErrFinal) {
		return c, nil
	}
	if err != nil {
		return nil, err
	}
	if err := natsx.Publish(ctx, s.NC, CancelSubject(id), &clipsv1.ClipCancelRequested{ClipId: id, Tenant: ten}); err != nil {
		s.Logger.WarnContext(ctx, "publish cancel", "clip_id", id, "err", err)
	}
	return c, nil
}

// toStatus maps domain errors to gRPC codes; unknown errors are logged and
// returned as a bare "internal error".
func (s *Server) toStatus(ctx context.Context, err error) error {
	if err == nil {
		return nil
	}
	if _, ok := status.FromError(err); ok {
		return err
	}
	if st, ok := grpcx.KnownStatus(err); ok {
		return st
	}
	var ie *inputerr.Error
	switch {
	case errors.As(err, &ie):
		st := status.New(codes.InvalidArgument, ie.Error())
		if d, derr := st.WithDetails(&errdetails.BadRequest{FieldViolations: []*errdetails.BadRequest_FieldViolation{{Field: ie.Field, Description: ie.Reason}}}); derr == nil {
			st = d
		}
		return st.Err()
	case errors.Is(err, mediasrc.ErrInvalidRequest):
		return status.Error(codes.InvalidArgument, err.Error())
	case errors.Is(err, clipstore.ErrNotFound), errors.Is(err, mediasrc.ErrNotFound), errors.Is(err, blobstore.ErrNotFound):
		return status.Error(codes.NotFound, err.Error())
	case errors.Is(err, errNoAnalysis), errors.Is(err, errNotRendered):
		return status.Error(codes.FailedPrecondition, err.Error())
	case errors.Is(err, errRenderFailed):
		// The message carries ffmpeg's own error line, not a bare exit code.
		return status.Error(codes.Internal, err.Error())
	}
	s.Logger.ErrorContext(ctx, "internal error", "err", err)
	return status.Error(codes.Internal, "internal error")
}
