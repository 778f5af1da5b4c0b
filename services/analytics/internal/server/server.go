// Package server implements clipmesh.analytics.v1.AnalyticsService: it
// maps the RPCs to the domain packages through package adapter, stores
// fusions with package resultstore, and maps errors to gRPC codes.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"strings"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	analyticsv1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/analytics/v1"
	commonv1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/common/v1"
	jobsv1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/jobs/v1"
	videosv1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/videos/v1"
	"github.com/clipmesh/clipmesh/platform/auth"
	"github.com/clipmesh/clipmesh/platform/grpcx"
	"github.com/clipmesh/clipmesh/services/analytics/internal/adapter"
	"github.com/clipmesh/clipmesh/services/analytics/internal/engagement"
	"github.com/clipmesh/clipmesh/services/analytics/internal/moments"
	"github.com/clipmesh/clipmesh/services/analytics/internal/mood"
	"github.com/clipmesh/clipmesh/services/analytics/internal/resultstore"
	"github.com/clipmesh/clipmesh/services/analytics/internal/summary"
)

// Engine is the producer engine of every fusion.
const Engine = "clipmesh-analytics"

// FusionVersion names the fusion method (factors, normalisation, moment
// features, mood table); bump it when any of them changes meaning.
const FusionVersion = "fusion-1"

// Limits of a Fuse request.
const (
	// MaxSeconds is the longest video fused (12 h).
	MaxSeconds = 12 * 3600
	// DefaultTopN and MaxTopN bound GetTenantStats.
	DefaultTopN = 10
	MaxTopN     = 100
)

// ErrorDomain is the domain of the ErrorInfo details this service attaches.
const ErrorDomain = "analytics.clipmesh"

// Server implements AnalyticsService.
type Server struct {
	analyticsv1.UnimplementedAnalyticsServiceServer

	// Videos resolves video ids (the jobs service's VideoService).
	Videos videosv1.VideoServiceClient
	// Jobs answers whether a video's analysis is finished.
	Jobs jobsv1.JobServiceClient
	// Store keeps the fusions.
	Store *resultstore.Store
	// Weights are the engagement weights (validated at start).
	Weights engagement.Weights
	// Moments tune the candidate moments.
	Moments moments.Options
	// Metrics exports the fusion counters and tenant gauges; nil exports
	// nothing.
	Metrics *Metrics
	// Version is the service's build version, reported in producers.
	Version string
	Logger  *slog.Logger
}

// Register adds AnalyticsService to g.
func (s *Server) Register(g grpc.ServiceRegistrar) { analyticsv1.RegisterAnalyticsServiceServer(g, s) }

// Producer names the fusion: engine, method and weights, build version.
func (s *Server) Producer() *commonv1.Producer {
	return &commonv1.Producer{
		Engine: Engine, Model: FusionVersion + " weights:" + s.Weights.Hash(), Version: s.Version,
		Note: "robust per-video normalised factors, renormalised weights; rule-table scene mood",
	}
}

// Fuse implements AnalyticsService.Fuse.
func (s *Server) Fuse(ctx context.Context, req *analyticsv1.FuseRequest) (*analyticsv1.FuseResponse, error) {
	tenant, err := principal(ctx, true)
	if err != nil {
		return nil, err
	}
	if err := validID("video_id", req.GetVideoId(), "vid_"); err != nil {
		return nil, err
	}
	if id := req.GetVideo().GetId(); id != "" && id != req.GetVideoId() {
		return nil, status.Errorf(codes.InvalidArgument, "video.id %q is not video_id %q", id, req.GetVideoId())
	}
	if id := req.GetJobId(); id != "" {
		if err := validID("job_id", id, "job_"); err != nil {
			return nil, err
		}
	}
	video, err := s.video(ctx, req.GetVideoId())
	if err != nil {
		return nil, err
	}
	// The stored probe is the truth about the video; the request's copy
	// is only a convenience of the caller.
	in := &analyticsv1.FuseRequest{VideoId: req.GetVideoId(), Video: video, Vision: req.GetVision(), Audio: req.GetAudio(),
		Transcript: req.GetTranscript(), Text: req.GetText(), JobId: req.GetJobId()}
	fusion := adapter.FromRequest(in)
	if fusion.Duration > MaxSeconds {
		return nil, status.Errorf(codes.InvalidArgument, "video %s lasts %.0f s, more than the %d s analytics fuses", req.GetVideoId(), fusion.Duration, MaxSeconds)
	}
	tl, err := engagement.Score(fusion.Engagement, s.Weights)
	switch {
	case errors.Is(err, engagement.ErrNoFactors):
		return nil, status.Errorf(codes.FailedPrecondition,
			"nothing to fuse for %s: no vision, audio, transcript or text result with a weighted factor was given (%s)", req.GetVideoId(), skipped(fusion.Inputs))
	case errors.Is(err, engagement.ErrEmpty):
		return nil, status.Errorf(codes.FailedPrecondition, "nothing to fuse for %s: the video has no duration", req.GetVideoId())
	case err != nil:
		return nil, s.toStatus(ctx, err)
	}
	scores := tl.Scores()
	mi := fusion.Moments
	mi.Engagement = scores
	ms, err := moments.Find(mi, s.Moments)
	if err != nil {
		return nil, s.toStatus(ctx, err)
	}
	verdicts := mood.InferAll(fusion.Scenes)
	si := fusion.Summary
	si.Engagement = scores
	sum := summary.Compute(si)

	res := &analyticsv1.FuseResponse{
		Producer:       s.Producer(),
		Engagement:     scores,
		Moments:        adapter.Moments(ms, tl, fusion.Engagement.Words),
		Factors:        adapter.Factors(tl.Factors),
		MissingFactors: adapter.Factors(tl.Missing),
		Weights:        adapter.Weights(tl),
		Timeline:       adapter.Timeline(tl),
		Moods:          adapter.Moods(verdicts),
		VideoId:        req.GetVideoId(),
		Inputs:         fusion.Inputs,
		JobId:          req.GetJobId(),
	}
	detailed := adapter.Detailed(adapter.DetailedInput{Video: video, Request: in, Fused: res, Summary: sum, Fusion: fusion})
	rec := resultstore.Record{
		Tenant: tenant, VideoID: req.GetVideoId(), JobID: req.GetJobId(),
		FusionVersion: FusionVersion, WeightsHash: s.Weights.Hash(), Producers: adapter.Producers(fusion.Inputs),
		DurationSeconds: fusion.Duration, AvgEngagement: sum.Engagement.Avg,
		DominantEmotion: detailed.GetEmotions().GetDominant(), Topics: detailed.GetTopics(),
		Fused: res, Detailed: detailed,
	}
	if err := s.Store.Put(ctx, rec); err != nil {
		return nil, s.toStatus(ctx, err)
	}
	s.Metrics.fused(ctx, s.Store, tenant, fusion.Duration)
	s.Logger.InfoContext(ctx, "fused", "video_id", req.GetVideoId(), "job_id", req.GetJobId(),
		"factors", len(res.GetFactors()), "moments", len(res.GetMoments()), "seconds", len(scores))
	return res, nil
}

// skipped lists the modalities not used and why.
func skipped(inputs []*commonv1.ModalityStatus) string {
	var parts []string
	for _, m := range inputs {
		if m.GetState() != commonv1.ModalityState_MODALITY_STATE_OK {
			parts = append(parts, m.GetModality()+": "+m.GetReason())
		}
	}
	return strings.Join(parts, "; ")
}

// GetDetailed implements AnalyticsService.GetDetailed.
func (s *Server) GetDetailed(ctx context.Context, req *analyticsv1.GetDetailedRequest) (*analyticsv1.GetDetailedResponse, error) {
	tenant, err := principal(ctx, false)
	if err != nil {
		return nil, err
	}
	if err := validID("video_id", req.GetVideoId(), "vid_"); err != nil {
		return nil, err
	}
	rec, err := s.Store.Get(ctx, tenant, req.GetVideoId())
	if err == nil {
		d := rec.Detailed
		d.CreateTime = timestamppb.New(rec.CreatedAt)
		return d, nil
	}
	if !errors.Is(err, resultstore.ErrNotFound) {
		return nil, s.toStatus(ctx, err)
	}
	if _, err := s.video(ctx, req.GetVideoId()); err != nil {
		return nil, err
	}
	return nil, s.notFinished(ctx, req.GetVideoId())
}

// notFinished is the FailedPrecondition for a known video without stored
// analytics, naming its latest job's state.
func (s *Server) notFinished(ctx context.Context, videoID string) error {
	jobs, err := s.Jobs.ListJobs(ctx, &jobsv1.ListJobsRequest{VideoId: videoID, PageSize: 1})
	if err != nil {
		return remote(err, "jobs service")
	}
	if len(jobs.GetJobs()) == 0 {
		return withInfo(status.New(codes.FailedPrecondition,
			fmt.Sprintf("video %s has not been analysed: submit a job (POST /v1/jobs) and ask again when it has succeeded", videoID)),
			"NOT_ANALYSED", map[string]string{"video_id": videoID})
	}
	job := jobs.GetJobs()[0]
	meta := map[string]string{"video_id": videoID, "job_id": job.GetId(), "job_state": job.GetState().String()}
	var msg string
	switch job.GetState() {
	case jobsv1.JobState_JOB_STATE_QUEUED, jobsv1.JobState_JOB_STATE_RUNNING:
		msg = fmt.Sprintf("analysis of video %s is not finished: job %s is %s", videoID, job.GetId(), job.GetState())
		if p := job.GetProgress(); p != nil {
			msg += fmt.Sprintf(" (%s, %.0f%%)", p.GetMessage(), 100*p.GetFraction())
			meta["stage"] = p.GetStage()
		}
		return withInfo(status.New(codes.FailedPrecondition, msg), "ANALYSIS_NOT_FINISHED", meta)
	default:
		msg = fmt.Sprintf("video %s has no analytics: its latest job %s is %s", videoID, job.GetId(), job.GetState())
		for _, st := range job.GetStages() {
			if st.GetName() == "analytics" && st.GetReason() != "" {
				msg += fmt.Sprintf(", its analytics stage %s: %s", strings.ToLower(strings.TrimPrefix(st.GetState().String(), "STAGE_STATE_")), st.GetReason())
			}
		}
		if e := job.GetError(); e != "" {
			msg += " (" + e + ")"
		}
		return withInfo(status.New(codes.FailedPrecondition, msg), "NO_ANALYTICS", meta)
	}
}

func withInfo(st *status.Status, reason string, meta map[string]string) error {
	if d, err := st.WithDetails(&errdetails.ErrorInfo{Reason: reason, Domain: ErrorDomain, Metadata: meta}); err == nil {
		return d.Err()
	}
	return st.Err()
}

// GetTenantStats implements AnalyticsService.GetTenantStats.
func (s *Server) GetTenantStats(ctx context.Context, req *analyticsv1.GetTenantStatsRequest) (*analyticsv1.GetTenantStatsResponse, error) {
	tenant, err := principal(ctx, false)
	if err != nil {
		return nil, err
	}
	n := int(req.GetTopN())
	switch {
	case n < 0 || n > MaxTopN:
		return nil, status.Errorf(codes.InvalidArgument, "top_n %d is outside [0, %d]", n, MaxTopN)
	case n == 0:
		n = DefaultTopN
	}
	st, err := s.Store.TenantStats(ctx, tenant, n)
	if err != nil {
		return nil, s.toStatus(ctx, err)
	}
	res := &analyticsv1.GetTenantStatsResponse{
		Videos: st.Videos, Minutes: st.Seconds / 60, AvgEngagement: st.AvgEngagement, Fusions: st.Fusions,
	}
	for _, l := range st.TopTopics {
		res.TopTopics = append(res.TopTopics, &analyticsv1.LabelCount{Label: l.Label, Count: l.Count})
	}
	for _, l := range st.TopEmotions {
		res.TopEmotions = append(res.TopEmotions, &analyticsv1.LabelCount{Label: l.Label, Count: l.Count})
	}
	return res, nil
}

// video returns the caller's video from the VideoService: NotFound for an
// unknown id or another tenant's video.
func (s *Server) video(ctx context.Context, id string) (*videosv1.Video, error) {
	res, err := s.Videos.GetVideo(ctx, &videosv1.GetVideoRequest{VideoId: id})
	if err != nil {
		if status.Code(err) == codes.NotFound {
			return nil, status.Errorf(codes.NotFound, "video %s not found", id)
		}
		return nil, remote(err, "video service")
	}
	v := res.GetVideo()
	if v.GetProbe() != nil && (math.IsNaN(v.GetProbe().GetDurationSeconds()) || v.GetProbe().GetDurationSeconds() < 0) {
		return nil, status.Errorf(codes.FailedPrecondition, "video %s has no valid duration", id)
	}
	return v, nil
}

// remote passes a dependency's error on, keeping its code but saying where
// it came from.
func remote(err error, what string) error {
	st := status.Convert(err)
	switch st.Code() {
	case codes.Canceled, codes.DeadlineExceeded:
		return st.Err()
	case codes.Unavailable, codes.Unimplemented:
		return status.Errorf(codes.Unavailable, "%s not available: %s", what, st.Message())
	}
	return status.Errorf(st.Code(), "%s: %s", what, st.Message())
}

// toStatus maps domain and store errors to gRPC codes; anything
// unexpected is logged and answered Internal.
func (s *Server) toStatus(ctx context.Context, err error) error {
	if st, ok := grpcx.KnownStatus(err); ok {
		return st
	}
	switch {
	case errors.Is(err, resultstore.ErrNotFound):
		return status.Error(codes.NotFound, err.Error())
	case errors.Is(err, engagement.ErrInvalidWeights), errors.Is(err, moments.ErrInvalidOptions):
		return status.Error(codes.FailedPrecondition, err.Error())
	}
	s.Logger.ErrorContext(ctx, "internal error", "err", err)
	return status.Error(codes.Internal, "internal error")
}

// principal returns the caller's tenant; write refuses the viewer role.
func principal(ctx context.Context, write bool) (string, error) {
	p, ok := auth.FromContext(ctx)
	if !ok || p.Tenant == "" {
		return "", status.Error(codes.Unauthenticated, "no caller identity")
	}
	if write && p.Role == auth.RoleViewer {
		return "", status.Error(codes.PermissionDenied, "the viewer role cannot run a fusion")
	}
	return p.Tenant, nil
}

func validID(field, v, prefix string) error {
	if v == "" {
		return status.Errorf(codes.InvalidArgument, "%s is required", field)
	}
	if len(v) > 128 || !strings.HasPrefix(v, prefix) {
		return status.Errorf(codes.InvalidArgument, "%s %q is not a %s id", field, v, strings.TrimSuffix(prefix, "_"))
	}
	return nil
}
