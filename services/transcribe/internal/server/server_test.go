package server

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	commonv1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/common/v1"
	transcribev1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/transcribe/v1"
	"github.com/clipmesh/clipmesh/platform/auth"
	"github.com/clipmesh/clipmesh/platform/blobstore"
	"github.com/clipmesh/clipmesh/platform/fixtures"
	"github.com/clipmesh/clipmesh/platform/langid"
	"github.com/clipmesh/clipmesh/platform/mediasrc"
	"github.com/clipmesh/clipmesh/platform/mediasrc/mediasrctest"
	"github.com/clipmesh/clipmesh/platform/models"
	"github.com/clipmesh/clipmesh/platform/ort"
	"github.com/clipmesh/clipmesh/platform/store/storetest"
	"github.com/clipmesh/clipmesh/services/transcribe/internal/captions"
	"github.com/clipmesh/clipmesh/services/transcribe/internal/sphinx"
	"github.com/clipmesh/clipmesh/services/transcribe/internal/store"
	"github.com/clipmesh/clipmesh/services/transcribe/internal/vad"
	"github.com/clipmesh/clipmesh/services/transcribe/internal/wer"
	"github.com/clipmesh/clipmesh/services/transcribe/internal/whisper"
)

const jfkReference = "And so, my fellow Americans, ask not what your country can do for you, ask what you can do for your country."

// withPrincipal stands in for the auth interceptor: the test's caller is
// tenant "t1" with the role in "x-test-role" metadata (editor by default).
func withPrincipal(ctx context.Context) context.Context {
	role := auth.RoleEditor
	if md, ok := metadata.FromIncomingContext(ctx); ok && len(md.Get("x-test-role")) > 0 {
		role = auth.Role(md.Get("x-test-role")[0])
	}
	return auth.WithPrincipal(ctx, auth.Principal{Tenant: "t1", Subject: "test", Role: role})
}

type wrapped struct {
	grpc.ServerStream
	ctx context.Context
}

func (w wrapped) Context() context.Context { return w.ctx }

type env struct {
	client transcribev1.TranscribeServiceClient
	videos *mediasrctest.Videos
	srv    *Server
	dir    string
}

var sharedEngine *sphinx.Engine

func engineFor(t *testing.T) *sphinx.Engine {
	t.Helper()
	if sharedEngine == nil {
		e, err := sphinx.New(sphinx.DefaultConfig())
		if err != nil {
			t.Fatal(err)
		}
		sharedEngine = e
	}
	return sharedEngine
}

// newEnv serves the transcribe service beside an in-memory VideoService on
// bufconn, with the real engine, Silero (unless noVAD) and SQLite.
func newEnv(t *testing.T, noVAD bool) *env {
	t.Helper()
	bucket, err := blobstore.Open(t.Context(), "", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = bucket.Close() })
	dir, err := models.Dir("")
	if err != nil {
		t.Fatal(err)
	}
	if noVAD {
		dir = t.TempDir() // an empty models cache
	}
	eng := engineFor(t)
	srv := &Server{
		Store:  store.New(storetest.SQLite(t)),
		Engine: eng, Forced: eng, ForcedProducer: eng.Producer(),
		VAD:    vad.New(dir, ort.Options{}),
		LangID: langid.NewWhatlang(nil),
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	videos := mediasrctest.NewVideos(bucket)
	cc := mediasrctest.Serve(t, videos, func(g grpc.ServiceRegistrar, cc *grpc.ClientConn) {
		srv.Media = &mediasrc.Resolver{Videos: videosClient(cc), Blob: bucket}
		srv.Register(g)
	},
		grpc.ChainUnaryInterceptor(func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
			return h(withPrincipal(ctx), req)
		}),
		grpc.ChainStreamInterceptor(func(s any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, h grpc.StreamHandler) error {
			return h(s, wrapped{ss, withPrincipal(ss.Context())})
		}))
	return &env{client: transcribev1.NewTranscribeServiceClient(cc), videos: videos, srv: srv, dir: t.TempDir()}
}

// jfkMedia converts the JFK sample to 44.1 kHz stereo AAC (the service
// must resample and downmix it).
func (e *env) jfkMedia(t *testing.T) string {
	t.Helper()
	dir, err := models.Dir("")
	if err != nil {
		t.Fatal(err)
	}
	wav, err := models.Path(dir, "jfk-sample")
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(e.dir, "jfk.m4a")
	if b, err := exec.Command("ffmpeg", "-nostdin", "-v", "error", "-y", "-i", wav, "-ar", "44100", "-ac", "2", "-c:a", "aac", out).CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg: %v: %s", err, b)
	}
	return out
}

// transcribe runs Transcribe to the end and returns the progress and the
// transcript.
func transcribe(ctx context.Context, c transcribev1.TranscribeServiceClient, req *transcribev1.TranscribeRequest) ([]*commonv1.Progress, *transcribev1.Transcript, error) {
	st, err := c.Transcribe(ctx, req)
	if err != nil {
		return nil, nil, err
	}
	var prog []*commonv1.Progress
	for {
		m, err := st.Recv()
		if err != nil {
			return prog, nil, err
		}
		if p := m.GetProgress(); p != nil {
			prog = append(prog, p)
		}
		if t := m.GetTranscript(); t != nil {
			if _, err := st.Recv(); !errors.Is(err, io.EOF) {
				return prog, t, errors.New("stream did not end after the transcript")
			}
			return prog, t, nil
		}
	}
}

func TestTranscribeJFK(t *testing.T) {
	if testing.Short() {
		t.Skip("long: real recognition of the fixtures")
	}
	t.Parallel()
	e := newEnv(t, false)
	v := e.videos.Add(t, "vid_jfk", e.jfkMedia(t))
	prog, tr, err := transcribe(t.Context(), e.client, &transcribev1.TranscribeRequest{VideoId: v.GetId(), Language: "auto"})
	if err != nil {
		t.Fatal(err)
	}
	if len(prog) < 2 || prog[0].GetStage() != Stage {
		t.Errorf("progress %v", prog)
	}
	for i := 1; i < len(prog); i++ {
		if prog[i].GetFraction() < prog[i-1].GetFraction() {
			t.Errorf("progress went back: %v", prog)
		}
	}
	var text []string
	for _, s := range tr.GetSegments() {
		text = append(text, s.GetText())
		for _, w := range s.GetWords() {
			if w.GetRange().GetStartSeconds() < s.GetRange().GetStartSeconds()-1e-9 || w.GetRange().GetEndSeconds() > s.GetRange().GetEndSeconds()+1e-9 || w.GetApproximate() {
				t.Errorf("word %v outside its segment %v", w, s.GetRange())
			}
		}
	}
	w := wer.Compute(jfkReference, strings.Join(text, " "))
	t.Logf("JFK through the service (AAC 44.1 kHz stereo): WER %.3f %q", w.WER(), strings.Join(text, " "))
	if w.WER() > 0.45 {
		t.Errorf("WER %.3f", w.WER())
	}
	if tr.GetProducer().GetEngine() != sphinx.Name || tr.GetProducer().GetModel() == "" || tr.GetLanguage() != "en" || tr.GetLanguageProbability() <= 0 {
		t.Errorf("producer %v language %q (%v)", tr.GetProducer(), tr.GetLanguage(), tr.GetLanguageProbability())
	}
	engines := map[string]bool{}
	for _, p := range tr.GetProducers() {
		engines[p.GetEngine()] = true
		if p.GetFallback() {
			t.Errorf("fallback producer %v", p)
		}
	}
	if !engines[vad.Engine] || !engines["langid"] {
		t.Errorf("producers %v, want silero-vad and langid", tr.GetProducers())
	}
	if tr.GetSource() != transcribev1.TranscriptSource_TRANSCRIPT_SOURCE_RECOGNIZED || tr.GetVideoId() != v.GetId() || tr.GetDurationSeconds() < 10 {
		t.Errorf("source %v video %q duration %v", tr.GetSource(), tr.GetVideoId(), tr.GetDurationSeconds())
	}

	// Stored, and rendered in every format.
	for _, f := range []transcribev1.TranscriptFormat{
		transcribev1.TranscriptFormat_TRANSCRIPT_FORMAT_JSON, transcribev1.TranscriptFormat_TRANSCRIPT_FORMAT_SRT,
		transcribev1.TranscriptFormat_TRANSCRIPT_FORMAT_VTT, transcribev1.TranscriptFormat_TRANSCRIPT_FORMAT_TEXT,
	} {
		got, err := e.client.GetTranscript(t.Context(), &transcribev1.GetTranscriptRequest{VideoId: v.GetId(), Format: f})
		if err != nil {
			t.Fatal(err)
		}
		if len(got.GetTranscript().GetSegments()) != len(tr.GetSegments()) || got.GetContentType() == "" || !strings.HasPrefix(got.GetFilename(), v.GetId()+".") {
			t.Errorf("%v: %d segments, type %q, name %q", f, len(got.GetTranscript().GetSegments()), got.GetContentType(), got.GetFilename())
		}
		c := got.GetContent()
		switch f {
		case transcribev1.TranscriptFormat_TRANSCRIPT_FORMAT_SRT, transcribev1.TranscriptFormat_TRANSCRIPT_FORMAT_VTT:
			cues, _, err := captions.Parse(c, "")
			if err != nil || len(cues) < len(tr.GetSegments()) || cues[0].Start != round3(tr.GetSegments()[0].GetRange().GetStartSeconds()) {
				t.Errorf("%v: %d cues, err %v:\n%s", f, len(cues), err, c)
			}
		case transcribev1.TranscriptFormat_TRANSCRIPT_FORMAT_TEXT:
			if strings.Join(strings.Fields(c), " ") != strings.Join(text, " ") {
				t.Errorf("text %q", c)
			}
		default:
			if !strings.Contains(c, `"segments"`) || !strings.Contains(c, `"pocketsphinx"`) {
				t.Errorf("json %s", c)
			}
		}
	}
}

func round3(x float64) float64 { return float64(int64(x*1000+0.5)) / 1000 }

func TestTranscribeEmptyAndErrors(t *testing.T) {
	t.Parallel()
	e := newEnv(t, false)
	noAudio := e.videos.Add(t, "vid_noaudio", fixtures.MustPath(t, fixtures.NoAudio))
	silent := filepath.Join(e.dir, "silence.wav")
	if b, err := exec.Command("ffmpeg", "-nostdin", "-v", "error", "-f", "lavfi", "-i", "anullsrc=r=48000:cl=stereo", "-t", "3", silent).CombinedOutput(); err != nil {
		t.Fatalf("%v: %s", err, b)
	}
	quiet := e.videos.Add(t, "vid_silent", silent)
	garbage := e.videos.Add(t, "vid_garbage", fixtures.MustPath(t, fixtures.Garbage))
	speech := e.videos.Add(t, "vid_speech", fixtures.MustPath(t, fixtures.SpeechWAV))

	for _, tt := range []struct{ id, reason string }{{noAudio.GetId(), "no audio stream"}, {quiet.GetId(), "no speech"}} {
		_, tr, err := transcribe(t.Context(), e.client, &transcribev1.TranscribeRequest{VideoId: tt.id})
		if err != nil {
			t.Fatalf("%s: %v", tt.id, err)
		}
		if len(tr.GetSegments()) != 0 || !strings.Contains(tr.GetEmptyReason(), tt.reason) || tr.GetProducer().GetEngine() != sphinx.Name {
			t.Errorf("%s: %v, want empty with reason %q", tt.id, tr, tt.reason)
		}
	}

	other := mediasrc.DerivedKey(strings.Repeat("a", 64), "audio-16k.wav")
	viewer := metadata.AppendToOutgoingContext(t.Context(), "x-test-role", "viewer")
	for _, tt := range []struct {
		name string
		ctx  context.Context
		req  *transcribev1.TranscribeRequest
		code codes.Code
		msg  string
	}{
		{"french", t.Context(), &transcribev1.TranscribeRequest{VideoId: speech.GetId(), Language: "fr"}, codes.FailedPrecondition, "pocketsphinx (supports: en)"},
		{"unknown video", t.Context(), &transcribev1.TranscribeRequest{VideoId: "vid_other_tenant"}, codes.NotFound, ""},
		{"no video", t.Context(), &transcribev1.TranscribeRequest{}, codes.InvalidArgument, "video_id"},
		{"foreign track", t.Context(), &transcribev1.TranscribeRequest{VideoId: speech.GetId(), AudioTrack: &commonv1.Artifact{Key: other}}, codes.NotFound, ""},
		{"garbage", t.Context(), &transcribev1.TranscribeRequest{VideoId: garbage.GetId()}, codes.InvalidArgument, "invalid media"},
		{"viewer", viewer, &transcribev1.TranscribeRequest{VideoId: speech.GetId()}, codes.PermissionDenied, ""},
	} {
		_, _, err := transcribe(tt.ctx, e.client, tt.req)
		if status.Code(err) != tt.code || !strings.Contains(status.Convert(err).Message(), tt.msg) {
			t.Errorf("%s: %v, want %v containing %q", tt.name, err, tt.code, tt.msg)
		}
	}
	if _, err := e.client.GetTranscript(t.Context(), &transcribev1.GetTranscriptRequest{VideoId: speech.GetId()}); status.Code(err) != codes.NotFound {
		t.Errorf("GetTranscript before any transcript: %v", err)
	}
}

// TestTranscribeTrackAndFallback: the extracted track of the video is
// used when given; without Silero the energy pauses chunk the audio and the
// result says so.
func TestTranscribeTrackAndFallback(t *testing.T) {
	if testing.Short() {
		t.Skip("long: real recognition of the fixtures")
	}
	t.Parallel()
	e := newEnv(t, true)
	v := e.videos.Add(t, "vid_jfk", fixtures.MustPath(t, fixtures.NoAudio)) // the original has no audio…
	track := mediasrc.DerivedKey(v.GetSha256(), "audio-16k.wav")            // …the track is the JFK speech
	dir, _ := models.Dir("")
	wav, err := models.Path(dir, "jfk-sample")
	if err != nil {
		t.Fatal(err)
	}
	b, err := exec.Command("cat", wav).Output()
	if err != nil {
		t.Fatal(err)
	}
	if err := e.videos.Bucket.WriteAll(t.Context(), track, b, nil); err != nil {
		t.Fatal(err)
	}
	_, tr, err := transcribe(t.Context(), e.client, &transcribev1.TranscribeRequest{VideoId: v.GetId(), AudioTrack: &commonv1.Artifact{Key: track}, Language: "en"})
	if err != nil {
		t.Fatal(err)
	}
	if len(tr.GetSegments()) == 0 || tr.GetLanguage() != "en" {
		t.Fatalf("transcript %v", tr)
	}
	var fb *commonv1.Producer
	for _, p := range tr.GetProducers() {
		if p.GetFallback() {
			fb = p
		}
	}
	if fb == nil || fb.GetEngine() != "energy-pauses" || !strings.Contains(fb.GetNote(), "silero-vad-v5") || !strings.Contains(tr.GetProducer().GetNote(), "energy pauses") {
		t.Errorf("producers %v / %v, want the energy fallback named", tr.GetProducer(), tr.GetProducers())
	}
}

// TestUpload: JFK subtitles that are 0.6 s late are stored with words
// force-aligned to the speech; Transcribe then answers with them, unless
// asked to recognize.
func TestUpload(t *testing.T) {
	if testing.Short() {
		t.Skip("long: real recognition of the fixtures")
	}
	t.Parallel()
	e := newEnv(t, false)
	v := e.videos.Add(t, "vid_jfk", e.jfkMedia(t))
	srt := "1\n00:00:00,900 --> 00:00:03,200\nAnd so, my fellow Americans,\n\n2\n00:00:03,200 --> 00:00:08,000\nask not what your country can do for you,\n\n3\n00:00:08,000 --> 00:00:11,000\n<i>ask what you can do for your country.</i>\n"
	st, err := e.client.UploadTranscript(t.Context(), &transcribev1.UploadTranscriptRequest{VideoId: v.GetId(), Content: srt})
	if err != nil {
		t.Fatal(err)
	}
	var tr *transcribev1.Transcript
	for {
		m, err := st.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if m.GetTranscript() != nil {
			tr = m.GetTranscript()
		}
	}
	if tr == nil || len(tr.GetSegments()) != 3 || tr.GetSource() != transcribev1.TranscriptSource_TRANSCRIPT_SOURCE_UPLOADED || tr.GetLanguage() != "en" {
		t.Fatalf("uploaded %v", tr)
	}
	if tr.GetSegments()[2].GetText() != "ask what you can do for your country." {
		t.Errorf("markup kept: %q", tr.GetSegments()[2].GetText())
	}
	// The recognizer puts the last "country" at 9.97–10.5 s; the cue says
	// 8–11 s. Aligned words are not approximate and follow the speech.
	last := tr.GetSegments()[2].GetWords()
	c := last[len(last)-1]
	if c.GetApproximate() || c.GetRange().GetStartSeconds() < 9.6 || c.GetRange().GetEndSeconds() > 10.9 {
		t.Errorf("last word %v, want force-aligned near 10 s", c)
	}
	_, got, err := transcribe(t.Context(), e.client, &transcribev1.TranscribeRequest{VideoId: v.GetId()})
	if err != nil || got.GetSource() != transcribev1.TranscriptSource_TRANSCRIPT_SOURCE_UPLOADED {
		t.Errorf("Transcribe after upload: %v %v", got.GetSource(), err)
	}
	_, got, err = transcribe(t.Context(), e.client, &transcribev1.TranscribeRequest{VideoId: v.GetId(), IgnoreUploaded: true})
	if err != nil || got.GetSource() != transcribev1.TranscriptSource_TRANSCRIPT_SOURCE_RECOGNIZED {
		t.Errorf("Transcribe ignoring the upload: %v %v", got.GetSource(), err)
	}
	// GetTranscript prefers the upload; the recognized one is there too.
	for src, want := range map[transcribev1.TranscriptSource]transcribev1.TranscriptSource{
		transcribev1.TranscriptSource_TRANSCRIPT_SOURCE_UNSPECIFIED: transcribev1.TranscriptSource_TRANSCRIPT_SOURCE_UPLOADED,
		transcribev1.TranscriptSource_TRANSCRIPT_SOURCE_RECOGNIZED:  transcribev1.TranscriptSource_TRANSCRIPT_SOURCE_RECOGNIZED,
	} {
		g, err := e.client.GetTranscript(t.Context(), &transcribev1.GetTranscriptRequest{VideoId: v.GetId(), Source: src})
		if err != nil || g.GetTranscript().GetSource() != want {
			t.Errorf("source %v: %v, %v", src, g.GetTranscript().GetSource(), err)
		}
	}
	// Bad uploads.
	viewer := metadata.AppendToOutgoingContext(t.Context(), "x-test-role", "viewer")
	for _, tt := range []struct {
		name string
		ctx  context.Context
		req  *transcribev1.UploadTranscriptRequest
		code codes.Code
	}{
		{"not subtitles", t.Context(), &transcribev1.UploadTranscriptRequest{VideoId: v.GetId(), Content: "hello"}, codes.InvalidArgument},
		{"too big", t.Context(), &transcribev1.UploadTranscriptRequest{VideoId: v.GetId(), Content: strings.Repeat("x", MaxUploadBytes+1)}, codes.InvalidArgument},
		{"viewer", viewer, &transcribev1.UploadTranscriptRequest{VideoId: v.GetId(), Content: srt}, codes.PermissionDenied},
		{"unknown video", t.Context(), &transcribev1.UploadTranscriptRequest{VideoId: "vid_nope", Content: srt}, codes.NotFound},
	} {
		st, err := e.client.UploadTranscript(tt.ctx, tt.req, grpc.MaxCallSendMsgSize(8<<20))
		if err == nil {
			for err == nil {
				_, err = st.Recv()
			}
		}
		if status.Code(err) != tt.code {
			t.Errorf("%s: %v, want %v", tt.name, err, tt.code)
		}
	}
}

// TestEngineUnavailable: a broken Whisper folder (or a missing
// PocketSphinx model) makes Transcribe FailedPrecondition naming the file,
// and readiness fail; nothing falls back silently.
func TestEngineUnavailable(t *testing.T) {
	t.Parallel()
	e := newEnv(t, false)
	_, werr := whisper.Open(t.TempDir())
	e.srv.Engine, e.srv.EngineErr = nil, werr
	v := e.videos.Add(t, "vid_speech", fixtures.MustPath(t, fixtures.SpeechWAV))
	_, _, err := transcribe(t.Context(), e.client, &transcribev1.TranscribeRequest{VideoId: v.GetId()})
	if status.Code(err) != codes.FailedPrecondition || !strings.Contains(status.Convert(err).Message(), whisper.EncoderFile) {
		t.Errorf("err %v, want FailedPrecondition naming %s", err, whisper.EncoderFile)
	}
	if err := e.srv.Ready(t.Context()); err == nil || !strings.Contains(err.Error(), whisper.EncoderFile) {
		t.Errorf("ready: %v", err)
	}
}
