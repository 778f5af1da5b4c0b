package server

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go"
	"gocloud.dev/blob"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	commonv1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/common/v1"
	visionv1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/vision/v1"
	"github.com/clipmesh/clipmesh/platform/grpcx"
	"github.com/clipmesh/clipmesh/platform/mediasrc"
	"github.com/clipmesh/clipmesh/platform/natsx"
	"github.com/clipmesh/clipmesh/services/vision/internal/analysis"
	"github.com/clipmesh/clipmesh/services/vision/internal/extras"
	"github.com/clipmesh/clipmesh/services/vision/internal/faces"
	"github.com/clipmesh/clipmesh/services/vision/internal/frames"
	"github.com/clipmesh/clipmesh/services/vision/internal/scenes"
)

// Stage is the Progress.stage of every progress message.
const Stage = "vision"

// SceneSubject is the NATS subject of SceneDetected.
const SceneSubject = "clipmesh.vision.v1.scene"

// progressEvery is the least time between two progress messages.
const progressEvery = 250 * time.Millisecond

// Server implements VisionService.
type Server struct {
	visionv1.UnimplementedVisionServiceServer

	// Media resolves video ids (through the jobs service's VideoService,
	// which checks the caller's tenant) to local files.
	Media *mediasrc.Resolver
	// Blob receives thumbnails (normally Media.Blob).
	Blob *blob.Bucket
	// NC publishes scene events; nil publishes nothing.
	NC *nats.Conn
	// Faces loads the face detector.
	Faces *faces.Engine
	// Eyes confirms faces' eyes; nil skips the check (said in the result).
	Eyes *faces.EyeConfirmer
	// Extras loads the expression, face mesh, person and text models; nil
	// runs without them (said in the result).
	Extras *extras.Engine
	// Limits refuse absurd videos.
	Limits analysis.Limits
	// Decode configures ffmpeg and ffprobe (zero: from PATH).
	Decode frames.Options
	// Version is the service's build version, reported in producers.
	Version string
	Logger  *slog.Logger
}

// Register adds VisionService to g.
func (s *Server) Register(g grpc.ServiceRegistrar) { visionv1.RegisterVisionServiceServer(g, s) }

// Ready fails, naming `clipmesh models fetch`, while BlazeFace or ONNX
// Runtime is missing from the models cache.
func (s *Server) Ready(context.Context) error { return s.Faces.Ready() }

// AnalyzeVideo implements VisionService.AnalyzeVideo.
func (s *Server) AnalyzeVideo(req *visionv1.AnalyzeVideoRequest, stream grpc.ServerStreamingServer[visionv1.AnalyzeVideoResponse]) error {
	ctx := stream.Context()
	res, err := s.analyze(ctx, req, stream)
	if err != nil {
		return s.toStatus(ctx, err)
	}
	if err := stream.Send(&visionv1.AnalyzeVideoResponse{Event: &visionv1.AnalyzeVideoResponse_Result{Result: res}}); err != nil {
		return s.toStatus(ctx, err)
	}
	return nil
}

func (s *Server) analyze(ctx context.Context, req *visionv1.AnalyzeVideoRequest, stream grpc.ServerStreamingServer[visionv1.AnalyzeVideoResponse]) (*visionv1.VisionResult, error) {
	var last time.Time
	send := func(fraction float64, msg string, force bool) error {
		if now := time.Now(); force || now.Sub(last) >= progressEvery {
			last = now
			return stream.Send(&visionv1.AnalyzeVideoResponse{Event: &visionv1.AnalyzeVideoResponse_Progress{Progress: &commonv1.Progress{
				Stage: Stage, Fraction: fraction, Message: msg, UpdateTime: timestamppb.New(now),
			}}})
		}
		return nil
	}
	if err := send(0, "fetching media", true); err != nil {
		return nil, err
	}
	media, err := s.Media.Resolve(ctx, req.GetVideoId(), nil)
	if err != nil {
		return nil, err
	}
	defer media.Close()
	path, v := media.Path, media.Video

	opts := analysis.Options{Decode: s.Decode, Limits: s.Limits, Thumbnails: req.GetIncludeThumbnails()}
	det, faceErr := s.Faces.Detector()
	s.useExtras(ctx, &opts, faceErr == nil)
	if faceErr == nil {
		opts.Faces = det
		if s.Eyes != nil {
			opts.Eyes = s.Eyes
		}
	} else {
		s.Logger.WarnContext(ctx, "analysing without faces", "err", faceErr)
	}
	pub := &scenePublisher{s: s, ctx: ctx, videoID: req.GetVideoId(), sent: map[int64]bool{}}
	opts.OnTransition = pub.live
	var sendErr error
	opts.Progress = func(done, total int64) {
		if sendErr != nil {
			return
		}
		if total <= 0 {
			sendErr = send(0, fmt.Sprintf("decoded %d frames", done), false)
			return
		}
		// The last 1% is scenes, thumbnails and events after decoding.
		sendErr = send(min(0.99, float64(done)/float64(total)), fmt.Sprintf("decoded %d of %d frames", done, total), false)
	}
	r, err := analysis.Run(ctx, path, opts)
	if err != nil {
		return nil, err
	}
	if sendErr != nil {
		return nil, sendErr
	}
	res := s.result(ctx, r, faceErr)
	if req.GetIncludeThumbnails() {
		sha := v.GetSha256()
		if sha == "" {
			sha = req.GetVideoId()
		}
		if err := s.storeThumbnails(ctx, sha, r, res); err != nil {
			return nil, err
		}
	}
	pub.rest(res.GetScenes())
	if err := send(1, fmt.Sprintf("%d scenes", len(res.GetScenes())), true); err != nil {
		return nil, err
	}
	return res, nil
}

// storeThumbnails writes each scene's best frame as
// thumbs/<video sha>/<scene>.jpg and lists them best first (faces, then
// sharpness).
func (s *Server) storeThumbnails(ctx context.Context, sha string, r *analysis.Result, res *visionv1.VisionResult) error {
	type ranked struct {
		a       *commonv1.Artifact
		hasFace bool
		sharp   float64
	}
	var all []ranked
	for _, th := range r.Thumbnails {
		key := fmt.Sprintf("thumbs/%s/%d.jpg", sha, th.Scene)
		if err := s.Blob.WriteAll(ctx, key, th.JPEG, &blob.WriterOptions{ContentType: "image/jpeg"}); err != nil {
			return fmt.Errorf("storing thumbnail %s: %w", key, err)
		}
		sum := sha256.Sum256(th.JPEG)
		a := &commonv1.Artifact{Key: key, Kind: "thumbnail", ContentType: "image/jpeg", SizeBytes: int64(len(th.JPEG)), Sha256: hex.EncodeToString(sum[:])}
		if th.Scene < len(res.Scenes) {
			res.Scenes[th.Scene].Thumbnail = a
			res.Scenes[th.Scene].ThumbnailSeconds = th.Time
		}
		all = append(all, ranked{a, th.HasFace, th.Sharpness})
	}
	for i := 1; i < len(all); i++ { // insertion sort: a handful of scenes
		for j := i; j > 0 && (all[j].hasFace && !all[j-1].hasFace || all[j].hasFace == all[j-1].hasFace && all[j].sharp > all[j-1].sharp); j-- {
			all[j], all[j-1] = all[j-1], all[j]
		}
	}
	for _, x := range all {
		res.Thumbnails = append(res.Thumbnails, x.a)
	}
	return nil
}

// scenePublisher publishes one SceneDetected per boundary (every scene but
// the first, which starts with the video) on NATS, with the request's trace
// context: each as soon as the detector settles it during decoding (live:
// the scene's end, keyframe and thumbnail are not known yet and are left
// unset), and at the end those that settled only then (complete).
// Publishing is best effort: a failure is logged, the analysis stands.
type scenePublisher struct {
	s       *Server
	ctx     context.Context
	videoID string
	sent    map[int64]bool // boundary frames published
	failed  bool
}

func (p *scenePublisher) live(t scenes.Transition) {
	b := t.Boundary()
	p.publish(&visionv1.Scene{
		Index: int32(len(p.sent) + 1), StartFrame: b,
		Range:      &commonv1.TimeRange{StartSeconds: t.BoundaryTime},
		Transition: transitions[t.Kind], Confidence: min(1, t.Score),
	})
}

func (p *scenePublisher) rest(final []*visionv1.Scene) {
	starts := map[int64]bool{}
	for _, sc := range final {
		starts[sc.GetStartFrame()] = true
		if sc.GetIndex() > 0 && !p.sent[sc.GetStartFrame()] {
			p.publish(sc)
		}
	}
	for b := range p.sent {
		if b > 0 && !starts[b] {
			p.s.Logger.InfoContext(p.ctx, "a scene boundary published live is not in the final result", "video_id", p.videoID, "frame", b)
		}
	}
}

func (p *scenePublisher) publish(sc *visionv1.Scene) {
	if p.s.NC == nil || p.failed {
		return
	}
	p.sent[sc.GetStartFrame()] = true
	if err := natsx.Publish(p.ctx, p.s.NC, SceneSubject, &visionv1.SceneDetected{VideoId: p.videoID, Scene: sc}); err != nil {
		p.s.Logger.WarnContext(p.ctx, "publishing scene", "err", err, "video_id", p.videoID)
		p.failed = true
	}
}

// toStatus maps domain errors to gRPC codes; unknown errors are logged and
// returned as a bare "internal error".
func (s *Server) toStatus(ctx context.Context, err error) error {
	if err == nil {
		return nil
	}
	if st, ok := grpcx.KnownStatus(err); ok {
		return st
	}
	switch {
	case errors.Is(err, frames.ErrNoVideo):
		return status.Error(codes.InvalidArgument, "no video stream: the file has no video to analyse")
	case errors.Is(err, frames.ErrInvalid), errors.Is(err, mediasrc.ErrInvalidRequest), errors.Is(err, analysis.ErrLimit):
		return status.Error(codes.InvalidArgument, err.Error())
	case errors.Is(err, mediasrc.ErrNotFound):
		return status.Error(codes.NotFound, err.Error())
	}
	s.Logger.ErrorContext(ctx, "internal error", "err", err)
	return status.Error(codes.Internal, "internal error")
}
