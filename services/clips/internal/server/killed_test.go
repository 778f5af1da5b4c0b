package server_test

import (
	"context"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	clipsv1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/clips/v1"
	commonv1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/common/v1"
	"github.com/clipmesh/clipmesh/platform/blobstore"
	"github.com/clipmesh/clipmesh/platform/natsx"
	"github.com/clipmesh/clipmesh/platform/store"
	"github.com/clipmesh/clipmesh/services/clips/internal/clipstore"
	"github.com/clipmesh/clipmesh/services/clips/internal/server"
)

// Environment of a renderer subprocess (see TestMain).
const (
	envRenderer = "CLIPS_TEST_RENDERER"
	envNATS     = "CLIPS_TEST_NATS_URL"
	envDir      = "CLIPS_TEST_DIR"
)

// killTestAckWait is how long a killed renderer's render waits to be
// redelivered.
const killTestAckWait = 2 * time.Second

// rendererMain runs a renderer against the parent test's NATS, database
// and blob folder until it is killed.
func rendererMain() error {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	dir := os.Getenv(envDir)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	nc, err := natsx.Connect(ctx, natsx.Options{URL: os.Getenv(envNATS), Name: "clips-test-renderer", Logger: log})
	if err != nil {
		return err
	}
	defer func() { _ = nc.Close(context.Background()) }()
	db, err := store.Open(ctx, "", dir)
	if err != nil {
		return err
	}
	defer db.Close()
	bucket, err := blobstore.Open(ctx, "", dir)
	if err != nil {
		return err
	}
	defer bucket.Close()
	// veryslow keeps it busy long enough to be killed mid-render.
	r := &server.Renderer{Store: &clipstore.Store{DB: db}, Blob: bucket, NC: nc.NC, JS: nc.JS, Logger: log,
		Concurrency: 1, TmpDir: dir, Speed: "veryslow", AckWait: killTestAckWait}
	if err := r.Setup(ctx); err != nil {
		return err
	}
	return r.Start(ctx)
}

// TestKilledRendererIsRedone kills a renderer process with SIGKILL while it
// renders; the render is redelivered to another renderer and completes,
// its second attempt.
func TestKilledRendererIsRedone(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("renders with ffmpeg in a subprocess; skipped under -short")
	}
	e := newEnv(t, envOptions{listen: true, noRenderer: true})
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	resp, err := e.client.Render(ctx, &clipsv1.RenderRequest{VideoId: "vid_square", Async: true,
		Ranges: []*commonv1.TimeRange{tr(0, 12)}, Options: &clipsv1.ClipOptions{Preset: "youtube_shorts"}})
	if err != nil {
		t.Fatal(err)
	}
	id := resp.GetClips()[0].GetId()

	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), envRenderer+"=1", envNATS+"="+e.nats.ClientURL(), envDir+"="+e.dir)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	killed := false
	defer func() {
		if !killed {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	}()
	// Wait until the subprocess renders (ffmpeg reported progress).
	deadline := time.Now().Add(time.Minute)
	for {
		c, err := e.store.Get(ctx, "t1", id)
		if err != nil {
			t.Fatal(err)
		}
		if c.GetState() == clipsv1.ClipState_CLIP_STATE_RENDERING && c.GetProgress().GetStage() == "render" {
			break
		}
		if clipstore.Final(c.GetState()) || time.Now().After(deadline) {
			t.Fatalf("clip %v %s before the renderer could be killed", c.GetState(), c.GetError())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	killed = true
	// Its ffmpeg died with it (no orphan keeps rendering).
	time.Sleep(200 * time.Millisecond)
	if ffmpegWith(filepath.Join(e.dir, "clip-"+id)) {
		t.Error("the killed renderer's ffmpeg is still running")
	}

	e.startRenderer(t)
	for {
		c, err := e.store.Get(ctx, "t1", id)
		if err != nil {
			t.Fatal(err)
		}
		if clipstore.Final(c.GetState()) {
			if c.GetState() != clipsv1.ClipState_CLIP_STATE_SUCCEEDED || c.GetAttempts() != 2 || len(c.GetFiles()) == 0 {
				t.Fatalf("clip %v after %d attempts (%s), files %d; want succeeded on the 2nd", c.GetState(), c.GetAttempts(), c.GetError(), len(c.GetFiles()))
			}
			return
		}
		if ctx.Err() != nil {
			t.Fatalf("clip still %v: %v", c.GetState(), ctx.Err())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// ffmpegWith reports whether an ffmpeg process has needle in its command
// line.
func ffmpegWith(needle string) bool {
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range procs {
		b, err := os.ReadFile(p)
		if err == nil && containsAll(string(b), "ffmpeg", needle) {
			return true
		}
	}
	return false
}

func containsAll(s string, subs ...string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}
