//go:build unix

package e2e

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	analyticsv1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/analytics/v1"
	audiov1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/audio/v1"
	jobsv1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/jobs/v1"
	nlpv1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/nlp/v1"
	transcribev1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/transcribe/v1"
	videosv1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/videos/v1"
	visionv1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/vision/v1"
	"github.com/clipmesh/clipmesh/platform/fixtures"
	"github.com/clipmesh/clipmesh/platform/models"
)

// ffprobeFigures returns what ffprobe itself says of a file: the container
// duration and the video stream's average frame rate.
func ffprobeFigures(t *testing.T, path string) (duration, fps float64) {
	t.Helper()
	out, err := exec.CommandContext(t.Context(), "ffprobe", "-v", "error", "-select_streams", "v:0",
		"-show_entries", "format=duration:stream=avg_frame_rate", "-of", "default=noprint_wrappers=1", path).Output()
	if err != nil {
		t.Fatalf("ffprobe %s: %v", path, err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		k, v, _ := strings.Cut(line, "=")
		switch k {
		case "duration":
			duration, _ = strconv.ParseFloat(v, 64)
		case "avg_frame_rate":
			num, den, _ := strings.Cut(v, "/")
			n, _ := strconv.ParseFloat(num, 64)
			d, _ := strconv.ParseFloat(den, 64)
			if d > 0 {
				fps = n / d
			}
		}
	}
	if duration <= 0 || fps <= 0 {
		t.Fatalf("ffprobe %s: duration %v, fps %v from %q", path, duration, fps, out)
	}
	return duration, fps
}

// TestAnalytics runs the real vision and audio services (and transcribe
// and nlp, when the build serves them) of one `clipmesh serve` on
// engagement.mp4 (a still, silent frame around a loud, talking, moving
// middle), fuses their results, and reads the detailed analytics back over
// REST.
func TestAnalytics(t *testing.T) {
	needBinary(t)
	t.Parallel()
	path := fixtures.MustPath(t, fixtures.Engagement)
	wantDuration, wantFPS := ffprobeFigures(t, path)
	s := startServe(t, t.TempDir(), serveOptions{})
	cc := dial(t, s.GRPC)
	analytics := analyticsv1.NewAnalyticsServiceClient(cc)

	code, _, body := upload(t, s.URL, "", path)
	if code != http.StatusCreated {
		t.Fatalf("POST /v1/videos: status %d; body: %s", code, body)
	}
	var up videosv1.UploadResponse
	decode(t, "POST /v1/videos", body, &up)
	id := up.GetVideo().GetId()
	detailedURL := s.URL + "/v1/analytics/detailed?video_id=" + id

	// Before any analysis: the video exists, its analytics do not.
	code, body = call(t, http.MethodGet, detailedURL, "", nil)
	if e := wantError(t, "GET detailed before analysis", body); code != http.StatusBadRequest || !strings.Contains(e.Message, "not been analysed") {
		t.Errorf("GET detailed before analysis: %d %s, want 400 FailedPrecondition naming the missing analysis", code, body)
	}
	code, body = call(t, http.MethodGet, s.URL+"/v1/analytics/detailed?video_id=vid_00000000000000000000000000000000", "", nil)
	if wantError(t, "GET detailed of an unknown video", body); code != http.StatusNotFound {
		t.Errorf("GET detailed of an unknown video: %d %s, want 404", code, body)
	}

	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	vision := lastResult(t, "vision", func() (func() (*visionv1.VisionResult, error), error) {
		st, err := visionv1.NewVisionServiceClient(cc).AnalyzeVideo(ctx, &visionv1.AnalyzeVideoRequest{VideoId: id})
		return func() (*visionv1.VisionResult, error) {
			m, err := st.Recv()
			return m.GetResult(), err
		}, err
	})
	audio := lastResult(t, "audio", func() (func() (*audiov1.AudioResult, error), error) {
		st, err := audiov1.NewAudioServiceClient(cc).AnalyzeAudio(ctx, &audiov1.AnalyzeAudioRequest{VideoId: id})
		return func() (*audiov1.AudioResult, error) {
			m, err := st.Recv()
			return m.GetResult(), err
		}, err
	})

	// Speech recognition and text analysis, when this build serves them
	// (each lands with its own issue): the fusion uses what it is given.
	var transcript *transcribev1.Transcript
	var text *nlpv1.AnalyzeTextResponse
	if st, err := transcribev1.NewTranscribeServiceClient(cc).Transcribe(ctx, &transcribev1.TranscribeRequest{VideoId: id, Language: "en"}); err == nil {
		for {
			m, err := st.Recv()
			if err != nil {
				if !errors.Is(err, io.EOF) {
					t.Logf("transcribe not used: %v", err)
					transcript = nil
				}
				break
			}
			if m.GetTranscript() != nil {
				transcript = m.GetTranscript()
			}
		}
	}
	if segs := transcript.GetSegments(); len(segs) > 0 {
		req := &nlpv1.AnalyzeTextRequest{Language: transcript.GetLanguage()}
		for _, s := range segs {
			req.Segments = append(req.Segments, &nlpv1.TextSegment{Range: s.GetRange(), Text: s.GetText()})
		}
		res, err := nlpv1.NewNlpServiceClient(cc).AnalyzeText(ctx, req)
		if err != nil {
			t.Logf("nlp not used: %v", err)
		} else {
			text = res
		}
	}
	t.Logf("transcript: %d segments; text analysis: %v", len(transcript.GetSegments()), text != nil)

	// Missing modalities: audio alone still gives a timeline naming its
	// factors, and the visual ones as missing.
	onlyAudio, err := analytics.Fuse(ctx, &analyticsv1.FuseRequest{VideoId: id, Audio: audio})
	if err != nil {
		t.Fatalf("Fuse(audio only): %v", err)
	}
	if len(onlyAudio.GetTimeline()) != int(math.Ceil(wantDuration)) || !slices.Contains(onlyAudio.GetFactors(), "loudness") ||
		slices.Contains(onlyAudio.GetFactors(), "motion") || !slices.Contains(onlyAudio.GetMissingFactors(), "motion") {
		t.Errorf("Fuse(audio only): %d seconds, factors %v, missing %v", len(onlyAudio.GetTimeline()), onlyAudio.GetFactors(), onlyAudio.GetMissingFactors())
	}

	res, err := analytics.Fuse(ctx, &analyticsv1.FuseRequest{VideoId: id, Video: up.GetVideo(), Vision: vision, Audio: audio,
		Transcript: transcript, Text: text})
	if err != nil {
		t.Fatalf("Fuse: %v", err)
	}
	want := []string{"motion", "loudness", "speech_presence", "cut_rhythm"}
	if len(transcript.GetSegments()) > 0 {
		want = append(want, "speech_rate")
	}
	if text != nil {
		want = append(want, "sentiment")
	}
	for _, f := range want {
		if !slices.Contains(res.GetFactors(), f) {
			t.Errorf("factors %v lack %s", res.GetFactors(), f)
		}
	}
	t.Logf("factors %v; missing %v", res.GetFactors(), res.GetMissingFactors())
	lo, hi := fixtures.EngagementActiveStart, fixtures.EngagementActiveEnd
	var active, rest []float64
	for i, v := range res.GetEngagement() {
		switch {
		case float64(i) >= lo+1 && float64(i+1) <= hi-1:
			active = append(active, v)
		case float64(i+1) <= lo-1 || float64(i) >= hi+1:
			rest = append(rest, v)
		}
	}
	if mean(active) < mean(rest)+0.15 {
		t.Errorf("engagement of the active part %.3f not well above the still, silent rest %.3f", mean(active), mean(rest))
	}
	if len(res.GetMoments()) == 0 {
		t.Fatal("no moments")
	}
	best := res.GetMoments()[0].GetRange()
	overlap := math.Min(best.GetEndSeconds(), hi) - math.Max(best.GetStartSeconds(), lo)
	if overlap < 0.8*(best.GetEndSeconds()-best.GetStartSeconds()) {
		t.Errorf("best moment %v is not inside the active part [%v, %v): %v", best, lo, hi, res.GetMoments())
	}
	t.Logf("best moment [%.2f, %.2f) score %.3f reasons %v; active mean %.3f, rest %.3f",
		best.GetStartSeconds(), best.GetEndSeconds(), res.GetMoments()[0].GetScore(), res.GetMoments()[0].GetReasons(), mean(active), mean(rest))

	// The detailed analytics, over REST, on both paths.
	var d analyticsv1.GetDetailedResponse
	decode(t, "GET /v1/analytics/detailed", get(t, detailedURL, "", http.StatusOK), &d)
	var seed analyticsv1.GetDetailedResponse
	decode(t, "GET /analytics/detailed", get(t, s.URL+"/analytics/detailed?videoId="+id, "", http.StatusOK), &seed)
	if seed.GetVideoId() != id || seed.GetEngagement().GetAvg() != d.GetEngagement().GetAvg() {
		t.Errorf("seed path answered %v", seed.GetVideoId())
	}
	if v := d.GetVideo(); math.Abs(v.GetDurationSeconds()-wantDuration) > 1e-3 || math.Abs(v.GetFps()-wantFPS) > 1e-6 ||
		v.GetResolution() != "320x240" || v.GetCodec() != "h264" || v.GetBitRate() <= 0 {
		t.Errorf("detailed video = %v; ffprobe says %v s at %v fps", v, wantDuration, wantFPS)
	}
	if a := d.GetAudio(); a.GetQualityScore() <= 0 || a.GetQualityScore() > 1 || a.GetVocalActivityRatio() < 0.2 || a.GetVocalActivityRatio() > 0.6 {
		t.Errorf("detailed audio = %v (speech fills %.0f%% of the video)", a, 100*(hi-lo)/wantDuration)
	}
	if e := d.GetEngagement(); len(e.GetSeries()) != len(res.GetEngagement()) || e.GetAvg() <= 0 || e.GetAvg() >= 1 || len(e.GetPeaks()) == 0 {
		t.Errorf("detailed engagement avg %v, %d peaks", e.GetAvg(), len(e.GetPeaks()))
	}
	for _, p := range d.GetEngagement().GetPeaks()[:1] {
		if float64(p.GetSecond()) < lo-1 || float64(p.GetSecond()) > hi+1 {
			t.Errorf("highest peak at %d s, outside the active part", p.GetSecond())
		}
	}
	if q := d.GetQuality(); q.GetSharpness() <= 0 || q.GetBrightness() <= 0 || q.GetBrightness() > 1 || q.GetContrast() <= 0 {
		t.Errorf("detailed quality = %v", q)
	}
	if c := d.GetContent().GetComplexity(); c.GetSceneRate() < 2/(wantDuration/60) || c.GetMotionEntropy() <= 0 {
		t.Errorf("detailed complexity = %v (3 scenes in %.1f s)", c, wantDuration)
	}
	wantSource := "mood" // the faces have no emotion, so the words', else the scenes'
	if text.GetEmotions().GetDominant() != nlpv1.Emotion_EMOTION_UNSPECIFIED {
		wantSource = "text"
	}
	if len(d.GetMoods()) < 3 || d.GetEmotions().GetDominant() == "" || d.GetEmotions().GetSource() != wantSource {
		t.Errorf("moods %v, emotions %v", d.GetMoods(), d.GetEmotions())
	}
	for _, m := range d.GetMoods() {
		if r := m.GetRange(); r.GetStartSeconds() >= hi-0.5 || r.GetEndSeconds() <= lo+0.5 {
			if m.GetMood() != "calm" {
				t.Errorf("still, silent scene %v is %s, want calm", r, m.GetMood())
			}
		} else if m.GetMood() == "calm" {
			t.Errorf("the loud, talking, moving scene %v is called calm", r)
		}
	}
	var moods []string
	for _, m := range d.GetMoods() {
		moods = append(moods, fmt.Sprintf("[%.2f,%.2f) %s %.2f", m.GetRange().GetStartSeconds(), m.GetRange().GetEndSeconds(), m.GetMood(), m.GetConfidence()))
	}
	t.Logf("detailed: engagement avg %.3f max %.3f peaks %v; audio snr %.1f dB, quality_score %.3f, vocal ratio %.3f, %.1f LUFS; "+
		"quality sharpness %.1f brightness %.3f; scene rate %.2f/min, motion entropy %.3f; emotions %s (%s); moods %v",
		d.GetEngagement().GetAvg(), d.GetEngagement().GetMax(), d.GetEngagement().GetPeaks(), d.GetAudio().GetSnrDb(), d.GetAudio().GetQualityScore(),
		d.GetAudio().GetVocalActivityRatio(), d.GetAudio().GetIntegratedLufs(), d.GetQuality().GetSharpness(), d.GetQuality().GetBrightness(),
		d.GetContent().GetComplexity().GetSceneRate(), d.GetContent().GetComplexity().GetMotionEntropy(), d.GetEmotions().GetDominant(), d.GetEmotions().GetSource(), moods)
	versions := map[string]string{}
	for _, m := range d.GetModalities() {
		versions[m.GetModality()] = m.GetProducer().GetVersion()
	}
	if versions["vision"] == "" || versions["audio"] == "" || d.GetProducer().GetModel() == "" {
		t.Errorf("detailed does not say what produced it: modalities %v, producer %v", d.GetModalities(), d.GetProducer())
	}

	// Tenant aggregates, and the same figures on /metrics.
	var st analyticsv1.GetTenantStatsResponse
	decode(t, "GET /v1/analytics/stats", get(t, s.URL+"/v1/analytics/stats", "", http.StatusOK), &st)
	if st.GetVideos() != 1 || st.GetFusions() != 2 || math.Abs(st.GetMinutes()-wantDuration/60) > 0.02 {
		t.Errorf("stats = %v", &st)
	}
	metrics := string(get(t, s.URL+"/metrics", "", http.StatusOK))
	for _, want := range []string{`clipmesh_analytics_fusions_total{`, `clipmesh_analytics_tenant_videos{`, `tenant="local"`} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}

	// Fuse of an unknown video.
	if _, err := analytics.Fuse(ctx, &analyticsv1.FuseRequest{VideoId: "vid_00000000000000000000000000000000", Audio: audio}); status.Code(err) != codes.NotFound {
		t.Errorf("Fuse of an unknown video: %v, want NotFound", err)
	}
}

// lastResult runs a server-streaming analysis and returns its result
// message, failing the test on any error.
func lastResult[T interface{ comparable }](t *testing.T, what string, start func() (func() (T, error), error)) T {
	t.Helper()
	var zero, res T
	recv, err := start()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	for {
		m, err := recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if m != zero {
			res = m
		}
	}
	if res == zero {
		t.Fatalf("%s: the stream ended without a result", what)
	}
	return res
}

func mean(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := 0.0
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs))
}

// TestAnalyticsFigures checks figures whose order is known by construction,
// on the real audio and vision services: a clean tone's SNR and audio
// quality score above the same tone under noise, the faces leading the
// emotions of a video of a face, and the moving, colourful testsrc2 opening
// of cuts.mp4 not called calm.
func TestAnalyticsFigures(t *testing.T) {
	needBinary(t)
	t.Parallel()
	// A 440 Hz tone on for 1 s, off for 1 s: digital silence between the
	// bursts, or white noise 20 dB below the tone. (A level-based SNR
	// needs pauses to see the noise floor in.)
	dir := t.TempDir()
	clean, noisy := filepath.Join(dir, "bursts_clean.wav"), filepath.Join(dir, "bursts_noisy.wav")
	tone := "aevalsrc='0.5*sin(2*PI*440*t)*lt(mod(t,2),1)':s=48000:d=8"
	for path, graph := range map[string]string{
		clean: tone + "[a]",
		noisy: tone + "[t];anoisesrc=color=white:amplitude=0.05:seed=7:sample_rate=48000:duration=8[n];[t][n]amix=inputs=2:duration=first:normalize=0[a]",
	} {
		if out, err := exec.CommandContext(t.Context(), "ffmpeg", "-v", "error", "-filter_complex", graph,
			"-map", "[a]", "-c:a", "pcm_s16le", path).CombinedOutput(); err != nil {
			t.Fatalf("ffmpeg %s: %v\n%s", path, err, out)
		}
	}
	cuts := fixtures.MustPath(t, fixtures.Cuts)
	s := startServe(t, t.TempDir(), serveOptions{})
	cc := dial(t, s.GRPC)
	analytics := analyticsv1.NewAnalyticsServiceClient(cc)
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()

	fuse := func(path string, withVision bool) *analyticsv1.GetDetailedResponse {
		t.Helper()
		code, _, body := upload(t, s.URL, "", path)
		if code != http.StatusCreated {
			t.Fatalf("upload %s: %d %s", path, code, body)
		}
		var up videosv1.UploadResponse
		decode(t, "upload", body, &up)
		id := up.GetVideo().GetId()
		req := &analyticsv1.FuseRequest{VideoId: id}
		req.Audio = lastResult(t, "audio", func() (func() (*audiov1.AudioResult, error), error) {
			st, err := audiov1.NewAudioServiceClient(cc).AnalyzeAudio(ctx, &audiov1.AnalyzeAudioRequest{VideoId: id})
			return func() (*audiov1.AudioResult, error) {
				m, err := st.Recv()
				return m.GetResult(), err
			}, err
		})
		if withVision {
			req.Vision = lastResult(t, "vision", func() (func() (*visionv1.VisionResult, error), error) {
				st, err := visionv1.NewVisionServiceClient(cc).AnalyzeVideo(ctx, &visionv1.AnalyzeVideoRequest{VideoId: id})
				return func() (*visionv1.VisionResult, error) {
					m, err := st.Recv()
					return m.GetResult(), err
				}, err
			})
		}
		if _, err := analytics.Fuse(ctx, req); err != nil {
			t.Fatalf("Fuse %s: %v", path, err)
		}
		var d analyticsv1.GetDetailedResponse
		decode(t, "GET detailed", get(t, s.URL+"/v1/analytics/detailed?videoId="+id, "", http.StatusOK), &d)
		return &d
	}

	c, n := fuse(clean, false), fuse(noisy, false)
	t.Logf("clean tone: snr %.1f dB, quality_score %.3f; noisy: snr %.1f dB, quality_score %.3f",
		c.GetAudio().GetSnrDb(), c.GetAudio().GetQualityScore(), n.GetAudio().GetSnrDb(), n.GetAudio().GetQualityScore())
	if c.GetAudio().GetSnrDb() <= n.GetAudio().GetSnrDb() || c.GetAudio().GetSnrScore() < n.GetAudio().GetSnrScore() {
		t.Errorf("clean tone SNR %.1f dB not above the noisy one's %.1f dB", c.GetAudio().GetSnrDb(), n.GetAudio().GetSnrDb())
	}
	if c.GetVideo().GetFps() != 0 || c.GetQuality() != nil || !slices.Contains(c.GetMissing(), "quality") {
		t.Errorf("an audio file's detailed analytics: video %v, quality %v, missing %v", c.GetVideo(), c.GetQuality(), c.GetMissing())
	}

	// A still photo of a face: the faces lead the emotions when the vision
	// service reports expressions.
	dir2, err := models.Dir("")
	if err != nil {
		t.Fatal(err)
	}
	photo, err := models.Path(dir2, "face-photo")
	if err != nil {
		t.Fatalf("%v (install the models with `clipmesh models fetch`)", err)
	}
	faceVideo := filepath.Join(dir, "face.mp4")
	if out, err := exec.CommandContext(t.Context(), "ffmpeg", "-nostdin", "-v", "error", "-loop", "1", "-framerate", "25", "-i", photo,
		"-f", "lavfi", "-i", "sine=f=220:sample_rate=48000", "-t", "4", "-vf", "scale=320:-2", "-c:v", "libx264", "-pix_fmt", "yuv420p",
		"-c:a", "aac", "-shortest", faceVideo).CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg face video: %v\n%s", err, out)
	}
	fd := fuse(faceVideo, true)
	t.Logf("face photo: emotions %v", fd.GetEmotions())
	if fd.GetEmotions().GetFaces().GetAvailable() {
		if fd.GetEmotions().GetSource() != "faces" || fd.GetEmotions().GetDominant() == "" || !slices.Contains(fd.GetEngagement().GetFactors(), "face_emotion") {
			t.Errorf("faces with expressions: emotions %v, factors %v", fd.GetEmotions(), fd.GetEngagement().GetFactors())
		}
	} else {
		t.Logf("the vision service reported no expression on the face photo: %s", fd.GetEmotions().GetFaces().GetReason())
	}
	if !slices.Contains(fd.GetEngagement().GetFactors(), "faces") || !slices.Contains(fd.GetEngagement().GetFactors(), "eye_contact") {
		t.Errorf("face photo: factors %v lack faces or eye_contact", fd.GetEngagement().GetFactors())
	}

	d := fuse(cuts, true)
	if len(d.GetMoods()) != len(fixtures.CutTimes)+1 {
		t.Fatalf("moods of cuts.mp4: %v, want one per shot", d.GetMoods())
	}
	for _, m := range d.GetMoods() {
		var ev []string
		for _, e := range m.GetEvidence() {
			ev = append(ev, fmt.Sprintf("%s=%.2f", e.GetFeature(), e.GetValue()))
		}
		t.Logf("cuts.mp4 [%.1f, %.1f): %s %.2f %v", m.GetRange().GetStartSeconds(), m.GetRange().GetEndSeconds(), m.GetMood(), m.GetConfidence(), ev)
	}
	if first := d.GetMoods()[0]; first.GetMood() == "calm" {
		t.Errorf("the moving, colourful testsrc2 shot with a loud tone is called calm: %v", first)
	}
}

// TestServeRefusesInvalidWeights: an invalid engagement weight stops
// `clipmesh serve` at start, naming the variable and the key.
func TestServeRefusesInvalidWeights(t *testing.T) {
	needBinary(t)
	t.Parallel()
	env := append(childEnv(t), "CLIPMESH_ANALYTICS_WEIGHTS=motion=1.5,loudnes=2")
	p := startProc(t, env, "serve", "--data-dir", t.TempDir(),
		"--grpc-addr", net.JoinHostPort("127.0.0.1", freePort(t, "127.0.0.1")),
		"--http-addr", net.JoinHostPort("127.0.0.1", freePort(t, "127.0.0.1")),
		"--admin-addr", "", "--shutdown-timeout", shutdownTimeout.String())
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		p.killGroup()
		<-p.done
		t.Fatalf("clipmesh serve with an invalid weight still running after 30s\nstderr:\n%s", p.stderr.String())
	}
	if code := p.exitCode(); code == 0 {
		t.Fatalf("clipmesh serve with an invalid weight exited 0\nstderr:\n%s", p.stderr.String())
	}
	if msg := p.stderr.String(); !strings.Contains(msg, "CLIPMESH_ANALYTICS_WEIGHTS") || !strings.Contains(msg, "loudnes") {
		t.Errorf("the refusal does not name the variable and the key \"loudnes\":\n%s", msg)
	}
}

// TestAnalyticsJob runs a whole job on engagement.mp4: the detailed
// analytics are refused, naming the job's state, until the pipeline has
// fused its results, then name the job, and the job's own result carries
// the same ranking.
func TestAnalyticsJob(t *testing.T) {
	needBinary(t)
	t.Parallel()
	path := fixtures.MustPath(t, fixtures.Engagement)
	s := startServe(t, t.TempDir(), serveOptions{})
	code, _, body := upload(t, s.URL, "", path)
	if code != http.StatusCreated {
		t.Fatalf("POST /v1/videos: status %d; body: %s", code, body)
	}
	var up videosv1.UploadResponse
	decode(t, "POST /v1/videos", body, &up)
	id := up.GetVideo().GetId()
	code, body = call(t, http.MethodPost, s.URL+"/v1/jobs", "", map[string]any{"videoId": id})
	if code != http.StatusOK {
		t.Fatalf("POST /v1/jobs: status %d; body: %s", code, body)
	}
	var sub jobsv1.AnalyzeResponse
	decode(t, "POST /v1/jobs", body, &sub)
	jobID := sub.GetJob().GetId()

	// The pipeline fuses after vision, audio, transcribe and nlp: seconds
	// from now.
	detailedURL := s.URL + "/v1/analytics/detailed?videoId=" + id
	code, body = call(t, http.MethodGet, detailedURL, "", nil)
	if e := wantError(t, "GET detailed while the job runs", body); code != http.StatusBadRequest ||
		!strings.Contains(e.Message, jobID) || !strings.Contains(e.Message, "not finished") {
		t.Errorf("GET detailed while the job runs: %d %s, want 400 naming job %s and its state", code, body, jobID)
	}

	deadline := time.Now().Add(5 * time.Minute)
	var job *jobsv1.Job
	for {
		var res jobsv1.GetJobResponse
		decode(t, "GET /v1/jobs/"+jobID, get(t, s.URL+"/v1/jobs/"+jobID, "", http.StatusOK), &res)
		if job = res.GetJob(); terminal(job.GetState()) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("job %s still %s after 5 min", jobID, job.GetState())
		}
		time.Sleep(250 * time.Millisecond)
	}
	for _, st := range job.GetStages() {
		if st.GetName() == "analytics" && st.GetState() != jobsv1.StageState_STAGE_STATE_DONE {
			t.Fatalf("analytics stage %s: %s", st.GetState(), st.GetReason())
		}
	}
	fused := job.GetResult().GetAnalytics()
	if len(fused.GetMoments()) == 0 || fused.GetJobId() != jobID {
		t.Fatalf("job result analytics: %d moments, job %q", len(fused.GetMoments()), fused.GetJobId())
	}
	lo, hi := fixtures.EngagementActiveStart, fixtures.EngagementActiveEnd
	best := fused.GetMoments()[0].GetRange()
	if overlap := math.Min(best.GetEndSeconds(), hi) - math.Max(best.GetStartSeconds(), lo); overlap < 0.8*(best.GetEndSeconds()-best.GetStartSeconds()) {
		t.Errorf("the job's best moment %v is not inside the active part [%v, %v)", best, lo, hi)
	}
	var d analyticsv1.GetDetailedResponse
	decode(t, "GET detailed after the job", get(t, detailedURL, "", http.StatusOK), &d)
	if d.GetJobId() != jobID || d.GetEngagement().GetAvg() <= 0 || len(d.GetModalities()) != 4 {
		t.Errorf("detailed after the job: job %q, avg %v, modalities %v", d.GetJobId(), d.GetEngagement().GetAvg(), d.GetModalities())
	}
	t.Logf("job %s: best moment [%.2f, %.2f) score %.3f; factors %v", jobID, best.GetStartSeconds(), best.GetEndSeconds(),
		fused.GetMoments()[0].GetScore(), fused.GetFactors())
}
