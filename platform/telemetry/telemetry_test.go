package telemetry_test

// These tests are not parallel: Setup installs global providers.

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/grpc"

	"github.com/clipmesh/clipmesh/platform/telemetry"
)

func setup(t *testing.T, service, version string) *telemetry.Telemetry {
	t.Helper()
	tel, err := telemetry.Setup(t.Context(), service, version)
	if err != nil {
		t.Fatalf("Setup: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = tel.Shutdown(ctx)
	})
	return tel
}

func scrape(t *testing.T, h http.Handler) string {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequestWithContext(t.Context(), http.MethodGet, "/metrics", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("/metrics = %d %s", rec.Code, rec.Body)
	}
	b, _ := io.ReadAll(rec.Body)
	return string(b)
}

func TestSetupWithoutExporter(t *testing.T) {
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "")
	t.Setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "")
	tel := setup(t, "analytics", "v9.8.7")
	if tel.Exporting {
		t.Error("Exporting = true without an OTLP endpoint")
	}

	// Spans are still real, so logs carry ids and context crosses the mesh.
	ctx, span := otel.Tracer("test").Start(t.Context(), "op")
	if !span.SpanContext().IsValid() || !span.SpanContext().IsSampled() {
		t.Errorf("span context %v is not a valid sampled span", span.SpanContext())
	}
	carrier := propagation.MapCarrier{}
	otel.GetTextMapPropagator().Inject(ctx, carrier)
	span.End()
	if tp := carrier.Get("traceparent"); !strings.Contains(tp, span.SpanContext().TraceID().String()) {
		t.Errorf("injected traceparent %q does not carry the trace id", tp)
	}

	// OTel metrics and the Go runtime on /metrics.
	c, err := otel.Meter("test").Int64Counter("clipmesh_test_videos")
	if err != nil {
		t.Fatal(err)
	}
	c.Add(ctx, 3)
	body := scrape(t, tel.MetricsHandler)
	for _, want := range []string{
		"go_goroutines",
		"process_cpu_seconds_total",
		"clipmesh_test_videos_total",
		`service_name="analytics"`,
		`service_version="v9.8.7"`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if !strings.Contains(body, "clipmesh_test_videos_total{") || !strings.Contains(body, "} 3") {
		t.Errorf("/metrics does not show the counter at 3:\n%s", grep(body, "clipmesh_test_videos"))
	}

	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if err := tel.Shutdown(ctx); err != nil {
		t.Errorf("Shutdown() = %v", err)
	}
}

func grep(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// collector is an in-process OTLP trace receiver.
type collector struct {
	coltracepb.UnimplementedTraceServiceServer
	mu    sync.Mutex
	spans map[string]string // span name → service.name
}

func (c *collector) Export(_ context.Context, req *coltracepb.ExportTraceServiceRequest) (*coltracepb.ExportTraceServiceResponse, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, rs := range req.GetResourceSpans() {
		service := ""
		for _, kv := range rs.GetResource().GetAttributes() {
			if kv.GetKey() == "service.name" {
				service = kv.GetValue().GetStringValue()
			}
		}
		for _, ss := range rs.GetScopeSpans() {
			for _, s := range ss.GetSpans() {
				c.spans[s.GetName()] = service
			}
		}
	}
	return &coltracepb.ExportTraceServiceResponse{}, nil
}

func TestSetupExportsOverOTLP(t *testing.T) {
	col := &collector{spans: map[string]string{}}
	gs := grpc.NewServer()
	coltracepb.RegisterTraceServiceServer(gs, col)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = gs.Serve(ln) }()
	t.Cleanup(gs.Stop)

	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://"+ln.Addr().String())
	t.Setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "")
	tel := setup(t, "clips", "v1")
	if !tel.Exporting {
		t.Fatal("Exporting = false with OTEL_EXPORTER_OTLP_ENDPOINT set")
	}
	_, span := otel.Tracer("test").Start(t.Context(), "render clip")
	span.End()

	// Shutdown flushes the batch.
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if err := tel.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown() = %v", err)
	}
	col.mu.Lock()
	defer col.mu.Unlock()
	if got := col.spans["render clip"]; got != "clips" {
		t.Errorf("collector got spans %v; want \"render clip\" from service clips", col.spans)
	}
}

func TestSetupTracesEndpointAlone(t *testing.T) {
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "")
	// Nothing listens there; the exporter connects lazily, so Setup works.
	t.Setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://127.0.0.1:1")
	tel := setup(t, "nlp", "v1")
	if !tel.Exporting {
		t.Error("Exporting = false with OTEL_EXPORTER_OTLP_TRACES_ENDPOINT set")
	}
}
