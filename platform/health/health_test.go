package health_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/clipmesh/clipmesh/platform/health"
)

// readyz calls c.Readyz and decodes its JSON answer.
func readyz(t *testing.T, c *health.Checker) (int, map[string]any) {
	t.Helper()
	return serveJSON(t, c.Readyz, "/readyz")
}

func serveJSON(t *testing.T, h http.HandlerFunc, path string) (int, map[string]any) {
	t.Helper()
	rec := httptest.NewRecorder()
	h(rec, httptest.NewRequestWithContext(t.Context(), http.MethodGet, path, nil))
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("%s Content-Type = %q, want application/json", path, ct)
	}
	var body map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatalf("%s body %q: %v", path, rec.Body.String(), err)
	}
	return rec.Code, body
}

// grpcStatus asks the checker's grpc.health.v1 server about service.
func grpcStatus(t *testing.T, c *health.Checker, service string) healthpb.HealthCheckResponse_ServingStatus {
	t.Helper()
	res, err := c.GRPC().Check(t.Context(), &healthpb.HealthCheckRequest{Service: service})
	if err != nil {
		t.Fatalf("health Check(%q): %v", service, err)
	}
	return res.GetStatus()
}

func fails(msg string) health.Check {
	return func(context.Context) error { return errors.New(msg) }
}

func ok(context.Context) error { return nil }

func TestReadyz(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name     string
		checks   map[string]health.Check
		wantCode int
		want     map[string]any
	}{
		{
			name:     "no checks",
			wantCode: http.StatusOK,
			want:     map[string]any{"status": "ok"},
		},
		{
			name:     "all pass",
			checks:   map[string]health.Check{"database": ok, "nats": ok},
			wantCode: http.StatusOK,
			want:     map[string]any{"status": "ok"},
		},
		{
			name:     "one fails",
			checks:   map[string]health.Check{"database": ok, "nats": fails("no route to nats")},
			wantCode: http.StatusServiceUnavailable,
			want: map[string]any{
				"status":  "unavailable",
				"failing": []any{"nats"},
				"checks":  map[string]any{"nats": "no route to nats"},
			},
		},
		{
			name: "several fail, names sorted",
			checks: map[string]health.Check{
				"zeta": fails("z down"), "alpha": fails("a down"), "mid": ok, "beta": fails("b down"),
			},
			wantCode: http.StatusServiceUnavailable,
			want: map[string]any{
				"status":  "unavailable",
				"failing": []any{"alpha", "beta", "zeta"},
				"checks":  map[string]any{"alpha": "a down", "beta": "b down", "zeta": "z down"},
			},
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := health.New()
			for name, fn := range tt.checks {
				c.Add(name, fn)
			}
			code, body := readyz(t, c)
			if code != tt.wantCode {
				t.Errorf("Readyz code = %d, want %d", code, tt.wantCode)
			}
			if diff := cmp.Diff(tt.want, body); diff != "" {
				t.Errorf("Readyz body (-want +got):\n%s", diff)
			}
			// Liveness does not depend on the checks.
			code, body = serveJSON(t, c.Healthz, "/healthz")
			if code != http.StatusOK || body["status"] != "ok" {
				t.Errorf("Healthz = %d %v, want 200 ok", code, body)
			}
		})
	}
}

func TestAddReplacesCheck(t *testing.T) {
	t.Parallel()
	c := health.New()
	c.Add("database", fails("down"))
	c.Add("database", ok)
	if got := c.Evaluate(t.Context()); len(got) != 0 {
		t.Errorf("Evaluate after replacing the failing check = %v, want none", got)
	}
}

func TestEvaluateBoundsEachCheck(t *testing.T) {
	t.Parallel()
	c := health.New()
	c.Add("slow", func(ctx context.Context) error {
		dl, ok := ctx.Deadline()
		if !ok {
			return errors.New("no deadline")
		}
		if left := time.Until(dl); left > 3*time.Second {
			return errors.New("deadline too far: " + left.String())
		}
		<-ctx.Done()
		return ctx.Err()
	})
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	got := c.Evaluate(ctx)
	if diff := cmp.Diff(map[string]string{"slow": context.DeadlineExceeded.Error()}, got); diff != "" {
		t.Errorf("Evaluate (-want +got):\n%s", diff)
	}
}

func TestShutdown(t *testing.T) {
	t.Parallel()
	c := health.New("clipmesh.jobs.v1.JobsService")
	c.Add("database", ok)
	if code, _ := readyz(t, c); code != http.StatusOK {
		t.Fatalf("Readyz before Shutdown = %d, want 200", code)
	}
	if got := grpcStatus(t, c, ""); got != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("grpc health before Shutdown = %v, want SERVING", got)
	}

	c.Shutdown()

	code, body := readyz(t, c)
	want := map[string]any{
		"status":  "unavailable",
		"failing": []any{"shutdown"},
		"checks":  map[string]any{"shutdown": "shutting down"},
	}
	if code != http.StatusServiceUnavailable {
		t.Errorf("Readyz after Shutdown = %d, want 503", code)
	}
	if diff := cmp.Diff(want, body); diff != "" {
		t.Errorf("Readyz after Shutdown (-want +got):\n%s", diff)
	}
	if got := grpcStatus(t, c, ""); got != healthpb.HealthCheckResponse_NOT_SERVING {
		t.Errorf("grpc health after Shutdown = %v, want NOT_SERVING", got)
	}
	if code, _ := serveJSON(t, c.Healthz, "/healthz"); code != http.StatusOK {
		t.Errorf("Healthz after Shutdown = %d, want 200 (still alive)", code)
	}
}

// waitStatus polls the grpc health status of service until it is want.
func waitStatus(t *testing.T, c *health.Checker, service string, want healthpb.HealthCheckResponse_ServingStatus) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		// NotFound until Watch first publishes a status for service.
		res, err := c.GRPC().Check(t.Context(), &healthpb.HealthCheckRequest{Service: service})
		if err == nil && res.GetStatus() == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("grpc health of %q = %v, %v; still not %v", service, res.GetStatus(), err, want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestWatch(t *testing.T) {
	t.Parallel()
	const svc = "clipmesh.vision.v1.VisionService"
	c := health.New(svc)
	var broken atomic.Bool
	c.Add("database", func(context.Context) error {
		if broken.Load() {
			return errors.New("database gone")
		}
		return nil
	})

	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { defer close(done); c.Watch(ctx, 10*time.Millisecond) }()
	t.Cleanup(func() { cancel(); <-done })

	for _, s := range []string{"", svc} {
		waitStatus(t, c, s, healthpb.HealthCheckResponse_SERVING)
	}
	broken.Store(true)
	for _, s := range []string{"", svc} {
		waitStatus(t, c, s, healthpb.HealthCheckResponse_NOT_SERVING)
	}
	broken.Store(false)
	for _, s := range []string{"", svc} {
		waitStatus(t, c, s, healthpb.HealthCheckResponse_SERVING)
	}

	// After Shutdown a passing check no longer brings the server back.
	c.Shutdown()
	waitStatus(t, c, "", healthpb.HealthCheckResponse_NOT_SERVING)
	time.Sleep(50 * time.Millisecond) // several intervals
	for _, s := range []string{"", svc} {
		if got := grpcStatus(t, c, s); got != healthpb.HealthCheckResponse_NOT_SERVING {
			t.Errorf("grpc health of %q after Shutdown = %v, want NOT_SERVING", s, got)
		}
	}

	cancel()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Watch did not return after its context was cancelled")
	}
}
