package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/alecthomas/kong"
	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"
	"golang.org/x/term"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"

	clipsv1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/clips/v1"
	jobsv1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/jobs/v1"
	transcribev1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/transcribe/v1"
	videosv1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/videos/v1"
	"github.com/clipmesh/clipmesh/internal/mesh"
	"github.com/clipmesh/clipmesh/platform/app"
)

type analyzeCmd struct {
	Server   string   `help:"gRPC address of a running clipmesh; empty uses one on 127.0.0.1:9090 if it answers, else starts the mesh in this process."`
	APIKey   string   `name:"api-key" env:"CLIPMESH_API_KEY" help:"API key, when the server requires one."`
	JSON     bool     `name:"json" help:"Print each full result as JSON on stdout."`
	Out      string   `name:"out" type:"path" help:"Write each result, its transcript (SRT) and its clips (MP4, thumbnail, SRT) into this directory."`
	Language string   `default:"auto" help:"Spoken language: auto or a code such as en."`
	Advanced bool     `name:"advanced" help:"Run every analysis (faces, emotions, OCR, ...)."`
	Parallel int      `default:"2" help:"Files analysed at once."`
	DataDir  string   `name:"data-dir" env:"CLIPMESH_DATA_DIR" help:"Data directory of the in-process mesh."`
	Clips    int      `name:"clips" default:"3" help:"Clips cut from the best moments (0: none)."`
	ClipMin  float64  `name:"clip-min" default:"15" help:"Shortest clip in seconds."`
	ClipMax  float64  `name:"clip-max" default:"60" help:"Longest clip in seconds."`
	Aspect   []string `name:"aspect" default:"9:16" help:"Aspect ratios of the clips: 9:16, 1:1, 4:5, 16:9."`
	Captions string   `name:"captions" default:"word" help:"Burned-in caption style: word, block, karaoke, or none."`
	Preset   string   `name:"preset" help:"Platform preset: tiktok, instagram_reels, youtube_shorts, linkedin, x (empty: by aspect)."`
	Files    []string `arg:"" type:"existingfile" help:"Media files to analyse."`
}

func (a *analyzeCmd) Run() error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	target, shutdown, err := a.connectTarget(ctx)
	if err != nil {
		return err
	}
	defer shutdown()
	cc, err := grpc.NewClient(target, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return fmt.Errorf("connect %s: %w", target, err)
	}
	defer cc.Close()
	if a.APIKey != "" {
		ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+a.APIKey)
	}
	if a.Out != "" {
		if err := os.MkdirAll(a.Out, 0o750); err != nil {
			return fmt.Errorf("--out: %w", err)
		}
	}
	tty := term.IsTerminal(int(os.Stderr.Fd()))
	var progress *mpb.Progress
	if tty {
		progress = mpb.NewWithContext(ctx, mpb.WithOutput(os.Stderr), mpb.WithWidth(32))
	}
	videos, jobs := videosv1.NewVideoServiceClient(cc), jobsv1.NewJobServiceClient(cc)
	results := make([]*jobsv1.Job, len(a.Files))
	errs := make([]error, len(a.Files))
	sem := make(chan struct{}, max(1, a.Parallel))
	var wg sync.WaitGroup
	for i, f := range a.Files {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			results[i], errs[i] = a.one(ctx, videos, jobs, progress, f)
		}()
	}
	wg.Wait()
	if progress != nil {
		progress.Wait()
	}
	failed := 0
	for i, f := range a.Files {
		if errs[i] != nil {
			failed++
			fmt.Fprintf(os.Stderr, "%s: %v\n", f, errs[i])
			continue
		}
		if err := a.report(f, results[i]); err != nil {
			return err
		}
		if a.Out != "" {
			if err := a.export(ctx, cc, f, results[i]); err != nil {
				return err
			}
		}
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d files failed", failed, len(a.Files))
	}
	return nil
}

// connectTarget returns the server to talk to, starting the mesh in this
// process when none is given or running.
func (a *analyzeCmd) connectTarget(ctx context.Context) (string, func(), error) {
	if a.Server != "" {
		return a.Server, func() {}, nil
	}
	if answers(ctx, "127.0.0.1:9090") {
		return "127.0.0.1:9090", func() {}, nil
	}
	// The in-process mesh takes the same defaults (and CLIPMESH_* variables)
	// as `clipmesh serve`, then this command's own choices.
	var cfg mesh.Config
	parser, err := kong.New(&cfg, kong.Name("clipmesh analyze"))
	if err != nil {
		return "", nil, fmt.Errorf("in-process mesh config: %w", err)
	}
	if _, err := parser.Parse(nil); err != nil {
		return "", nil, fmt.Errorf("in-process mesh config: %w", err)
	}
	if a.DataDir != "" {
		cfg.DataDir = a.DataDir
	}
	cfg.GRPCAddr, cfg.HTTPAddr, cfg.AdminAddr = "127.0.0.1:0", "127.0.0.1:0", ""
	cfg.LogLevel, cfg.LogFormat = "warn", "text"
	cfg.Jobs.Workers = max(1, a.Parallel)
	meshCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	env, err := app.Open(meshCtx, "clipmesh", cfg.Config)
	if err != nil {
		cancel()
		return "", nil, err
	}
	done := make(chan error, 1)
	go func() { done <- mesh.Serve(meshCtx, env, cfg) }()
	target := env.GRPCAddr()
	deadline := time.Now().Add(30 * time.Second)
	for !answers(ctx, target) {
		select {
		case err := <-done:
			cancel()
			return "", nil, fmt.Errorf("in-process mesh: %w", err)
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			cancel()
			return "", nil, errors.New("in-process mesh did not become ready within 30s")
		}
	}
	return target, func() { cancel(); <-done }, nil
}

// answers reports whether a clipmesh gRPC server is serving at addr.
func answers(ctx context.Context, addr string) bool {
	cc, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return false
	}
	defer cc.Close()
	ctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
	defer cancel()
	res, err := healthpb.NewHealthClient(cc).Check(ctx, &healthpb.HealthCheckRequest{Service: "clipmesh.jobs.v1.JobService"})
	return err == nil && res.GetStatus() == healthpb.HealthCheckResponse_SERVING
}

// one uploads a file, queues its analysis and follows it to the end.
func (a *analyzeCmd) one(ctx context.Context, videos videosv1.VideoServiceClient, jobs jobsv1.JobServiceClient, progress *mpb.Progress, path string) (*jobsv1.Job, error) {
	name := filepath.Base(path)
	var stage atomic.Value
	stage.Store("uploading")
	var bar *mpb.Bar
	if progress != nil {
		bar = progress.AddBar(1000,
			mpb.PrependDecorators(decor.Name(truncate(name, 28), decor.WCSyncSpaceR),
				decor.Any(func(decor.Statistics) string { return stage.Load().(string) }, decor.WCSyncSpaceR)),
			mpb.AppendDecorators(decor.Percentage(decor.WC{W: 5})))
		defer bar.Abort(false)
	}
	say := func(s string, frac float64) {
		stage.Store(s)
		if bar != nil {
			// The bar completes only when the job does, so its last words
			// are the job's outcome.
			bar.SetCurrent(min(int64(frac*1000), 999))
		} else {
			fmt.Fprintf(os.Stderr, "%s: %3.0f%% %s\n", name, frac*100, s)
		}
	}
	say("uploading", 0)
	video, err := upload(ctx, videos, path)
	if err != nil {
		return nil, err
	}
	opts := &jobsv1.AnalyzeOptions{
		Language: a.Language, AdvancedAnalysis: a.Advanced, IncludeThumbnails: a.Out != "", IncludeTranscripts: true,
	}
	if a.Clips > 0 {
		style := a.Captions
		if style == "none" {
			style = ""
		}
		opts.Clips = &clipsv1.ClipOptions{Count: int32(a.Clips), MinSeconds: a.ClipMin, MaxSeconds: a.ClipMax,
			AspectRatios: a.Aspect, CaptionStyle: style, Preset: a.Preset}
	}
	res, err := jobs.Analyze(ctx, &jobsv1.AnalyzeRequest{VideoId: video.GetId(), Options: opts})
	if err != nil {
		return nil, fmt.Errorf("queue analysis: %w", err)
	}
	watch, err := jobs.WatchJob(ctx, &jobsv1.WatchJobRequest{JobId: res.GetJob().GetId()})
	if err != nil {
		return nil, fmt.Errorf("watch job: %w", err)
	}
	lastMsg := ""
	var job *jobsv1.Job
	for {
		m, err := watch.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("watch job: %w", err)
		}
		job = m.GetJob()
		msg := strings.ToLower(strings.TrimPrefix(job.GetState().String(), "JOB_STATE_"))
		if p := job.GetProgress(); p != nil && job.GetState() == jobsv1.JobState_JOB_STATE_RUNNING {
			msg = p.GetMessage()
		}
		if bar != nil || msg != lastMsg {
			say(msg, job.GetProgress().GetFraction())
			lastMsg = msg
		}
	}
	if job == nil {
		return nil, errors.New("the job stream ended without a job")
	}
	if job.GetState() != jobsv1.JobState_JOB_STATE_SUCCEEDED {
		return job, fmt.Errorf("job %s %s: %s", job.GetId(), strings.ToLower(strings.TrimPrefix(job.GetState().String(), "JOB_STATE_")), job.GetError())
	}
	if bar != nil {
		stage.Store("done")
		bar.SetCurrent(1000)
	}
	return job, nil
}

// upload streams a file in 1 MiB chunks.
func upload(ctx context.Context, videos videosv1.VideoServiceClient, path string) (*videosv1.Video, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	stream, err := videos.Upload(ctx)
	if err != nil {
		return nil, fmt.Errorf("upload: %w", err)
	}
	if err := stream.Send(&videosv1.UploadRequest{Data: &videosv1.UploadRequest_Metadata{Metadata: &videosv1.UploadMetadata{
		Filename: filepath.Base(path), SizeBytes: st.Size()}}}); err != nil {
		return nil, fmt.Errorf("upload: %w", err)
	}
	buf := make([]byte, 1<<20)
	for {
		n, rerr := f.Read(buf)
		if n > 0 {
			if err := stream.Send(&videosv1.UploadRequest{Data: &videosv1.UploadRequest_Chunk{Chunk: buf[:n]}}); err != nil {
				break // the server ended the stream; CloseAndRecv says why
			}
		}
		if errors.Is(rerr, io.EOF) {
			break
		}
		if rerr != nil {
			return nil, fmt.Errorf("read %s: %w", path, rerr)
		}
	}
	res, err := stream.CloseAndRecv()
	if err != nil {
		return nil, fmt.Errorf("upload: %w", err)
	}
	return res.GetVideo(), nil
}

var jsonOut = protojson.MarshalOptions{Multiline: true, Indent: "  "}

// report prints a result and writes it to --out.
func (a *analyzeCmd) report(path string, job *jobsv1.Job) error {
	raw, err := jsonOut.Marshal(job)
	if err != nil {
		return err
	}
	if a.Out != "" {
		name := strings.TrimSuffix(filepath.Base(path), filepath.Ext(path)) + "." + job.GetVideoId() + ".json"
		if err := os.WriteFile(filepath.Join(a.Out, name), append(raw, '\n'), 0o640); err != nil {
			return fmt.Errorf("--out: %w", err)
		}
	}
	if a.JSON {
		_, err := fmt.Fprintf(os.Stdout, "%s\n", raw)
		return err
	}
	v := job.GetResult().GetVideo()
	p := v.GetProbe()
	fmt.Printf("%s\n  video   %s\n  length  %.2f s, %s, %d kb/s\n", path, v.GetId(), p.GetDurationSeconds(), p.GetFormatName(), p.GetBitRate()/1000)
	if vs := p.GetVideo(); vs != nil {
		fmt.Printf("  picture %s %dx%d @ %.3g fps\n", vs.GetCodec(), vs.GetWidth(), vs.GetHeight(), vs.GetFps())
	}
	if as := p.GetAudio(); as != nil {
		fmt.Printf("  sound   %s %d Hz, %d ch\n", as.GetCodec(), as.GetSampleRate(), as.GetChannels())
	}
	if job.GetResult().GetCached() {
		fmt.Printf("  cached  the earlier analysis of the same content, options and models\n")
	}
	for _, s := range job.GetStages() {
		line := strings.ToLower(strings.TrimPrefix(s.GetState().String(), "STAGE_STATE_"))
		if s.GetReason() != "" {
			line += ": " + s.GetReason()
		}
		fmt.Printf("  %-10s %s\n", s.GetName(), line)
	}
	r := job.GetResult()
	if t := r.GetTranscript(); t != nil {
		words := 0
		for _, seg := range t.GetSegments() {
			words += len(seg.GetWords())
		}
		line := fmt.Sprintf("%d words, language %s", words, t.GetLanguage())
		if t.GetEmptyReason() != "" {
			line = "empty: " + t.GetEmptyReason()
		}
		fmt.Printf("  speech  %s (%s)\n", line, t.GetProducer().GetEngine())
	}
	if an := r.GetAnalytics(); an != nil {
		avg := 0.0
		for _, e := range an.GetEngagement() {
			avg += e / float64(len(an.GetEngagement()))
		}
		fmt.Printf("  engagement avg %.2f from %d factors\n", avg, len(an.GetFactors()))
		for i, m := range an.GetMoments() {
			if i == 3 {
				break
			}
			fmt.Printf("  moment  %6.2f–%6.2f s  score %.2f  %s\n", m.GetRange().GetStartSeconds(), m.GetRange().GetEndSeconds(), m.GetScore(), strings.Join(m.GetReasons(), ", "))
		}
	}
	for _, c := range r.GetClips() {
		fmt.Printf("  clip    %s  %6.2f–%6.2f s  %s  score %.2f  %s\n", c.GetId(), c.GetRange().GetStartSeconds(), c.GetRange().GetEndSeconds(), c.GetAspectRatio(), c.GetScore(), truncate(c.GetTitle(), 48))
	}
	return nil
}

// export writes the job's transcript and clip files into --out, named after
// the source file so several inputs can share the directory.
func (a *analyzeCmd) export(ctx context.Context, cc grpc.ClientConnInterface, path string, job *jobsv1.Job) error {
	base := filepath.Join(a.Out, strings.TrimSuffix(filepath.Base(path), filepath.Ext(path)))
	if t := job.GetResult().GetTranscript(); t != nil && t.GetEmptyReason() == "" {
		resp, err := transcribev1.NewTranscribeServiceClient(cc).GetTranscript(ctx, &transcribev1.GetTranscriptRequest{
			VideoId: job.GetVideoId(), Format: transcribev1.TranscriptFormat_TRANSCRIPT_FORMAT_SRT})
		if err != nil {
			return fmt.Errorf("transcript of %s: %w", path, err)
		}
		if err := os.WriteFile(base+".srt", []byte(resp.GetContent()), 0o640); err != nil {
			return fmt.Errorf("--out: %w", err)
		}
	}
	clips := clipsv1.NewClipsServiceClient(cc)
	for i, c := range job.GetResult().GetClips() {
		for _, kind := range []struct{ name, ext string }{{"clip", ".mp4"}, {"thumbnail", ".jpg"}, {"srt", ".srt"}} {
			name := fmt.Sprintf("%s.clip%d%s", base, i+1, kind.ext)
			if err := saveClipFile(ctx, clips, c.GetId(), kind.name, name); err != nil {
				return fmt.Errorf("clip %s %s: %w", c.GetId(), kind.name, err)
			}
		}
	}
	return nil
}

// saveClipFile streams one file of a clip into name.
func saveClipFile(ctx context.Context, clips clipsv1.ClipsServiceClient, id, kind, name string) (err error) {
	stream, err := clips.ReadClipFile(ctx, &clipsv1.ReadClipFileRequest{ClipId: id, Kind: kind})
	if err != nil {
		return err
	}
	f, err := os.Create(name)
	if err != nil {
		return fmt.Errorf("--out: %w", err)
	}
	defer func() {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}()
	for {
		m, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			if status.Code(err) == codes.NotFound {
				// A clip rendered without captions has no SRT.
				_ = os.Remove(name)
				return nil
			}
			return err
		}
		if _, err := f.Write(m.GetData()); err != nil {
			return fmt.Errorf("--out: %w", err)
		}
	}
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n-1] + "…"
}
