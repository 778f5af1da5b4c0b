//go:build unix

package e2e

import (
	"net"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	videosv1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/videos/v1"
	"github.com/clipmesh/clipmesh/platform/fixtures"
)

// keyLine is the line of `clipmesh keys create` that carries the key.
var keyLine = regexp.MustCompile(`(?m)^key:\s+(\S+)\s*$`)

// createKey runs `clipmesh keys create` and returns the printed key.
func createKey(t *testing.T, dataDir, tenant, role string) string {
	t.Helper()
	stdout, stderr, code := runCmd(t, childEnv(t), "keys", "create", "--data-dir", dataDir, "--tenant", tenant, "--role", role)
	if code != 0 {
		t.Fatalf("clipmesh keys create --tenant %s --role %s: exit %d\n%s%s", tenant, role, code, stdout, stderr)
	}
	m := keyLine.FindStringSubmatch(stdout)
	if m == nil {
		t.Fatalf("clipmesh keys create printed no \"key:\" line:\n%s", stdout)
	}
	for _, want := range []string{"tenant: " + tenant, "role:   " + role} {
		if !strings.Contains(stdout, want) {
			t.Errorf("clipmesh keys create output lacks %q:\n%s", want, stdout)
		}
	}
	return m[1]
}

// TestAuth runs a server bound beyond loopback with API keys: every call
// needs a valid key, tenants see only their own videos, and a viewer cannot
// change anything.
func TestAuth(t *testing.T) {
	needBinary(t)
	t.Parallel()
	cuts := fixtures.MustPath(t, fixtures.Cuts)
	dataDir := t.TempDir()
	acme := createKey(t, dataDir, "acme", "editor")
	other := createKey(t, dataDir, "other", "viewer")
	if acme == other {
		t.Fatal("two keys are equal")
	}

	s := startServe(t, dataDir, serveOptions{GRPCHost: "0.0.0.0", HTTPHost: "0.0.0.0"})
	cc := dial(t, s.GRPC)
	videos := videosv1.NewVideoServiceClient(cc)

	t.Run("NoKey", func(t *testing.T) {
		code, body := call(t, http.MethodGet, s.URL+"/v1/videos", "", nil)
		if code != http.StatusUnauthorized {
			t.Errorf("GET /v1/videos without a key: status %d, want 401; body: %s", code, body)
		} else {
			wantError(t, "GET /v1/videos without a key", body)
		}
		code, _, body = upload(t, s.URL, "", cuts)
		if code != http.StatusUnauthorized {
			t.Errorf("POST /v1/videos without a key: status %d, want 401; body: %s", code, body)
		}
		if _, err := videos.ListVideos(t.Context(), &videosv1.ListVideosRequest{}); status.Code(err) != codes.Unauthenticated {
			t.Errorf("gRPC ListVideos without a key: %v, want Unauthenticated", err)
		}
		// Health and reflection stay open: probes and grpcurl need no key.
		res, err := healthpb.NewHealthClient(cc).Check(t.Context(), &healthpb.HealthCheckRequest{})
		if err != nil || res.GetStatus() != healthpb.HealthCheckResponse_SERVING {
			t.Errorf("gRPC health without a key: %v, %v; want SERVING", res.GetStatus(), err)
		}
	})

	t.Run("BadKey", func(t *testing.T) {
		for _, authz := range []string{"Bearer cm_not-a-real-key", "Basic YWNtZTpzZWNyZXQ=", "Bearer "} {
			req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, s.URL+"/v1/videos", nil)
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Authorization", authz)
			resp, err := httpClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body := readAll(t, resp)
			if resp.StatusCode != http.StatusUnauthorized {
				t.Errorf("GET /v1/videos with Authorization %q: status %d, want 401; body: %s", authz, resp.StatusCode, body)
			}
		}
		ctx := metadata.AppendToOutgoingContext(t.Context(), "authorization", "Bearer cm_not-a-real-key")
		if _, err := videos.ListVideos(ctx, &videosv1.ListVideosRequest{}); status.Code(err) != codes.Unauthenticated {
			t.Errorf("gRPC ListVideos with a bad key: %v, want Unauthenticated", err)
		}
	})

	var id string
	t.Run("TenantUploads", func(t *testing.T) {
		code, _, body := upload(t, s.URL, acme, cuts)
		if code != http.StatusCreated {
			t.Fatalf("acme POST /v1/videos: status %d, want 201; body: %s", code, body)
		}
		var res videosv1.UploadResponse
		decode(t, "acme POST /v1/videos", body, &res)
		id = res.GetVideo().GetId()
		checkCutsProbe(t, "acme upload", res.GetVideo().GetProbe())
		var got videosv1.GetVideoResponse
		decode(t, "acme GET", get(t, s.URL+"/v1/videos/"+id, acme, http.StatusOK), &got)
		if got.GetVideo().GetId() != id {
			t.Errorf("acme GET /v1/videos/%s returned %q", id, got.GetVideo().GetId())
		}
	})
	if id == "" {
		t.Fatal("acme could not upload: the remaining subtests need its video")
	}

	t.Run("OtherTenant", func(t *testing.T) {
		code, body := call(t, http.MethodGet, s.URL+"/v1/videos/"+id, other, nil)
		if code != http.StatusNotFound {
			t.Errorf("other GET acme's video: status %d, want 404; body: %s", code, body)
		}
		var list videosv1.ListVideosResponse
		decode(t, "other GET /v1/videos", get(t, s.URL+"/v1/videos", other, http.StatusOK), &list)
		if n := len(list.GetVideos()); n != 0 {
			t.Errorf("other lists %d videos, want none (acme's are not theirs)", n)
		}
		code, _, body = upload(t, s.URL, other, cuts)
		if code != http.StatusForbidden {
			t.Errorf("viewer POST /v1/videos: status %d, want 403; body: %s", code, body)
		} else {
			wantError(t, "viewer POST /v1/videos", body)
		}
		code, body = call(t, http.MethodPost, s.URL+"/v1/jobs", other, map[string]any{"videoId": id})
		if code != http.StatusForbidden && code != http.StatusNotFound {
			t.Errorf("viewer POST /v1/jobs on acme's video: status %d, want 403 or 404; body: %s", code, body)
		}
		ctx := metadata.AppendToOutgoingContext(t.Context(), "authorization", "Bearer "+other)
		if _, err := videos.GetVideo(ctx, &videosv1.GetVideoRequest{VideoId: id}); status.Code(err) != codes.NotFound {
			t.Errorf("other gRPC GetVideo of acme's video: %v, want NotFound", err)
		}
	})

	t.Run("GRPCKey", func(t *testing.T) {
		ctx := metadata.AppendToOutgoingContext(t.Context(), "authorization", "Bearer "+acme)
		res, err := videos.GetVideo(ctx, &videosv1.GetVideoRequest{VideoId: id})
		if err != nil {
			t.Fatalf("acme gRPC GetVideo: %v", err)
		}
		if res.GetVideo().GetId() != id {
			t.Errorf("acme gRPC GetVideo returned %q, want %q", res.GetVideo().GetId(), id)
		}
		list, err := videos.ListVideos(ctx, &videosv1.ListVideosRequest{})
		if err != nil {
			t.Fatalf("acme gRPC ListVideos: %v", err)
		}
		if n := len(list.GetVideos()); n != 1 || list.GetVideos()[0].GetId() != id {
			t.Errorf("acme gRPC ListVideos: %d videos, want just %s", n, id)
		}
	})
}

// TestServeRefusesOpenBindingWithoutKeys starts a server on a non-loopback
// address with no API key: it must refuse to start, quickly, and say how to
// create a key.
func TestServeRefusesOpenBindingWithoutKeys(t *testing.T) {
	needBinary(t)
	t.Parallel()
	env := childEnv(t)
	start := time.Now()
	p := startProc(t, env, "serve", "--data-dir", t.TempDir(),
		"--grpc-addr", net.JoinHostPort("0.0.0.0", freePort(t, "0.0.0.0")),
		"--http-addr", net.JoinHostPort("127.0.0.1", freePort(t, "127.0.0.1")),
		"--admin-addr", net.JoinHostPort("127.0.0.1", freePort(t, "127.0.0.1")),
		"--shutdown-timeout", shutdownTimeout.String())
	select {
	case <-p.done:
	case <-time.After(20 * time.Second):
		p.killGroup()
		<-p.done
		t.Fatalf("clipmesh serve on 0.0.0.0 without keys still running after 20s\nstderr:\n%s", p.stderr.String())
	}
	took := time.Since(start).Round(time.Millisecond)
	if code := p.exitCode(); code == 0 {
		t.Fatalf("clipmesh serve on 0.0.0.0 without keys exited 0, want non-zero\nstderr:\n%s", p.stderr.String())
	}
	if msg := p.stderr.String(); !strings.Contains(msg, "keys create") {
		t.Errorf("the refusal does not say how to create a key (\"keys create\"):\n%s", msg)
	}
	t.Logf("refused in %s with exit status %d", took, p.exitCode())
}
