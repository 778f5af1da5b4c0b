//go:build unix

package e2e

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	reflectionpb "google.golang.org/grpc/reflection/grpc_reflection_v1"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	jobsv1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/jobs/v1"
	videosv1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/videos/v1"
	"github.com/clipmesh/clipmesh/platform/fixtures"
)

// meshServices are the gRPC services `clipmesh serve` must expose.
var meshServices = []string{
	"clipmesh.videos.v1.VideoService",
	"clipmesh.jobs.v1.JobService",
	"clipmesh.vision.v1.VisionService",
	"clipmesh.audio.v1.AudioService",
	"clipmesh.transcribe.v1.TranscribeService",
	"clipmesh.nlp.v1.NlpService",
	"clipmesh.analytics.v1.AnalyticsService",
	"clipmesh.clips.v1.ClipsService",
	"clipmesh.collab.v1.CollabService",
}

// TestServe runs one keyless loopback `clipmesh serve` and exercises it as a
// newcomer would: reflection, upload, probe, jobs, the operational
// endpoints and `clipmesh analyze --server`. The subtests share the server
// and its state, so they run in order.
func TestServe(t *testing.T) {
	needBinary(t)
	t.Parallel()
	cuts := fixtures.MustPath(t, fixtures.Cuts)
	dataDir := t.TempDir()
	s := startServe(t, dataDir, serveOptions{})
	cc := dial(t, s.GRPC)

	t.Run("Reflection", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		defer cancel()
		stream, err := reflectionpb.NewServerReflectionClient(cc).ServerReflectionInfo(ctx)
		if err != nil {
			t.Fatalf("reflection: %v", err)
		}
		ask := func(req *reflectionpb.ServerReflectionRequest) *reflectionpb.ServerReflectionResponse {
			t.Helper()
			if err := stream.Send(req); err != nil {
				t.Fatalf("reflection send: %v", err)
			}
			res, err := stream.Recv()
			if err != nil {
				t.Fatalf("reflection recv: %v", err)
			}
			if e := res.GetErrorResponse(); e != nil {
				t.Fatalf("reflection %v: error %d %s", req.GetMessageRequest(), e.GetErrorCode(), e.GetErrorMessage())
			}
			return res
		}
		res := ask(&reflectionpb.ServerReflectionRequest{
			MessageRequest: &reflectionpb.ServerReflectionRequest_ListServices{ListServices: "*"}})
		var got []string
		for _, svc := range res.GetListServicesResponse().GetService() {
			got = append(got, svc.GetName())
		}
		for _, want := range append(slices.Clone(meshServices), "grpc.health.v1.Health") {
			if !slices.Contains(got, want) {
				t.Errorf("reflection does not list %s; it lists %v", want, got)
			}
		}
		// What grpcurl does next: fetch each service's descriptor.
		for _, svc := range meshServices {
			res := ask(&reflectionpb.ServerReflectionRequest{
				MessageRequest: &reflectionpb.ServerReflectionRequest_FileContainingSymbol{FileContainingSymbol: svc}})
			if len(res.GetFileDescriptorResponse().GetFileDescriptorProto()) == 0 {
				t.Errorf("reflection has no descriptor for %s", svc)
			}
		}
		if err := stream.CloseSend(); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("GRPCHealth", func(t *testing.T) {
		h := healthpb.NewHealthClient(cc)
		for _, svc := range append([]string{""}, meshServices...) {
			res, err := h.Check(t.Context(), &healthpb.HealthCheckRequest{Service: svc})
			if err != nil || res.GetStatus() != healthpb.HealthCheckResponse_SERVING {
				t.Errorf("health of %q: %v, %v; want SERVING", svc, res.GetStatus(), err)
			}
		}
	})

	var video *videosv1.Video // the uploaded fixture, for the subtests below
	t.Run("Upload", func(t *testing.T) {
		code, hdr, body := upload(t, s.URL, "", cuts)
		if code != http.StatusCreated {
			t.Fatalf("POST /v1/videos: status %d, want 201; body: %s", code, body)
		}
		var res videosv1.UploadResponse
		decode(t, "POST /v1/videos", body, &res)
		v := res.GetVideo()
		if !strings.HasPrefix(v.GetId(), "vid_") || !res.GetCreated() {
			t.Fatalf("POST /v1/videos: want a created vid_ video, got %s", body)
		}
		if loc, want := hdr.Get("Location"), "/v1/videos/"+v.GetId(); loc != want {
			t.Errorf("Location: %q, want %q", loc, want)
		}
		checkCutsProbe(t, "upload", v.GetProbe())
		video = v

		// The same content again is the same video, not a new one.
		code, _, body = upload(t, s.URL, "", cuts)
		if code != http.StatusOK {
			t.Fatalf("second POST /v1/videos: status %d, want 200; body: %s", code, body)
		}
		var again videosv1.UploadResponse
		decode(t, "second POST /v1/videos", body, &again)
		if again.GetVideo().GetId() != v.GetId() || again.GetCreated() {
			t.Errorf("second upload: id %q created %v; want id %q, created false", again.GetVideo().GetId(), again.GetCreated(), v.GetId())
		}
	})
	if video == nil {
		t.Fatal("no uploaded video: the remaining subtests need one")
	}
	id := video.GetId()

	t.Run("GetVideo", func(t *testing.T) {
		var res videosv1.GetVideoResponse
		decode(t, "GET /v1/videos/{id}", get(t, s.URL+"/v1/videos/"+id, "", http.StatusOK), &res)
		if res.GetVideo().GetId() != id {
			t.Fatalf("GET /v1/videos/%s returned %q", id, res.GetVideo().GetId())
		}
		checkCutsProbe(t, "GET /v1/videos/{id}", res.GetVideo().GetProbe())
		if !proto.Equal(res.GetVideo().GetProbe(), video.GetProbe()) {
			t.Errorf("GET probe differs from the upload's:\n got %v\nwant %v", res.GetVideo().GetProbe(), video.GetProbe())
		}

		g, err := videosv1.NewVideoServiceClient(cc).GetVideo(t.Context(), &videosv1.GetVideoRequest{VideoId: id})
		if err != nil {
			t.Fatalf("gRPC GetVideo: %v", err)
		}
		if g.GetVideo().GetId() != id || !proto.Equal(g.GetVideo().GetProbe(), video.GetProbe()) {
			t.Errorf("gRPC GetVideo: %v; want the uploaded video %v", g.GetVideo(), video)
		}

		code, body := call(t, http.MethodGet, s.URL+"/v1/videos/vid_doesnotexist", "", nil)
		if code != http.StatusNotFound {
			t.Errorf("GET an unknown video: status %d, want 404; body: %s", code, body)
		}
		if _, err := videosv1.NewVideoServiceClient(cc).GetVideo(t.Context(), &videosv1.GetVideoRequest{VideoId: "vid_doesnotexist"}); status.Code(err) != codes.NotFound {
			t.Errorf("gRPC GetVideo of an unknown video: %v, want NotFound", err)
		}
	})

	t.Run("BadMedia", func(t *testing.T) {
		for _, name := range fixtures.BadMedia {
			t.Run(name, func(t *testing.T) {
				code, _, body := upload(t, s.URL, "", fixtures.MustPath(t, name))
				if code != http.StatusBadRequest {
					t.Fatalf("POST /v1/videos %s: status %d, want 400; body: %s", name, code, body)
				}
				e := wantError(t, "POST /v1/videos "+name, body)
				if *e.Code != int(codes.InvalidArgument) {
					t.Errorf("error code %d, want %d (InvalidArgument): %s", *e.Code, codes.InvalidArgument, body)
				}
				// The client learns what is wrong with its file, not where
				// the server spools uploads.
				if strings.Contains(e.Message, dataDir) {
					t.Errorf("the error message reveals the server's data directory %s: %q", dataDir, e.Message)
				}
			})
		}
		// Nothing already stored is lost, and nothing bad was stored.
		var list videosv1.ListVideosResponse
		decode(t, "GET /v1/videos", get(t, s.URL+"/v1/videos", "", http.StatusOK), &list)
		var ids []string
		for _, v := range list.GetVideos() {
			ids = append(ids, v.GetId())
		}
		if !slices.Equal(ids, []string{id}) {
			t.Errorf("GET /v1/videos after the bad uploads lists %v, want only %s", ids, id)
		}
	})

	t.Run("Jobs", func(t *testing.T) {
		// The seed path, watched live from just after it is queued.
		code, body := call(t, http.MethodPost, s.URL+"/analyze/advanced", "", map[string]any{"videoId": id})
		if code != http.StatusOK {
			t.Fatalf("POST /analyze/advanced: status %d; body: %s", code, body)
		}
		var adv jobsv1.AnalyzeResponse
		decode(t, "POST /analyze/advanced", body, &adv)
		if !strings.HasPrefix(adv.GetJob().GetId(), "job_") || adv.GetJob().GetVideoId() != id {
			t.Fatalf("POST /analyze/advanced: want a job for %s, got %s", id, body)
		}
		seen := watchJob(t, s.URL, adv.GetJob().GetId())
		if len(seen) == 0 {
			t.Fatalf("watch %s: the stream carried no job", adv.GetJob().GetId())
		}
		var states []string
		for _, j := range seen {
			states = append(states, j.GetState().String())
		}
		t.Logf("watch %s: %d messages, states %v", adv.GetJob().GetId(), len(seen), slices.Compact(states))
		last := seen[len(seen)-1]
		if last.GetState() != jobsv1.JobState_JOB_STATE_SUCCEEDED {
			t.Fatalf("watch: the stream ended with %s (error %q), want JOB_STATE_SUCCEEDED", last.GetState(), last.GetError())
		}
		for _, j := range seen[:len(seen)-1] {
			if terminal(j.GetState()) {
				t.Errorf("watch: a final state (%s) before the end of the stream", j.GetState())
			}
		}
		checkCutsProbe(t, "watched job result", last.GetResult().GetVideo().GetProbe())

		// The REST path, polled.
		code, body = call(t, http.MethodPost, s.URL+"/v1/jobs", "", map[string]any{"videoId": id})
		if code != http.StatusOK {
			t.Fatalf("POST /v1/jobs: status %d; body: %s", code, body)
		}
		var res jobsv1.AnalyzeResponse
		decode(t, "POST /v1/jobs", body, &res)
		jobID := res.GetJob().GetId()
		if !strings.HasPrefix(jobID, "job_") || jobID == adv.GetJob().GetId() {
			t.Fatalf("POST /v1/jobs: want a new job, got %s", body)
		}
		job := pollJob(t, s.URL, jobID)
		if job.GetState() != jobsv1.JobState_JOB_STATE_SUCCEEDED {
			t.Fatalf("job %s ended %s: %q", jobID, job.GetState(), job.GetError())
		}
		if job.GetResult().GetVideo().GetId() != id {
			t.Errorf("job result is about video %q, want %q", job.GetResult().GetVideo().GetId(), id)
		}
		checkCutsProbe(t, "polled job result", job.GetResult().GetVideo().GetProbe())

		// Watching a finished job sends it once and ends.
		seen = watchJob(t, s.URL, jobID)
		if len(seen) == 0 || seen[len(seen)-1].GetState() != jobsv1.JobState_JOB_STATE_SUCCEEDED {
			t.Errorf("watch of a finished job: %d messages, last %v; want it ending SUCCEEDED", len(seen), seen)
		}

		// Bad input is a 400 with a message, not a queued job.
		code, body = call(t, http.MethodPost, s.URL+"/v1/jobs", "", map[string]any{"videoId": ""})
		if code != http.StatusBadRequest {
			t.Errorf("POST /v1/jobs without a videoId: status %d, want 400; body: %s", code, body)
		} else {
			wantError(t, "POST /v1/jobs without a videoId", body)
		}
		code, body = call(t, http.MethodPost, s.URL+"/v1/jobs", "", map[string]any{"videoId": "vid_doesnotexist"})
		if code != http.StatusNotFound {
			t.Errorf("POST /v1/jobs for an unknown video: status %d, want 404; body: %s", code, body)
		}
	})

	t.Run("Endpoints", func(t *testing.T) {
		for _, path := range []string{"/healthz", "/readyz"} {
			var st struct{ Status string }
			if err := json.Unmarshal(get(t, s.URL+path, "", http.StatusOK), &st); err != nil || st.Status != "ok" {
				t.Errorf("GET %s: status %q, %v; want \"ok\"", path, st.Status, err)
			}
		}
		metrics := string(get(t, s.URL+"/metrics", "", http.StatusOK))
		for _, name := range []string{"go_goroutines", "rpc_server"} {
			if !strings.Contains(metrics, name) {
				t.Errorf("/metrics has no %s", name)
			}
		}
		var doc struct {
			Swagger string                     `json:"swagger"`
			Paths   map[string]json.RawMessage `json:"paths"`
		}
		raw := get(t, s.URL+"/openapi.json", "", http.StatusOK)
		if err := json.Unmarshal(raw, &doc); err != nil {
			t.Fatalf("/openapi.json is not JSON: %v", err)
		}
		for _, p := range []string{"/analyze/advanced", "/batch/process", "/analytics/detailed", "/v1/videos", "/v1/jobs/{jobId}"} {
			if _, ok := doc.Paths[p]; !ok {
				t.Errorf("/openapi.json has no path %s", p)
			}
		}
		if pprof := string(get(t, s.AdminURL+"/debug/pprof/", "", http.StatusOK)); !strings.Contains(pprof, "goroutine") {
			t.Errorf("admin /debug/pprof/ does not list profiles:\n%.300s", pprof)
		}
		get(t, s.AdminURL+"/healthz", "", http.StatusOK)
	})

	t.Run("AnalyzeServer", func(t *testing.T) {
		stdout, stderr, code := runCmd(t, childEnv(t), "analyze", "--server", s.GRPC, "--json", cuts)
		if code != 0 {
			t.Fatalf("clipmesh analyze --server: exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
		}
		var job jobsv1.Job
		if err := unmarshal.Unmarshal([]byte(stdout), &job); err != nil {
			t.Fatalf("clipmesh analyze --json: stdout is not one job as JSON: %v\n%s", err, stdout)
		}
		if job.GetState() != jobsv1.JobState_JOB_STATE_SUCCEEDED {
			t.Errorf("analyze: state %s, want JOB_STATE_SUCCEEDED", job.GetState())
		}
		if job.GetVideoId() != id {
			t.Errorf("analyze: video %q, want %q (same content, same id)", job.GetVideoId(), id)
		}
		checkCutsProbe(t, "analyze --server", job.GetResult().GetVideo().GetProbe())
	})
}
