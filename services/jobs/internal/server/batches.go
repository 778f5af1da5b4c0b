package server

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/google/uuid"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	jobsv1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/jobs/v1"
	"github.com/clipmesh/clipmesh/services/jobs/internal/catalog"
	"github.com/clipmesh/clipmesh/services/jobs/internal/importer"
	"github.com/clipmesh/clipmesh/services/jobs/internal/jobstore"
)

// DefaultMaxBatchItems bounds a batch when Server.MaxBatchItems is unset.
const DefaultMaxBatchItems = 100

// batchPoll is how often WatchBatch re-reads its batch.
const batchPoll = 500 * time.Millisecond

// idempotencyKey is the request's key, or the REST Idempotency-Key header.
func idempotencyKey(ctx context.Context, fromBody string) (string, error) {
	key := fromBody
	if key == "" {
		if md, ok := metadata.FromIncomingContext(ctx); ok {
			if v := md.Get("idempotency-key"); len(v) > 0 {
				key = v[0]
			}
		}
	}
	if len(key) > 200 {
		return "", status.Error(codes.InvalidArgument, "idempotency_key is longer than 200 characters")
	}
	return key, nil
}

// jobDefaults fills in the options and priority a request left unset.
func jobDefaults(opts *jobsv1.AnalyzeOptions, prio jobsv1.Priority) (*jobsv1.AnalyzeOptions, jobsv1.Priority) {
	if opts == nil {
		opts = &jobsv1.AnalyzeOptions{}
	}
	if opts.Language == "" {
		opts.Language = "auto"
	}
	if prio == jobsv1.Priority_PRIORITY_UNSPECIFIED {
		prio = jobsv1.Priority_PRIORITY_NORMAL
	}
	return opts, prio
}

// checkCallback refuses a callback URL this service cannot or may not call.
func (s *Server) checkCallback(ctx context.Context, raw string) error {
	if raw == "" {
		return nil
	}
	if s.Callbacks == nil || len(s.Callbacks.Secret) == 0 {
		return status.Error(codes.FailedPrecondition, "callback_url: callbacks are not configured on this server (CLIPMESH_CALLBACK_SECRET)")
	}
	if err := s.Callbacks.Check(ctx, raw); err != nil {
		return status.Errorf(codes.InvalidArgument, "callback_url: %v", err)
	}
	return nil
}

func newJobID() string { return "job_" + strings.ReplaceAll(uuid.NewString(), "-", "") }

// SubmitBatch implements JobService.SubmitBatch: every item is checked
// first (a bad one refuses the whole batch before anything is queued), files
// under the media root are then ingested like uploads, and the batch and its
// jobs are stored together, then queued.
func (s *Server) SubmitBatch(ctx context.Context, req *jobsv1.SubmitBatchRequest) (*jobsv1.SubmitBatchResponse, error) {
	t, err := writer(ctx)
	if err != nil {
		return nil, err
	}
	items := req.GetItems()
	limit := s.MaxBatchItems
	if limit <= 0 {
		limit = DefaultMaxBatchItems
	}
	switch {
	case len(items) == 0:
		return nil, status.Error(codes.InvalidArgument, "items is required")
	case len(items) > limit:
		return nil, status.Errorf(codes.InvalidArgument, "items: %d items, at most %d per batch", len(items), limit)
	}
	key, err := idempotencyKey(ctx, req.GetIdempotencyKey())
	if err != nil {
		return nil, err
	}
	if err := s.checkCallback(ctx, req.GetCallbackUrl()); err != nil {
		return nil, err
	}

	// Check every item before storing anything.
	videoIDs := make([]string, len(items))
	paths := map[int]string{}
	urls := map[int]*url.URL{}
	for i, it := range items {
		switch src := it.GetSource().(type) {
		case *jobsv1.BatchItem_VideoId:
			field := fmt.Sprintf("items[%d].video_id", i)
			if err := validID(field, src.VideoId, "vid_"); err != nil {
				return nil, err
			}
			if _, err := s.Library.Get(ctx, t, src.VideoId); err != nil {
				return nil, s.toStatus(ctx, fmt.Errorf("%s: %w", field, err))
			}
			videoIDs[i] = src.VideoId
		case *jobsv1.BatchItem_Path:
			rel, err := catalog.MediaRoot(s.MediaRoot).Rel(src.Path)
			if err != nil {
				return nil, s.toStatus(ctx, fmt.Errorf("items[%d].path: %w", i, err))
			}
			paths[i] = rel
		case *jobsv1.BatchItem_Url:
			if s.Importer == nil {
				return nil, status.Errorf(codes.InvalidArgument, "items[%d].url: %v", i, importer.ErrNotConfigured)
			}
			u, err := s.Importer.Check(ctx, src.Url)
			if err != nil {
				return nil, s.toStatus(ctx, fmt.Errorf("items[%d].url: %w", i, err))
			}
			urls[i] = u
		default:
			return nil, status.Errorf(codes.InvalidArgument, "items[%d]: one of video_id, path or url is required", i)
		}
	}
	for i, rel := range paths {
		id, err := s.ingestPath(ctx, t, rel)
		if err != nil {
			return nil, s.toStatus(ctx, fmt.Errorf("items[%d].path: %w", i, err))
		}
		videoIDs[i] = id
	}
	for i, u := range urls {
		id, err := s.importURL(ctx, t, u)
		if err != nil {
			return nil, s.toStatus(ctx, fmt.Errorf("items[%d].url: %w", i, err))
		}
		videoIDs[i] = id
	}

	opts, prio := jobDefaults(req.GetOptions(), req.GetPriority())
	jobs := make([]*jobsv1.Job, len(videoIDs))
	for i, v := range videoIDs {
		jobs[i] = &jobsv1.Job{Id: newJobID(), VideoId: v, State: jobsv1.JobState_JOB_STATE_QUEUED, Priority: prio,
			Options: proto.Clone(opts).(*jobsv1.AnalyzeOptions), Submitter: submitter(ctx)}
	}
	b := &jobstore.Batch{ID: "bat_" + strings.ReplaceAll(uuid.NewString(), "-", ""), CallbackURL: req.GetCallbackUrl(), Submitter: submitter(ctx)}
	b, created, err := s.Jobs.CreateBatch(ctx, t, b, jobs, key)
	if err != nil {
		return nil, s.toStatus(ctx, err)
	}
	if created {
		for i, job := range jobs {
			if err := s.Runner.Enqueue(ctx, t, job); err != nil {
				// Stored but not queued would be lost work: this job and
				// the rest are marked failed, visibly.
				for _, j := range jobs[i:] {
					j.State, j.Error = jobsv1.JobState_JOB_STATE_FAILED, "could not queue: "+err.Error()
					_ = s.Jobs.Update(context.WithoutCancel(ctx), t, j)
				}
				s.Logger.ErrorContext(ctx, "enqueue", "batch_id", b.ID, "job_id", job.GetId(), "err", err)
				return nil, status.Error(codes.Unavailable, "the work queue is not available; try again")
			}
		}
	}
	out, err := s.batch(ctx, t, b.ID)
	if err != nil {
		return nil, err
	}
	return &jobsv1.SubmitBatchResponse{Batch: out}, nil
}

// ingestPath stores the media root's file rel as the tenant's video.
func (s *Server) ingestPath(ctx context.Context, tenant, rel string) (string, error) {
	f, err := catalog.MediaRoot(s.MediaRoot).Open(rel)
	if err != nil {
		return "", err
	}
	defer f.Close()
	v, _, err := s.Library.Ingest(ctx, tenant, catalog.Meta{Filename: rel}, f)
	if err != nil {
		return "", err
	}
	return v.ID, nil
}

// importURL downloads a checked URL into the tenant's videos.
func (s *Server) importURL(ctx context.Context, tenant string, u *url.URL) (string, error) {
	body, name, err := s.Importer.Open(ctx, u)
	if err != nil {
		return "", err
	}
	defer body.Close()
	v, _, err := s.Library.Ingest(ctx, tenant, catalog.Meta{Filename: name}, body)
	if err != nil {
		return "", err
	}
	return v.ID, nil
}

// batch reads and summarizes the tenant's batch.
func (s *Server) batch(ctx context.Context, tenant, id string) (*jobsv1.Batch, error) {
	b, jobs, err := s.Jobs.GetBatch(ctx, tenant, id)
	if err != nil {
		return nil, s.toStatus(ctx, err)
	}
	return jobstore.Summarize(b, jobs, time.Now()), nil
}

// GetBatch implements JobService.GetBatch.
func (s *Server) GetBatch(ctx context.Context, req *jobsv1.GetBatchRequest) (*jobsv1.GetBatchResponse, error) {
	t, err := tenant(ctx)
	if err != nil {
		return nil, err
	}
	if err := validID("batch_id", req.GetBatchId(), "bat_"); err != nil {
		return nil, err
	}
	b, err := s.batch(ctx, t, req.GetBatchId())
	if err != nil {
		return nil, err
	}
	return &jobsv1.GetBatchResponse{Batch: b}, nil
}

// WatchBatch implements JobService.WatchBatch: the batch now, then again
// whenever its jobs change (it is re-read every 500 ms), until it is done.
func (s *Server) WatchBatch(req *jobsv1.WatchBatchRequest, stream grpc.ServerStreamingServer[jobsv1.WatchBatchResponse]) error {
	ctx := stream.Context()
	t, err := tenant(ctx)
	if err != nil {
		return err
	}
	if err := validID("batch_id", req.GetBatchId(), "bat_"); err != nil {
		return err
	}
	tick := time.NewTicker(batchPoll)
	defer tick.Stop()
	var last *jobsv1.Batch
	for {
		b, err := s.batch(ctx, t, req.GetBatchId())
		if err != nil {
			return err
		}
		// The ETA moves with the clock alone: only a change of the jobs
		// is news.
		cmp := proto.Clone(b).(*jobsv1.Batch)
		cmp.EtaSeconds = 0
		if last == nil || !proto.Equal(cmp, last) {
			if err := stream.Send(&jobsv1.WatchBatchResponse{Batch: b}); err != nil {
				return err
			}
			last = cmp
		}
		if b.GetDone() {
			return nil
		}
		select {
		case <-ctx.Done():
			return s.toStatus(ctx, ctx.Err())
		case <-tick.C:
		}
	}
}
