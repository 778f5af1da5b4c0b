package logging_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/clipmesh/clipmesh/platform/logging"
)

// spanCtx returns a context carrying a recording span of a local provider
// (not the global one), and that span's context.
func spanCtx(t *testing.T) (context.Context, trace.SpanContext) {
	t.Helper()
	tp := sdktrace.NewTracerProvider()
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	ctx, span := tp.Tracer("logging-test").Start(t.Context(), "op")
	t.Cleanup(func() { span.End() })
	return ctx, span.SpanContext()
}

func decode(t *testing.T, b []byte) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range bytes.Split(bytes.TrimSpace(b), []byte("\n")) {
		if len(line) == 0 {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal(line, &m); err != nil {
			t.Fatalf("log line %q is not JSON: %v", line, err)
		}
		out = append(out, m)
	}
	return out
}

func TestJSON(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	log, err := logging.New(&buf, "vision", "v1.2.3", "info", "json")
	if err != nil {
		t.Fatal(err)
	}
	ctx, sc := spanCtx(t)

	log.InfoContext(ctx, "scene found", "scene", 3)
	log.InfoContext(t.Context(), "no span")
	log.DebugContext(ctx, "below the level")

	lines := decode(t, buf.Bytes())
	if len(lines) != 2 {
		t.Fatalf("got %d lines, want 2 (debug filtered out):\n%s", len(lines), buf.String())
	}
	withSpan, without := lines[0], lines[1]
	for k, want := range map[string]any{
		"msg": "scene found", "level": "INFO", "service": "vision", "version": "v1.2.3",
		"scene": float64(3), "trace_id": sc.TraceID().String(), "span_id": sc.SpanID().String(),
	} {
		if withSpan[k] != want {
			t.Errorf("line[%q] = %v, want %v (line %v)", k, withSpan[k], want, withSpan)
		}
	}
	if without["service"] != "vision" || without["version"] != "v1.2.3" {
		t.Errorf("line without a span lacks service/version: %v", without)
	}
	for _, k := range []string{"trace_id", "span_id"} {
		if _, ok := without[k]; ok {
			t.Errorf("line without a span has %s: %v", k, without)
		}
	}
}

func TestDerivedLoggersKeepTraceIDs(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	log, err := logging.New(&buf, "jobs", "dev", "debug", "json")
	if err != nil {
		t.Fatal(err)
	}
	ctx, sc := spanCtx(t)
	log.With("job", "j1").DebugContext(ctx, "with")
	log.WithGroup("req").InfoContext(ctx, "group", "path", "/x")

	lines := decode(t, buf.Bytes())
	if len(lines) != 2 {
		t.Fatalf("got %d lines, want 2:\n%s", len(lines), buf.String())
	}
	if lines[0]["job"] != "j1" || lines[0]["trace_id"] != sc.TraceID().String() || lines[0]["service"] != "jobs" {
		t.Errorf("With() line = %v; want job, service and trace_id", lines[0])
	}
	// In a group the ids are in the group, but present.
	if !strings.Contains(buf.String(), `"trace_id":"`+sc.TraceID().String()+`"`) ||
		strings.Count(buf.String(), sc.SpanID().String()) != 2 {
		t.Errorf("WithGroup() line lost the trace ids:\n%s", buf.String())
	}
}

func TestText(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	log, err := logging.New(&buf, "audio", "v2", "WARN", "TEXT")
	if err != nil {
		t.Fatal(err)
	}
	ctx, sc := spanCtx(t)
	log.InfoContext(ctx, "filtered")
	log.WarnContext(ctx, "loud", "lufs", -9)
	out := buf.String()
	if strings.Contains(out, "filtered") {
		t.Errorf("info logged at level warn:\n%s", out)
	}
	for _, want := range []string{"level=WARN", "msg=loud", "service=audio", "version=v2", "lufs=-9",
		"trace_id=" + sc.TraceID().String(), "span_id=" + sc.SpanID().String()} {
		if !strings.Contains(out, want) {
			t.Errorf("text line lacks %q:\n%s", want, out)
		}
	}
}

func TestLevelsAndFormats(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		level, format string
		wantErr       string
		enabled       slog.Level
	}{
		{level: "debug", format: "json", enabled: slog.LevelDebug},
		{level: "info", format: "", enabled: slog.LevelInfo}, // empty format is JSON
		{level: "warn", format: "text", enabled: slog.LevelWarn},
		{level: "error", format: "Json", enabled: slog.LevelError},
		{level: "loud", format: "json", wantErr: `level "loud"`},
		{level: "", format: "json", wantErr: `level ""`},
		{level: "info", format: "yaml", wantErr: `format "yaml"`},
		{level: "info", format: "logfmt", wantErr: "want json or text"},
	} {
		t.Run(tt.level+"/"+tt.format, func(t *testing.T) {
			t.Parallel()
			log, err := logging.New(&bytes.Buffer{}, "svc", "dev", tt.level, tt.format)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("New(%q, %q) = %v, want an error containing %q", tt.level, tt.format, err, tt.wantErr)
				}
				if log != nil {
					t.Errorf("New(%q, %q) returned a logger with its error", tt.level, tt.format)
				}
				return
			}
			if err != nil {
				t.Fatalf("New(%q, %q) = %v", tt.level, tt.format, err)
			}
			ctx := t.Context()
			if !log.Enabled(ctx, tt.enabled) || log.Enabled(ctx, tt.enabled-1) {
				t.Errorf("New(%q) logs from level %v? enabled(%v)=%v enabled(%v)=%v", tt.level, tt.enabled,
					tt.enabled, log.Enabled(ctx, tt.enabled), tt.enabled-1, log.Enabled(ctx, tt.enabled-1))
			}
		})
	}
}
