package natsx_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/clipmesh/clipmesh/platform/natsx"
)

// TestTracePropagation sets the global tracer provider and propagator, so it
// must not run in parallel with anything that reads them.
func TestTracePropagation(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	prevTP, prevProp := otel.GetTracerProvider(), otel.GetTextMapPropagator()
	otel.SetTracerProvider(tp)
	otel.SetTextMapPropagator(propagation.TraceContext{})
	t.Cleanup(func() {
		otel.SetTracerProvider(prevTP)
		otel.SetTextMapPropagator(prevProp)
		_ = tp.Shutdown(context.Background())
	})
	tracer := tp.Tracer("natsx_test")

	c := connect(t, natsx.Options{StoreDir: t.TempDir(), Name: "trace-test"})
	if _, err := c.JS.CreateStream(t.Context(), jetstream.StreamConfig{Name: "TRACE", Subjects: []string{"trace.js"}}); err != nil {
		t.Fatalf("CreateStream: %v", err)
	}
	cons, err := c.JS.CreateOrUpdateConsumer(t.Context(), "TRACE", jetstream.ConsumerConfig{Durable: "t"})
	if err != nil {
		t.Fatal(err)
	}

	// Each case publishes from inside ctx and returns the received headers.
	tests := []struct {
		name    string
		publish func(t *testing.T, ctx context.Context) nats.Header
	}{
		{"core", func(t *testing.T, ctx context.Context) nats.Header {
			sub, err := c.NC.SubscribeSync("trace.core")
			if err != nil {
				t.Fatal(err)
			}
			defer sub.Unsubscribe()
			if err := natsx.Publish(ctx, c.NC, "trace.core", newStruct(t, map[string]any{"k": "v"})); err != nil {
				t.Fatalf("Publish: %v", err)
			}
			m, err := sub.NextMsg(5 * time.Second)
			if err != nil {
				t.Fatal(err)
			}
			return m.Header
		}},
		{"jetstream", func(t *testing.T, ctx context.Context) nats.Header {
			if _, err := natsx.PublishJS(ctx, c.JS, "trace.js", newStruct(t, map[string]any{"k": "v"})); err != nil {
				t.Fatalf("PublishJS: %v", err)
			}
			m := fetch(t, cons, 1)[0]
			if err := m.Ack(); err != nil {
				t.Fatal(err)
			}
			return m.Headers()
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, span := tracer.Start(t.Context(), "publish "+tt.name)
			h := tt.publish(t, ctx)
			span.End()
			want := span.SpanContext()

			if h.Get("traceparent") == "" {
				t.Fatalf("no traceparent header in %v", h)
			}
			got := trace.SpanContextFromContext(natsx.ContextFrom(context.Background(), h))
			if !got.IsRemote() || got.TraceID() != want.TraceID() || got.SpanID() != want.SpanID() {
				t.Fatalf("ContextFrom span context = %v/%v remote=%v, want %v/%v remote",
					got.TraceID(), got.SpanID(), got.IsRemote(), want.TraceID(), want.SpanID())
			}

			// A consumer span started from that context joins the trace.
			_, consume := tracer.Start(natsx.ContextFrom(context.Background(), h), "consume "+tt.name)
			consume.End()
			i := slices.IndexFunc(rec.Ended(), func(s sdktrace.ReadOnlySpan) bool { return s.Name() == "consume "+tt.name })
			if i < 0 {
				t.Fatal("consumer span not recorded")
			}
			if s := rec.Ended()[i]; s.SpanContext().TraceID() != want.TraceID() || s.Parent().SpanID() != want.SpanID() {
				t.Errorf("consumer span trace %v parent %v, want trace %v parent %v",
					s.SpanContext().TraceID(), s.Parent().SpanID(), want.TraceID(), want.SpanID())
			}
		})
	}

	t.Run("no trace headers", func(t *testing.T) {
		got := trace.SpanContextFromContext(natsx.ContextFrom(context.Background(), nats.Header{"Content-Type": {"application/protobuf"}}))
		if got.IsValid() {
			t.Errorf("ContextFrom without headers = %v, want no span context", got)
		}
	})
}

func TestHeaderCarrier(t *testing.T) {
	t.Parallel()
	h := natsx.HeaderCarrier(nats.Header{"Traceparent": {"from-another-language"}})
	h.Set("tracestate", "k=v")
	tests := []struct {
		key, want string
	}{
		{"tracestate", "k=v"},
		{"traceparent", "from-another-language"}, // case-insensitive fallback
		{"missing", ""},
	}
	for _, tt := range tests {
		if got := h.Get(tt.key); got != tt.want {
			t.Errorf("Get(%q) = %q, want %q", tt.key, got, tt.want)
		}
	}
	keys := h.Keys()
	slices.Sort(keys)
	if !slices.Equal(keys, []string{"Traceparent", "tracestate"}) {
		t.Errorf("Keys() = %v", keys)
	}
}
