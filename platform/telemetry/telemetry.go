// Package telemetry sets up OpenTelemetry for a process: W3C trace context,
// an OTLP trace exporter when OTEL_EXPORTER_OTLP_ENDPOINT is set, and OTel
// metrics exported for Prometheus on /metrics.
package telemetry

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	"go.opentelemetry.io/otel/propagation"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.26.0"
)

// Telemetry holds the providers of one process.
type Telemetry struct {
	// Registry is the Prometheus registry behind MetricsHandler.
	Registry *prometheus.Registry
	// MetricsHandler serves /metrics.
	MetricsHandler http.Handler
	// Exporting is true when traces are sent over OTLP.
	Exporting bool

	tp *sdktrace.TracerProvider
	mp *sdkmetric.MeterProvider
}

// Setup installs global tracer and meter providers and the W3C propagator.
// Call Shutdown on the result to flush at exit.
func Setup(ctx context.Context, service, version string) (*Telemetry, error) {
	res, err := resource.Merge(resource.Default(), resource.NewSchemaless(
		semconv.ServiceName(service), semconv.ServiceVersion(version)))
	if err != nil {
		return nil, fmt.Errorf("telemetry: resource: %w", err)
	}
	t := &Telemetry{Registry: prometheus.NewRegistry()}
	topts := []sdktrace.TracerProviderOption{sdktrace.WithResource(res)}
	if os.Getenv("OTEL_EXPORTER_OTLP_ENDPOINT") != "" || os.Getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") != "" {
		exp, err := otlptracegrpc.New(ctx) // reads the standard OTEL_* variables
		if err != nil {
			return nil, fmt.Errorf("telemetry: otlp exporter: %w", err)
		}
		topts = append(topts, sdktrace.WithBatcher(exp))
		t.Exporting = true
	}
	// Without an exporter spans are still created, so logs carry trace ids
	// and trace context still crosses the mesh.
	t.tp = sdktrace.NewTracerProvider(topts...)
	otel.SetTracerProvider(t.tp)
	otel.SetTextMapPropagator(propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}))

	t.Registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	pe, err := otelprom.New(otelprom.WithRegisterer(t.Registry))
	if err != nil {
		return nil, fmt.Errorf("telemetry: prometheus exporter: %w", err)
	}
	t.mp = sdkmetric.NewMeterProvider(sdkmetric.WithReader(pe), sdkmetric.WithResource(res))
	otel.SetMeterProvider(t.mp)
	t.MetricsHandler = promhttp.HandlerFor(t.Registry, promhttp.HandlerOpts{Registry: t.Registry})
	return t, nil
}

// Shutdown flushes pending spans and stops the providers.
func (t *Telemetry) Shutdown(ctx context.Context) error {
	return errors.Join(t.tp.Shutdown(ctx), t.mp.Shutdown(ctx))
}
