package server

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"gocloud.dev/blob"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	audiov1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/audio/v1"
	commonv1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/common/v1"
	videosv1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/videos/v1"
	"github.com/clipmesh/clipmesh/platform/blobstore"
	"github.com/clipmesh/clipmesh/platform/fixtures"
	"github.com/clipmesh/clipmesh/platform/mediasrc"
	"github.com/clipmesh/clipmesh/platform/mediasrc/mediasrctest"
	"github.com/clipmesh/clipmesh/platform/models"
	"github.com/clipmesh/clipmesh/platform/ort"
	"github.com/clipmesh/clipmesh/platform/ort/orttest"
	"github.com/clipmesh/clipmesh/services/audio/internal/voice"
)

type testEnv struct {
	client audiov1.AudioServiceClient
	srv    *Server
	videos *mediasrctest.Videos
	bucket *blob.Bucket
	// returned receives each AnalyzeAudio handler's error when it returns.
	returned chan error
}

// newTestClient serves an AudioService and a fake VideoService on bufconn.
// files maps video ids to local files, uploaded into bucket under
// "videos/<sha256>"; the engine is given or the real models cache's.
func newTestClient(t *testing.T, bucket *blob.Bucket, files map[string]string, engine *voice.Engine) *testEnv {
	t.Helper()
	videos := mediasrctest.NewVideos(bucket)
	for id, path := range files {
		videos.Add(t, id, path)
	}
	if engine == nil {
		dir, err := models.Dir("")
		if err != nil {
			t.Fatal(err)
		}
		engine = voice.NewEngine(dir, ort.Options{IntraOpThreads: 1})
	}
	env := &testEnv{returned: make(chan error, 16), videos: videos, bucket: bucket}
	intercept := grpc.StreamInterceptor(func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) error {
		err := h(srv, ss)
		if info.FullMethod == audiov1.AudioService_AnalyzeAudio_FullMethodName {
			env.returned <- err
		}
		return err
	})
	cc := mediasrctest.Serve(t, videos, func(g grpc.ServiceRegistrar, cc *grpc.ClientConn) {
		env.srv = &Server{
			Media: &mediasrc.Resolver{Videos: videosv1.NewVideoServiceClient(cc), Blob: bucket, TmpDir: t.TempDir()},
			Voice: engine, Version: "test", Logger: slog.New(slog.DiscardHandler),
		}
		env.srv.Register(g)
	}, intercept)
	env.client = audiov1.NewAudioServiceClient(cc)
	return env
}

func openBucket(t *testing.T, url string) *blob.Bucket {
	t.Helper()
	b, err := blobstore.Open(t.Context(), url, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	return b
}

// runAnalyze runs AnalyzeAudio to its end, returning the progress and the
// result.
func runAnalyze(ctx context.Context, c audiov1.AudioServiceClient, req *audiov1.AnalyzeAudioRequest) ([]*commonv1.Progress, *audiov1.AudioResult, error) {
	st, err := c.AnalyzeAudio(ctx, req)
	if err != nil {
		return nil, nil, err
	}
	var progress []*commonv1.Progress
	var res *audiov1.AudioResult
	for {
		m, err := st.Recv()
		if errors.Is(err, io.EOF) {
			return progress, res, nil
		}
		if err != nil {
			return progress, res, err
		}
		if p := m.GetProgress(); p != nil {
			progress = append(progress, p)
		}
		if r := m.GetResult(); r != nil {
			res = r
		}
	}
}

func TestAnalyzeAudio(t *testing.T) {
	t.Parallel()
	orttest.Init(t)
	orttest.Model(t, voice.ModelName)
	files := map[string]string{}
	for _, name := range []string{fixtures.SpeechMP4, fixtures.Tone440, fixtures.NoAudio, fixtures.Garbage, fixtures.Still} {
		files[strings.TrimSuffix(name, filepath.Ext(name))] = fixtures.MustPath(t, name)
	}
	for _, url := range []string{"", "mem://"} {
		env := newTestClient(t, openBucket(t, url), files, nil)
		bucketName := map[string]string{"": "local folder", "mem://": "memory"}[url]
		tests := []struct {
			name, video string
			code        codes.Code
			check       func(t *testing.T, progress []*commonv1.Progress, r *audiov1.AudioResult)
		}{
			{"speech", "speech", codes.OK, checkSpeech},
			{"tone", "tone440", codes.OK, func(t *testing.T, _ []*commonv1.Progress, r *audiov1.AudioResult) {
				if got := r.GetSummary().GetDominantFrequencyMedianHz(); math.Abs(got-fixtures.ToneHz) > 5 {
					t.Errorf("dominant frequency median %.2f Hz, want %v ± 5", got, fixtures.ToneHz)
				}
				if len(r.GetSpeechSegments()) != 0 {
					t.Errorf("speech in a pure tone: %v", r.GetSpeechSegments())
				}
				if ev := r.GetEvents(); len(ev) == 0 || ev[0].GetKind() != audiov1.AudioEventKind_AUDIO_EVENT_KIND_MUSIC {
					t.Errorf("a tone should be one tonal (music) segment, events %v", ev)
				}
			}},
			{"no audio", "no_audio", codes.OK, func(t *testing.T, _ []*commonv1.Progress, r *audiov1.AudioResult) {
				if r.GetHasAudio() || r.GetProducer().GetEngine() != Engine {
					t.Errorf("has_audio %v, producer %v", r.GetHasAudio(), r.GetProducer())
				}
			}},
			{"silence", "still", codes.OK, func(t *testing.T, _ []*commonv1.Progress, r *audiov1.AudioResult) {
				ev := r.GetEvents()
				if !r.GetHasAudio() || len(r.GetSpeechSegments()) != 0 || len(ev) != 1 ||
					ev[0].GetKind() != audiov1.AudioEventKind_AUDIO_EVENT_KIND_SILENCE ||
					math.Abs(ev[0].GetDurationSeconds()-fixtures.StillSeconds) > 0.1 {
					t.Errorf("silence: segments %v, events %v", r.GetSpeechSegments(), ev)
				}
			}},
			{"garbage", "garbage", codes.InvalidArgument, nil},
			{"unknown video", "vid_unknown", codes.NotFound, nil},
		}
		for _, tt := range tests {
			t.Run(bucketName+"/"+tt.name, func(t *testing.T) {
				t.Parallel()
				progress, r, err := runAnalyze(t.Context(), env.client, &audiov1.AnalyzeAudioRequest{VideoId: tt.video})
				if got := status.Code(err); got != tt.code {
					t.Fatalf("code %v (%v), want %v", got, err, tt.code)
				}
				if tt.code == codes.InvalidArgument && !strings.Contains(status.Convert(err).Message(), "invalid media:") {
					t.Errorf("message %q lacks ffmpeg's reason", status.Convert(err).Message())
				}
				if tt.check == nil {
					return
				}
				if r == nil {
					t.Fatal("no result")
				}
				tt.check(t, progress, r)
			})
		}
	}
}

func checkSpeech(t *testing.T, progress []*commonv1.Progress, r *audiov1.AudioResult) {
	t.Helper()
	if len(progress) < 2 || progress[0].GetFraction() != 0 {
		t.Errorf("progress %v", progress)
	}
	for i := 1; i < len(progress); i++ {
		if f := progress[i].GetFraction(); f < progress[i-1].GetFraction() || f > 1 || progress[i].GetStage() != Stage {
			t.Errorf("progress %d: %v after %v", i, progress[i], progress[i-1])
		}
	}
	if vp := r.GetVoiceProducer(); vp.GetEngine() != "silero-vad" || vp.GetFallback() || r.GetProducer().GetFallback() {
		t.Errorf("voice producer %v, producer %v", vp, r.GetProducer())
	}
	segs := r.GetSpeechSegments()
	if len(segs) != len(fixtures.SpeechSegments) {
		t.Fatalf("%d segments %v, want %v", len(segs), segs, fixtures.SpeechSegments)
	}
	var truth float64
	for i, w := range fixtures.SpeechSegments {
		truth += w[1] - w[0]
		if math.Abs(segs[i].GetStartSeconds()-w[0]) > 0.1 || math.Abs(segs[i].GetEndSeconds()-w[1]) > 0.1 {
			t.Errorf("segment %d = [%.3f, %.3f], want %.3f within 100 ms", i, segs[i].GetStartSeconds(), segs[i].GetEndSeconds(), w)
		}
	}
	want := truth / fixtures.SpeechSeconds
	if got := r.GetSummary().GetVocalActivityRatio(); math.Abs(got-want) > 0.05 {
		t.Errorf("vocal activity ratio %.3f, want %.3f ± 0.05", got, want)
	}
	if n := len(r.GetSeries()); math.Abs(float64(n)-fixtures.SpeechSeconds) > 1 {
		t.Errorf("%d series points for %.1f s", n, fixtures.SpeechSeconds)
	}
	var speechSeconds int
	for _, e := range r.GetEvents() {
		if e.GetKind() == audiov1.AudioEventKind_AUDIO_EVENT_KIND_SPEECH {
			speechSeconds += int(math.Round(e.GetDurationSeconds()))
		}
	}
	if math.Abs(float64(speechSeconds)-truth) > 3 {
		t.Errorf("%d s of speech events, truth %.1f s", speechSeconds, truth)
	}
	if s := r.GetSummary(); s.GetPitchMedianHz() < 60 || s.GetIntegratedLufs() > -5 || s.GetIntegratedLufs() < -60 {
		t.Errorf("summary %v", s)
	}
	if m := r.GetMel(); len(m.GetRows()) == 0 || len(m.GetRows()[0].GetDb()) != len(m.GetBandHz()) {
		t.Errorf("mel %d rows, %d bands", len(m.GetRows()), len(m.GetBandHz()))
	}
}

// TestMissingModel runs with an empty models cache: the service falls back
// to the energy detector, says so in the result, and is not ready.
func TestMissingModel(t *testing.T) {
	t.Setenv(models.EnvDir, t.TempDir())
	dir, err := models.Dir("")
	if err != nil {
		t.Fatal(err)
	}
	env := newTestClient(t, openBucket(t, "mem://"), map[string]string{"speech": fixtures.MustPath(t, fixtures.SpeechWAV)},
		voice.NewEngine(dir, ort.Options{}))
	err = env.srv.Ready(t.Context())
	if err == nil || !strings.Contains(err.Error(), "clipmesh models fetch") {
		t.Errorf("Ready = %v, want an error naming clipmesh models fetch", err)
	}
	_, r, err := runAnalyze(t.Context(), env.client, &audiov1.AnalyzeAudioRequest{VideoId: "speech"})
	if err != nil {
		t.Fatal(err)
	}
	want := &commonv1.Producer{Engine: "energy-vad", Fallback: true, Note: "silero-vad-v5 not installed: run clipmesh models fetch"}
	if vp := r.GetVoiceProducer(); vp.GetEngine() != want.Engine || !vp.GetFallback() || vp.GetNote() != want.Note {
		t.Errorf("voice producer %v, want %v", vp, want)
	}
	if p := r.GetProducer(); !p.GetFallback() || p.GetNote() != want.Note {
		t.Errorf("producer %v does not flag the fallback", p)
	}
	segs := r.GetSpeechSegments()
	if len(segs) != len(fixtures.SpeechSegments) {
		t.Fatalf("energy fallback: %d segments %v, want %v", len(segs), segs, fixtures.SpeechSegments)
	}
	for i, w := range fixtures.SpeechSegments {
		if math.Abs(segs[i].GetStartSeconds()-w[0]) > 0.3 || math.Abs(segs[i].GetEndSeconds()-w[1]) > 0.3 {
			t.Errorf("segment %d = [%.3f, %.3f], want %.3f within 300 ms", i, segs[i].GetStartSeconds(), segs[i].GetEndSeconds(), w)
		}
	}
}

func TestAnalyzeAudioRequest(t *testing.T) {
	t.Parallel()
	env := newTestClient(t, openBucket(t, "mem://"), nil, nil)
	for _, tt := range []struct {
		name string
		req  *audiov1.AnalyzeAudioRequest
		code codes.Code
	}{
		{"empty", &audiov1.AnalyzeAudioRequest{}, codes.InvalidArgument},
		// A track alone cannot be checked against the caller's tenant.
		{"track without video", &audiov1.AnalyzeAudioRequest{AudioTrack: &commonv1.Artifact{Key: "audio/none"}}, codes.InvalidArgument},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, _, err := runAnalyze(t.Context(), env.client, tt.req)
			if got := status.Code(err); got != tt.code {
				t.Errorf("code %v (%v), want %v", got, err, tt.code)
			}
		})
	}
}

func TestAnalyzeAudioCancel(t *testing.T) {
	t.Parallel()
	long := filepath.Join(t.TempDir(), "long.wav")
	if out, err := exec.Command("ffmpeg", "-nostdin", "-v", "error", "-f", "lavfi", "-i",
		"sine=frequency=300:sample_rate=8000:duration=600", long).CombinedOutput(); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	env := newTestClient(t, openBucket(t, ""), map[string]string{"long": long}, nil)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	st, err := env.client.AnalyzeAudio(ctx, &audiov1.AnalyzeAudioRequest{VideoId: "long"})
	if err != nil {
		t.Fatal(err)
	}
	for {
		m, err := st.Recv()
		if err != nil {
			t.Fatalf("stream ended before any progress: %v", err)
		}
		if m.GetProgress().GetFraction() > 0 {
			break
		}
	}
	cancel()
	cancelled := time.Now()
	select {
	case err := <-env.returned:
		t.Logf("handler returned %v after the cancel", time.Since(cancelled))
		if c := status.Code(err); c != codes.Canceled {
			t.Errorf("handler error %v, want Canceled", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("AnalyzeAudio still running 5 s after the cancel")
	}
}

// TestAudioTrackAndChannels analyses a video with stereo sound twice: from
// the video itself (loudness per channel, as ffmpeg's ebur128 reads the
// same file) and from its extracted 16 kHz mono track passed by reference
// (the same speech, loudness flagged as measured on a downmix). A track
// derived from another video is not found.
func TestAudioTrackAndChannels(t *testing.T) {
	t.Parallel()
	orttest.Init(t)
	orttest.Model(t, voice.ModelName)
	dir := t.TempDir()
	speech := fixtures.MustPath(t, fixtures.SpeechWAV)
	stereo := filepath.Join(dir, "stereo.mp4")
	// Speech on the left, the same speech 6 dB down on the right, over a
	// still picture: a video file whose channels differ.
	ffmpegRun(t, "-f", "lavfi", "-i", "color=c=gray:s=160x120:r=10", "-i", speech,
		"-filter_complex", "[1:a]asplit[l][r];[r]volume=-6dB[rq];[l][rq]join=inputs=2:channel_layout=stereo[a]",
		"-map", "0:v", "-map", "[a]", "-shortest", "-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "192k", stereo)
	track := filepath.Join(dir, "track.wav")
	ffmpegRun(t, "-i", stereo, "-vn", "-ac", "1", "-ar", "16000", "-c:a", "pcm_s16le", track)

	bucket := openBucket(t, "mem://")
	env := newTestClient(t, bucket, map[string]string{"stereo": stereo, "other": fixtures.MustPath(t, fixtures.Tone440)}, nil)
	v, err := env.srv.Media.Videos.GetVideo(t.Context(), &videosv1.GetVideoRequest{VideoId: "stereo"})
	if err != nil {
		t.Fatal(err)
	}
	video := v.GetVideo()
	video.Probe = &videosv1.Probe{HasAudio: true, Audio: &videosv1.AudioStream{Channels: 2, SampleRate: 16000}}
	env.videos.Put(video)
	trackKey := mediasrc.DerivedKey(video.GetSha256(), "audio-16k.wav")
	data, err := os.ReadFile(track)
	if err != nil {
		t.Fatal(err)
	}
	if err := bucket.WriteAll(t.Context(), trackKey, data, nil); err != nil {
		t.Fatal(err)
	}

	want := ffmpegEBUR128(t, stereo)
	_, full, err := runAnalyze(t.Context(), env.client, &audiov1.AnalyzeAudioRequest{VideoId: "stereo"})
	if err != nil {
		t.Fatal(err)
	}
	if got := full.GetSummary().GetIntegratedLufs(); math.Abs(got-want) > 0.5 {
		t.Errorf("stereo video: integrated %.2f LUFS, ffmpeg ebur128 %.2f: want within 0.5 LU", got, want)
	}
	if n := full.GetProducers()[2].GetNote(); !strings.Contains(n, "per channel (stereo)") {
		t.Errorf("loudness producer note %q", n)
	}

	artifact := &commonv1.Artifact{Key: trackKey, Kind: "audio/pcm16k"}
	_, fromTrack, err := runAnalyze(t.Context(), env.client, &audiov1.AnalyzeAudioRequest{VideoId: "stereo", AudioTrack: artifact})
	if err != nil {
		t.Fatal(err)
	}
	if n := fromTrack.GetProducers()[0].GetNote(); !strings.Contains(n, trackKey) {
		t.Errorf("decode producer note %q does not name the track", n)
	}
	if n := fromTrack.GetProducers()[2].GetNote(); !strings.Contains(n, "2-channel source") {
		t.Errorf("loudness of a mono track of a stereo source not flagged: %q", n)
	}
	if d := fromTrack.GetSummary().GetIntegratedLufs() - want; d > -1 || d < -5 {
		t.Errorf("track loudness %.2f vs stereo %.2f: a downmix should read 1-5 LU lower", fromTrack.GetSummary().GetIntegratedLufs(), want)
	}
	a, b := full.GetSpeechSegments(), fromTrack.GetSpeechSegments()
	if len(a) != len(fixtures.SpeechSegments) || len(b) != len(a) {
		t.Fatalf("speech segments: video %v, track %v, truth %v", a, b, fixtures.SpeechSegments)
	}
	for i := range a {
		if math.Abs(a[i].GetStartSeconds()-b[i].GetStartSeconds()) > 0.1 || math.Abs(a[i].GetEndSeconds()-b[i].GetEndSeconds()) > 0.1 {
			t.Errorf("segment %d: video %v, track %v", i, a[i], b[i])
		}
	}

	// The track is the stereo video's: asking for it under another video
	// (as another tenant would have to) is not found, and it is not read.
	_, _, err = runAnalyze(t.Context(), env.client, &audiov1.AnalyzeAudioRequest{VideoId: "other", AudioTrack: artifact})
	if status.Code(err) != codes.NotFound {
		t.Errorf("track of another video: %v, want NotFound", err)
	}
}

func ffmpegRun(t *testing.T, args ...string) {
	t.Helper()
	out, err := exec.CommandContext(t.Context(), "ffmpeg", append([]string{"-nostdin", "-v", "error", "-y"}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("ffmpeg %v: %v\n%s", args, err, out)
	}
}

var ebur128I = regexp.MustCompile(`(?s)Summary:\s+Integrated loudness:\s+I:\s+(-?[0-9.]+) LUFS`)

// ffmpegEBUR128 is ffmpeg's own integrated loudness of path's audio.
func ffmpegEBUR128(t *testing.T, path string) float64 {
	t.Helper()
	out, err := exec.CommandContext(t.Context(), "ffmpeg", "-nostats", "-nostdin", "-i", path, "-map", "0:a:0", "-filter:a", "ebur128", "-f", "null", "-").CombinedOutput()
	if err != nil {
		t.Fatalf("ffmpeg ebur128: %v\n%s", err, out)
	}
	all := ebur128I.FindAllSubmatch(out, -1)
	if all == nil {
		t.Fatalf("no integrated loudness in:\n%s", out)
	}
	v, err := strconv.ParseFloat(string(all[len(all)-1][1]), 64)
	if err != nil {
		t.Fatal(err)
	}
	return v
}
