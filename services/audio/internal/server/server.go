package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	audiov1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/audio/v1"
	commonv1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/common/v1"
	"github.com/clipmesh/clipmesh/platform/grpcx"
	"github.com/clipmesh/clipmesh/platform/mediasrc"
	"github.com/clipmesh/clipmesh/services/audio/internal/analyze"
	"github.com/clipmesh/clipmesh/services/audio/internal/decode"
	"github.com/clipmesh/clipmesh/services/audio/internal/voice"
)

// Stage is the Progress.stage of every progress message.
const Stage = "audio"

// progressEvery is the least time between two progress messages.
const progressEvery = 250 * time.Millisecond

// Server implements AudioService.
type Server struct {
	audiov1.UnimplementedAudioServiceServer

	// Media resolves a request's video id or audio track (checked to
	// belong to that video, so to the caller's tenant) to a local file.
	Media *mediasrc.Resolver
	// Voice hands out voice-activity detectors.
	Voice *voice.Engine
	// Version is the service's build version, reported in producers.
	Version string
	Logger  *slog.Logger
	// Decode configures ffmpeg and ffprobe (zero: from PATH).
	Decode decode.Options
}

// Register adds AudioService to g.
func (s *Server) Register(g grpc.ServiceRegistrar) { audiov1.RegisterAudioServiceServer(g, s) }

// Ready fails, naming `clipmesh models fetch`, while the voice-activity
// model or ONNX Runtime is missing from the models cache.
func (s *Server) Ready(context.Context) error { return s.Voice.Ready() }

// AnalyzeAudio implements AudioService.AnalyzeAudio.
func (s *Server) AnalyzeAudio(req *audiov1.AnalyzeAudioRequest, stream grpc.ServerStreamingServer[audiov1.AnalyzeAudioResponse]) error {
	ctx := stream.Context()
	res, err := s.analyze(ctx, req, stream)
	if err != nil {
		return s.toStatus(ctx, err)
	}
	if err := stream.Send(&audiov1.AnalyzeAudioResponse{Event: &audiov1.AnalyzeAudioResponse_Result{Result: res}}); err != nil {
		return s.toStatus(ctx, err)
	}
	return nil
}

func (s *Server) analyze(ctx context.Context, req *audiov1.AnalyzeAudioRequest, stream grpc.ServerStreamingServer[audiov1.AnalyzeAudioResponse]) (*audiov1.AudioResult, error) {
	var mu sync.Mutex // stream.Send is not safe for concurrent use
	var last time.Time
	send := func(fraction float64, msg string, force bool) error {
		mu.Lock()
		defer mu.Unlock()
		if now := time.Now(); force || now.Sub(last) >= progressEvery {
			last = now
			return stream.Send(&audiov1.AnalyzeAudioResponse{Event: &audiov1.AnalyzeAudioResponse_Progress{Progress: &commonv1.Progress{
				Stage: Stage, Fraction: fraction, Message: msg, UpdateTime: timestamppb.New(now),
			}}})
		}
		return nil
	}
	if err := send(0, "fetching media", true); err != nil {
		return nil, err
	}
	// The extracted track, when the orchestrator passes one, saves
	// decoding the video's container and resampling its audio again.
	media, err := s.Media.Resolve(ctx, req.GetVideoId(), req.GetAudioTrack())
	if err != nil {
		return nil, err
	}
	defer media.Close()
	path := media.Path

	det, err := s.Voice.New()
	if err != nil {
		return nil, err
	}
	r, err := analyze.Run(ctx, path, analyze.Options{
		Decode: s.Decode,
		Voice:  det,
		Progress: func(done, total float64) {
			if total <= 0 {
				_ = send(0, fmt.Sprintf("decoded %.0f s", done), false)
				return
			}
			// The last 1% is the summaries and events after decoding.
			_ = send(min(0.99, done/total), fmt.Sprintf("decoded %.0f of %.0f s", done, total), false)
		},
	})
	if err != nil {
		return nil, err
	}
	res := s.result(ctx, r, media)
	if !r.HasAudio {
		// Voice activity did not run: its producer is not part of it.
		res.VoiceProducer = nil
		res.Producers = res.Producers[:1]
	}
	return res, nil
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
	case errors.Is(err, decode.ErrInvalid), errors.Is(err, mediasrc.ErrInvalidRequest):
		return status.Error(codes.InvalidArgument, err.Error())
	case errors.Is(err, mediasrc.ErrNotFound):
		return status.Error(codes.NotFound, err.Error())
	}
	s.Logger.ErrorContext(ctx, "internal error", "err", err)
	return status.Error(codes.Internal, "internal error")
}
