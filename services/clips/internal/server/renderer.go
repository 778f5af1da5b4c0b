package server

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"gocloud.dev/blob"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	clipsv1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/clips/v1"
	commonv1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/common/v1"
	"github.com/clipmesh/clipmesh/platform/blobstore"
	"github.com/clipmesh/clipmesh/platform/ffmpegx"
	"github.com/clipmesh/clipmesh/platform/natsx"
	"github.com/clipmesh/clipmesh/services/clips/internal/clipjob"
	"github.com/clipmesh/clipmesh/services/clips/internal/clipstore"
	"github.com/clipmesh/clipmesh/services/clips/internal/render"
)

// NATS names of rendering.
const (
	// RenderStream is the JetStream work queue of renders.
	RenderStream = "CLIPMESH_CLIPS_RENDER"
	// RenderSubject carries RenderQueued.
	RenderSubject = "clipmesh.clips.v1.render"
	// RenderConsumer is the durable pull consumer every renderer shares.
	RenderConsumer = "clips-renderers"
)

// ProgressSubject is where ClipProgressed of clip id is published.
func ProgressSubject(id string) string { return "clipmesh.clips.v1.progress." + id }

// CancelSubject is where ClipCancelRequested of clip id is published.
func CancelSubject(id string) string { return "clipmesh.clips.v1.cancel." + id }

// Defaults of a Renderer.
const (
	DefaultAckWait     = 30 * time.Second
	DefaultMaxAttempts = 3
)

// Renderer takes renders off the work queue and runs them, at most
// Concurrency at once. A render is acked only once its clip is stored
// final, so a renderer killed mid-render leaves its message unacked and
// JetStream hands it to another renderer after AckWait.
type Renderer struct {
	Store  *clipstore.Store
	Blob   *blob.Bucket
	NC     *nats.Conn
	JS     jetstream.JetStream
	Logger *slog.Logger
	// Concurrency is the most renders run at once by this process
	// (default 1).
	Concurrency int
	// TmpDir holds each render's working folder ("" is the system's).
	TmpDir string
	// Speed is the x264 preset ("" is render's default).
	Speed string
	// AckWait is how long a render may go without a sign of life before
	// JetStream redelivers it (default 30 s; a running render signals
	// every third of it).
	AckWait time.Duration
	// MaxAttempts bounds the runs of a clip (default 3).
	MaxAttempts int

	mu      sync.Mutex
	running map[string]context.CancelFunc
}

// Setup creates the stream and the consumer (idempotent).
func (r *Renderer) Setup(ctx context.Context) error {
	_, err := r.JS.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name: RenderStream, Subjects: []string{RenderSubject},
		Retention: jetstream.WorkQueuePolicy, Storage: jetstream.FileStorage,
		Duplicates: 10 * time.Minute,
	})
	if err != nil {
		return fmt.Errorf("clips: create render stream: %w", err)
	}
	_, err = r.JS.CreateOrUpdateConsumer(ctx, RenderStream, jetstream.ConsumerConfig{
		Durable: RenderConsumer, AckPolicy: jetstream.AckExplicitPolicy,
		AckWait: r.ackWait(), MaxAckPending: 10000,
	})
	if err != nil {
		return fmt.Errorf("clips: create render consumer: %w", err)
	}
	return nil
}

func (r *Renderer) ackWait() time.Duration {
	if r.AckWait > 0 {
		return r.AckWait
	}
	return DefaultAckWait
}

func (r *Renderer) maxAttempts() int {
	if r.MaxAttempts > 0 {
		return r.MaxAttempts
	}
	return DefaultMaxAttempts
}

// Start runs the renderers until ctx is done.
func (r *Renderer) Start(ctx context.Context) error {
	r.mu.Lock()
	if r.running == nil {
		r.running = map[string]context.CancelFunc{}
	}
	r.mu.Unlock()
	sub, err := r.NC.Subscribe(CancelSubject("*"), func(m *nats.Msg) {
		var c clipsv1.ClipCancelRequested
		if proto.Unmarshal(m.Data, &c) != nil {
			return
		}
		r.mu.Lock()
		cancel := r.running[c.GetClipId()]
		r.mu.Unlock()
		if cancel != nil {
			cancel()
		}
	})
	if err != nil {
		return fmt.Errorf("clips: subscribe to cancels: %w", err)
	}
	defer func() { _ = sub.Unsubscribe() }()
	cons, err := r.JS.Consumer(ctx, RenderStream, RenderConsumer)
	if err != nil {
		return fmt.Errorf("clips: render consumer: %w", err)
	}
	var wg sync.WaitGroup
	for range max(r.Concurrency, 1) {
		wg.Go(func() { r.loop(ctx, cons) })
	}
	wg.Wait()
	return ctx.Err()
}

func (r *Renderer) loop(ctx context.Context, cons jetstream.Consumer) {
	for ctx.Err() == nil {
		batch, err := cons.Fetch(1, jetstream.FetchMaxWait(2*time.Second))
		if err != nil {
			if ctx.Err() == nil {
				r.Logger.WarnContext(ctx, "fetch renders", "err", err)
				select {
				case <-ctx.Done():
				case <-time.After(time.Second):
				}
			}
			continue
		}
		for msg := range batch.Messages() {
			r.handle(ctx, msg)
		}
	}
}

func (r *Renderer) publish(ctx context.Context, c *clipsv1.Clip) {
	if err := natsx.Publish(ctx, r.NC, ProgressSubject(c.GetId()), &clipsv1.ClipProgressed{Clip: c}); err != nil {
		r.Logger.WarnContext(ctx, "publish clip progress", "clip_id", c.GetId(), "err", err)
	}
}

// update stores change; a clip that became final meanwhile (cancelled)
// cancels the render.
func (r *Renderer) update(ctx context.Context, ten, id string, cancel context.CancelFunc, change func(*clipsv1.Clip)) (*clipsv1.Clip, error) {
	c, err := r.Store.Update(ctx, ten, id, change)
	if errors.Is(err, clipstore.ErrFinal) && cancel != nil {
		cancel()
	}
	if err == nil {
		r.publish(ctx, c)
	}
	return c, err
}

func (r *Renderer) handle(ctx context.Context, msg jetstream.Msg) {
	var q clipsv1.RenderQueued
	if err := proto.Unmarshal(msg.Data(), &q); err != nil {
		r.Logger.ErrorContext(ctx, "drop malformed render message", "err", err)
		_ = msg.Term()
		return
	}
	mctx := natsx.ContextFrom(ctx, msg.Headers())
	ten, id := q.GetTenant(), q.GetClipId()
	log := r.Logger.With("clip_id", id)
	clip, rawSpec, err := r.Store.GetWithSpec(mctx, ten, id)
	switch {
	case errors.Is(err, clipstore.ErrNotFound):
		_ = msg.Term()
		return
	case err != nil:
		log.ErrorContext(mctx, "load clip", "err", err)
		_ = msg.NakWithDelay(5 * time.Second)
		return
	case clipstore.Final(clip.GetState()):
		_ = msg.Ack()
		return
	}
	fail := func(why string) {
		if _, err := r.update(mctx, ten, id, nil, func(c *clipsv1.Clip) {
			c.State, c.Error = clipsv1.ClipState_CLIP_STATE_FAILED, why
			c.Progress = &commonv1.Progress{Stage: "failed", Fraction: c.GetProgress().GetFraction(), Message: why, UpdateTime: timestamppb.Now()}
		}); err != nil && !errors.Is(err, clipstore.ErrFinal) {
			log.ErrorContext(mctx, "store failure", "err", err)
			_ = msg.NakWithDelay(5 * time.Second)
			return
		}
		_ = msg.Ack()
	}
	if int(clip.GetAttempts()) >= r.maxAttempts() {
		fail(fmt.Sprintf("gave up after %d attempts: the renderer was lost during the last one", clip.GetAttempts()))
		return
	}
	var spec clipjob.Spec
	if err := json.Unmarshal(rawSpec, &spec); err != nil {
		fail("unreadable render spec: " + err.Error())
		return
	}

	rctx, cancel := context.WithCancel(mctx)
	defer cancel()
	r.mu.Lock()
	r.running[id] = cancel
	r.mu.Unlock()
	defer func() {
		r.mu.Lock()
		delete(r.running, id)
		r.mu.Unlock()
	}()
	// Keep the message ours while the render runs longer than AckWait.
	natsx.KeepInProgress(rctx, msg, r.ackWait()/3)
	if _, err := r.update(mctx, ten, id, cancel, func(c *clipsv1.Clip) {
		c.Attempts++
		c.State, c.Error = clipsv1.ClipState_CLIP_STATE_RENDERING, ""
		c.Progress = &commonv1.Progress{Stage: "fetch", Message: "fetching the source", UpdateTime: timestamppb.Now()}
	}); err != nil {
		if errors.Is(err, clipstore.ErrFinal) { // cancelled before it started
			_ = msg.Ack()
			return
		}
		log.ErrorContext(mctx, "mark rendering", "err", err)
		_ = msg.NakWithDelay(5 * time.Second)
		return
	}
	log.InfoContext(mctx, "render started", "attempt", clip.GetAttempts()+1)

	arts, reframe, err := r.run(rctx, ten, id, spec, cancel)
	switch {
	case ctx.Err() != nil:
		// Shutting down: hand the render to another renderer.
		_, _ = r.Store.Update(context.WithoutCancel(mctx), ten, id, func(c *clipsv1.Clip) {
			c.State = clipsv1.ClipState_CLIP_STATE_QUEUED
			c.Attempts-- // a hand-back does not use up an attempt
			c.Progress = &commonv1.Progress{Stage: "queued", Message: "handed back at shutdown", UpdateTime: timestamppb.Now()}
		})
		_ = msg.Nak()
	case rctx.Err() != nil:
		// Cancelled: the canceller stored the state.
		log.InfoContext(mctx, "render cancelled")
		_ = msg.Ack()
	case err != nil:
		log.WarnContext(mctx, "render failed", "err", err)
		fail(failure(err))
	default:
		if _, err := r.update(mctx, ten, id, nil, func(c *clipsv1.Clip) {
			c.State, c.Files, c.Reframe = clipsv1.ClipState_CLIP_STATE_SUCCEEDED, arts, reframe
			c.Progress = &commonv1.Progress{Stage: "done", Fraction: 1, UpdateTime: timestamppb.Now()}
		}); err != nil && !errors.Is(err, clipstore.ErrFinal) {
			log.ErrorContext(mctx, "store result", "err", err)
			_ = msg.NakWithDelay(5 * time.Second)
			return
		}
		log.InfoContext(mctx, "render done")
		_ = msg.Ack()
	}
}

// failure is the stored reason of a failed render: ffmpeg's own error line,
// or the error.
func failure(err error) string {
	var fe *render.FFmpegError
	if errors.As(err, &fe) && fe.Line != "" {
		return "ffmpeg: " + fe.Line
	}
	return err.Error()
}

// run renders spec and uploads its files; it returns their artifacts.
func (r *Renderer) run(ctx context.Context, ten, id string, spec clipjob.Spec, cancel context.CancelFunc) ([]*commonv1.Artifact, string, error) {
	src, cleanup, err := blobstore.Materialize(ctx, r.Blob, spec.SourceKey, r.TmpDir)
	if err != nil {
		return nil, "", fmt.Errorf("fetch source: %w", err)
	}
	defer cleanup()
	dir, err := os.MkdirTemp(r.TmpDir, "clip-"+id+"-")
	if err != nil {
		return nil, "", fmt.Errorf("work dir: %w", err)
	}
	defer os.RemoveAll(dir)
	var last time.Time
	files, err := clipjob.Run(ctx, spec, src, dir, clipjob.Options{Speed: r.Speed, Progress: func(f float64) {
		if time.Since(last) < 250*time.Millisecond && f < 1 {
			return
		}
		last = time.Now()
		_, _ = r.update(ctx, ten, id, cancel, func(c *clipsv1.Clip) {
			c.Progress = &commonv1.Progress{Stage: "render", Fraction: 0.95 * f, Message: fmt.Sprintf("rendered %.0f%%", 100*f), UpdateTime: timestamppb.Now()}
		})
	}})
	if err != nil {
		var fe *render.FFmpegError
		if errors.As(err, &fe) {
			// The caller sees neither this host's paths nor the blob key.
			fe.Line = strings.ReplaceAll(ffmpegx.Reason(fe.Line, src), dir+string(os.PathSeparator), "")
		}
		return nil, "", err
	}
	var arts []*commonv1.Artifact
	for _, f := range []struct{ path, kind, ctype string }{
		{files.Video, KindClip, "video/mp4"},
		{files.Thumbnail, KindThumbnail, "image/jpeg"},
		{files.SRT, KindSRT, "application/x-subrip"},
		{files.VTT, KindVTT, "text/vtt"},
		{files.EDL, KindEDL, "text/plain"},
		{files.FCPXML, KindFCPXML, "application/xml"},
	} {
		if f.path == "" {
			continue
		}
		a, err := r.upload(ctx, fmt.Sprintf("clips/%s/%s/%s", ten, id, filepath.Base(f.path)), f.path, f.kind, f.ctype)
		if err != nil {
			return nil, "", err
		}
		arts = append(arts, a)
	}
	return arts, files.Reframe, nil
}

// The kinds of a clip's artifacts (ReadClipFileRequest.kind).
const (
	KindClip      = "clip"
	KindThumbnail = "thumbnail"
	KindSRT       = "srt"
	KindVTT       = "vtt"
	KindEDL       = "edl"
	KindFCPXML    = "fcpxml"
)

// upload copies the file at path to key, hashing it on the way.
func (r *Renderer) upload(ctx context.Context, key, path, kind, ctype string) (*commonv1.Artifact, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("upload %s: %w", kind, err)
	}
	defer f.Close()
	w, err := r.Blob.NewWriter(ctx, key, &blob.WriterOptions{ContentType: ctype})
	if err != nil {
		return nil, fmt.Errorf("upload %s: %w", kind, err)
	}
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(w, h), f)
	if err != nil {
		_ = w.Close()
		return nil, fmt.Errorf("upload %s: %w", kind, err)
	}
	if err := w.Close(); err != nil {
		return nil, fmt.Errorf("upload %s: %w", kind, err)
	}
	return &commonv1.Artifact{Key: key, Kind: kind, ContentType: strings.TrimSpace(ctype), SizeBytes: n, Sha256: hex.EncodeToString(h.Sum(nil))}, nil
}
