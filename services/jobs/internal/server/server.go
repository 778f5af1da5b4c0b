// Package server maps the VideoService and JobService RPCs onto the jobs
// service's domain, and domain errors onto gRPC status codes.
package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	jobsv1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/jobs/v1"
	videosv1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/videos/v1"
	"github.com/clipmesh/clipmesh/platform/auth"
	"github.com/clipmesh/clipmesh/platform/grpcx"
	"github.com/clipmesh/clipmesh/services/jobs/internal/callback"
	"github.com/clipmesh/clipmesh/services/jobs/internal/catalog"
	"github.com/clipmesh/clipmesh/services/jobs/internal/convert"
	"github.com/clipmesh/clipmesh/services/jobs/internal/importer"
	"github.com/clipmesh/clipmesh/services/jobs/internal/jobstore"
	"github.com/clipmesh/clipmesh/services/jobs/internal/media"
	"github.com/clipmesh/clipmesh/services/jobs/internal/runner"
)

// Server implements VideoService and JobService.
type Server struct {
	videosv1.UnimplementedVideoServiceServer
	jobsv1.UnimplementedJobServiceServer

	Library *catalog.Library
	Jobs    *jobstore.Store
	Runner  *runner.Runner
	NC      *nats.Conn
	Logger  *slog.Logger

	// MediaRoot is the folder whose files SubmitBatch may name by path
	// ("" refuses paths).
	MediaRoot string
	// MaxBatchItems bounds a batch (default DefaultMaxBatchItems).
	MaxBatchItems int
	// Callbacks checks callback URLs at submit (nil, or no secret: a
	// callback_url is refused).
	Callbacks *callback.Sender
	// Importer fetches batch items named by url (nil: url items refused).
	Importer *importer.Importer
}

// Register adds both services to s.
func (s *Server) Register(g grpc.ServiceRegistrar) {
	videosv1.RegisterVideoServiceServer(g, s)
	jobsv1.RegisterJobServiceServer(g, s)
}

// toStatus maps domain errors to gRPC codes; unknown errors are logged and
// returned as a bare "internal error".
func (s *Server) toStatus(ctx context.Context, err error) error {
	if err == nil {
		return nil
	}
	// A status from below (the upload stream's own) is passed on as it is.
	if st, ok := grpcx.KnownStatus(err); ok {
		return st
	}
	switch {
	case errors.Is(err, catalog.ErrNotFound), errors.Is(err, jobstore.ErrNotFound), errors.Is(err, jobstore.ErrBatchNotFound):
		return status.Error(codes.NotFound, err.Error())
	case errors.Is(err, media.ErrInvalid), errors.Is(err, catalog.ErrTooLarge),
		errors.Is(err, catalog.ErrInvalidArgument), errors.Is(err, jobstore.ErrInvalidArgument),
		errors.Is(err, importer.ErrInvalid), errors.Is(err, importer.ErrNotConfigured):
		return status.Error(codes.InvalidArgument, err.Error())
	case errors.Is(err, importer.ErrUnavailable):
		return status.Error(codes.Unavailable, err.Error())
	}
	s.Logger.ErrorContext(ctx, "internal error", "err", err)
	return status.Error(codes.Internal, "internal error")
}

func tenant(ctx context.Context) (string, error) {
	p, ok := auth.FromContext(ctx)
	if !ok || p.Tenant == "" {
		return "", status.Error(codes.Unauthenticated, "no caller identity")
	}
	return p.Tenant, nil
}

func writer(ctx context.Context) (string, error) {
	p, ok := auth.FromContext(ctx)
	if !ok || p.Tenant == "" {
		return "", status.Error(codes.Unauthenticated, "no caller identity")
	}
	if p.Role == auth.RoleViewer {
		return "", status.Error(codes.PermissionDenied, "the viewer role cannot change anything")
	}
	return p.Tenant, nil
}

// submitter is the caller's API key id (or "local"): the key whose
// callback secret signs what it submits.
func submitter(ctx context.Context) string {
	p, _ := auth.FromContext(ctx)
	return p.Subject
}

// GetCallbackSecret implements JobService.GetCallbackSecret.
func (s *Server) GetCallbackSecret(ctx context.Context, _ *jobsv1.GetCallbackSecretRequest) (*jobsv1.GetCallbackSecretResponse, error) {
	t, err := tenant(ctx)
	if err != nil {
		return nil, err
	}
	if s.Callbacks == nil || len(s.Callbacks.Secret) == 0 {
		return nil, status.Error(codes.FailedPrecondition, "callbacks are not configured on this server (CLIPMESH_CALLBACK_SECRET)")
	}
	sub := submitter(ctx)
	return &jobsv1.GetCallbackSecretResponse{Secret: string(s.Callbacks.SecretFor(t, sub)), Submitter: sub}, nil
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

// uploadReader turns the client stream's chunks into an io.Reader.
type uploadReader struct {
	stream grpc.ClientStreamingServer[videosv1.UploadRequest, videosv1.UploadResponse]
	buf    []byte
}

func (u *uploadReader) Read(p []byte) (int, error) {
	for len(u.buf) == 0 {
		m, err := u.stream.Recv()
		if err != nil {
			return 0, err // io.EOF at the end of the stream
		}
		if m.GetMetadata() != nil {
			return 0, status.Error(codes.InvalidArgument, "metadata must be sent once, first")
		}
		u.buf = m.GetChunk()
	}
	n := copy(p, u.buf)
	u.buf = u.buf[n:]
	return n, nil
}

// Upload implements VideoService.Upload.
func (s *Server) Upload(stream grpc.ClientStreamingServer[videosv1.UploadRequest, videosv1.UploadResponse]) error {
	ctx := stream.Context()
	t, err := writer(ctx)
	if err != nil {
		return err
	}
	first, err := stream.Recv()
	if errors.Is(err, io.EOF) {
		return status.Error(codes.InvalidArgument, "empty upload: send metadata, then the file's bytes")
	}
	if err != nil {
		return err
	}
	meta := first.GetMetadata()
	r := &uploadReader{stream: stream}
	if meta == nil {
		r.buf = first.GetChunk() // metadata is optional; start with the bytes
		meta = &videosv1.UploadMetadata{}
	}
	if len(meta.GetFilename()) > 1024 {
		return status.Error(codes.InvalidArgument, "filename is longer than 1024 bytes")
	}
	v, created, err := s.Library.Ingest(ctx, t, catalog.Meta{Filename: meta.GetFilename(), ContentType: meta.GetContentType()}, r)
	if err != nil {
		return s.toStatus(ctx, err)
	}
	s.Logger.InfoContext(ctx, "video stored", "video_id", v.ID, "created", created, "bytes", v.SizeBytes)
	return stream.SendAndClose(&videosv1.UploadResponse{Video: convert.Video(v), Created: created})
}

// GetVideo implements VideoService.GetVideo.
func (s *Server) GetVideo(ctx context.Context, req *videosv1.GetVideoRequest) (*videosv1.GetVideoResponse, error) {
	t, err := tenant(ctx)
	if err != nil {
		return nil, err
	}
	if err := validID("video_id", req.GetVideoId(), "vid_"); err != nil {
		return nil, err
	}
	v, err := s.Library.Get(ctx, t, req.GetVideoId())
	if err != nil {
		return nil, s.toStatus(ctx, err)
	}
	return &videosv1.GetVideoResponse{Video: convert.Video(v)}, nil
}

// ListVideos implements VideoService.ListVideos.
func (s *Server) ListVideos(ctx context.Context, req *videosv1.ListVideosRequest) (*videosv1.ListVideosResponse, error) {
	t, err := tenant(ctx)
	if err != nil {
		return nil, err
	}
	if req.GetPageSize() < 0 {
		return nil, status.Error(codes.InvalidArgument, "page_size must not be negative")
	}
	vs, next, err := s.Library.List(ctx, t, int(req.GetPageSize()), req.GetPageToken())
	if err != nil {
		return nil, s.toStatus(ctx, err)
	}
	out := &videosv1.ListVideosResponse{NextPageToken: next}
	for _, v := range vs {
		out.Videos = append(out.Videos, convert.Video(v))
	}
	return out, nil
}

// DeleteVideo implements VideoService.DeleteVideo.
func (s *Server) DeleteVideo(ctx context.Context, req *videosv1.DeleteVideoRequest) (*videosv1.DeleteVideoResponse, error) {
	t, err := writer(ctx)
	if err != nil {
		return nil, err
	}
	if err := validID("video_id", req.GetVideoId(), "vid_"); err != nil {
		return nil, err
	}
	if err := s.Library.Delete(ctx, t, req.GetVideoId()); err != nil {
		return nil, s.toStatus(ctx, err)
	}
	return &videosv1.DeleteVideoResponse{}, nil
}

// Analyze implements JobService.Analyze.
func (s *Server) Analyze(ctx context.Context, req *jobsv1.AnalyzeRequest) (*jobsv1.AnalyzeResponse, error) {
	t, err := writer(ctx)
	if err != nil {
		return nil, err
	}
	if err := validID("video_id", req.GetVideoId(), "vid_"); err != nil {
		return nil, err
	}
	// REST clients may send the standard Idempotency-Key header instead.
	key, err := idempotencyKey(ctx, req.GetIdempotencyKey())
	if err != nil {
		return nil, err
	}
	if err := s.checkCallback(ctx, req.GetCallbackUrl()); err != nil {
		return nil, err
	}
	if _, err := s.Library.Get(ctx, t, req.GetVideoId()); err != nil {
		return nil, s.toStatus(ctx, err)
	}
	opts, prio := jobDefaults(req.GetOptions(), req.GetPriority())
	job := &jobsv1.Job{
		Id: newJobID(), VideoId: req.GetVideoId(),
		State: jobsv1.JobState_JOB_STATE_QUEUED, Priority: prio, Options: opts, CallbackUrl: req.GetCallbackUrl(),
		Submitter: submitter(ctx),
	}
	job, created, err := s.Jobs.Create(ctx, t, job, key)
	if err != nil {
		return nil, s.toStatus(ctx, err)
	}
	if created {
		if err := s.Runner.Enqueue(ctx, t, job); err != nil {
			// Stored but not queued would be lost work: mark it failed so
			// the caller sees it, and report unavailable.
			job.State, job.Error = jobsv1.JobState_JOB_STATE_FAILED, "could not queue: "+err.Error()
			_ = s.Jobs.Update(context.WithoutCancel(ctx), t, job)
			s.Logger.ErrorContext(ctx, "enqueue", "job_id", job.GetId(), "err", err)
			return nil, status.Error(codes.Unavailable, "the work queue is not available; try again")
		}
	}
	return &jobsv1.AnalyzeResponse{Job: job}, nil
}

// GetJob implements JobService.GetJob.
func (s *Server) GetJob(ctx context.Context, req *jobsv1.GetJobRequest) (*jobsv1.GetJobResponse, error) {
	t, err := tenant(ctx)
	if err != nil {
		return nil, err
	}
	if err := validID("job_id", req.GetJobId(), "job_"); err != nil {
		return nil, err
	}
	job, err := s.Jobs.Get(ctx, t, req.GetJobId())
	if err != nil {
		return nil, s.toStatus(ctx, err)
	}
	return &jobsv1.GetJobResponse{Job: job}, nil
}

// ListJobs implements JobService.ListJobs.
func (s *Server) ListJobs(ctx context.Context, req *jobsv1.ListJobsRequest) (*jobsv1.ListJobsResponse, error) {
	t, err := tenant(ctx)
	if err != nil {
		return nil, err
	}
	if req.GetPageSize() < 0 {
		return nil, status.Error(codes.InvalidArgument, "page_size must not be negative")
	}
	jobs, next, err := s.Jobs.List(ctx, t, req.GetVideoId(), int(req.GetPageSize()), req.GetPageToken())
	if err != nil {
		return nil, s.toStatus(ctx, err)
	}
	return &jobsv1.ListJobsResponse{Jobs: jobs, NextPageToken: next}, nil
}

// CancelJob implements JobService.CancelJob.
func (s *Server) CancelJob(ctx context.Context, req *jobsv1.CancelJobRequest) (*jobsv1.CancelJobResponse, error) {
	t, err := writer(ctx)
	if err != nil {
		return nil, err
	}
	if err := validID("job_id", req.GetJobId(), "job_"); err != nil {
		return nil, err
	}
	job, err := s.Runner.Cancel(ctx, t, req.GetJobId())
	if err != nil {
		return nil, s.toStatus(ctx, err)
	}
	return &jobsv1.CancelJobResponse{Job: job}, nil
}

// stale reports whether next is older than cur, the job already held: an
// announcement published before the store was read can arrive after it,
// and must not send the job back in time. A final state always counts.
func stale(next, cur *jobsv1.Job) bool {
	return !jobstore.Final(next.GetState()) && next.GetUpdateTime().AsTime().Before(cur.GetUpdateTime().AsTime())
}

// WatchJob implements JobService.WatchJob: the job now, then each change
// announced on NATS by whichever replica runs it, until it is final. A
// periodic re-read covers any missed announcement.
func (s *Server) WatchJob(req *jobsv1.WatchJobRequest, stream grpc.ServerStreamingServer[jobsv1.WatchJobResponse]) error {
	ctx := stream.Context()
	t, err := tenant(ctx)
	if err != nil {
		return err
	}
	if err := validID("job_id", req.GetJobId(), "job_"); err != nil {
		return err
	}
	ch := make(chan *nats.Msg, 64)
	sub, err := s.NC.ChanSubscribe(runner.ProgressSubject+"."+req.GetJobId(), ch)
	if err != nil {
		return s.toStatus(ctx, fmt.Errorf("watch: subscribe: %w", err))
	}
	defer func() { _ = sub.Unsubscribe() }()
	job, err := s.Jobs.Get(ctx, t, req.GetJobId())
	if err != nil {
		return s.toStatus(ctx, err)
	}
	tick := time.NewTicker(2 * time.Second)
	defer tick.Stop()
	var lastSent *jobsv1.Job
	for {
		if jobstore.Final(job.GetState()) {
			// The final message carries the result, read from the store.
			if full, err := s.Jobs.Get(ctx, t, job.GetId()); err == nil {
				job = full
			}
			return stream.Send(&jobsv1.WatchJobResponse{Job: job})
		}
		if lastSent == nil || !proto.Equal(lastSent, job) {
			if err := stream.Send(&jobsv1.WatchJobResponse{Job: job}); err != nil {
				return err
			}
			lastSent = job
		}
		select {
		case <-ctx.Done():
			return s.toStatus(ctx, ctx.Err())
		case m := <-ch:
			var ev jobsv1.JobProgressed
			if err := proto.Unmarshal(m.Data, &ev); err == nil && ev.GetJob() != nil && !stale(ev.GetJob(), job) {
				job = ev.GetJob()
			}
		case <-tick.C:
			if fresh, err := s.Jobs.Get(ctx, t, job.GetId()); err == nil && !stale(fresh, job) {
				job = fresh
			}
		}
	}
}
