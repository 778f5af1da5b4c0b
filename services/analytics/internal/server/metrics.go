package server

import (
	"context"
	"fmt"
	"log/slog"
	"sync"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/clipmesh/clipmesh/services/analytics/internal/resultstore"
)

// MeterName is the instrumentation scope of the service's metrics.
const MeterName = "github.com/clipmesh/clipmesh/services/analytics"

// Metrics are the OTel instruments of the service (exported on /metrics as
// clipmesh_analytics_fusions_total, clipmesh_analytics_video_seconds_total,
// clipmesh_analytics_tenant_videos, clipmesh_analytics_tenant_minutes and
// clipmesh_analytics_tenant_engagement_avg, each with a tenant label). The
// tenant gauges read a snapshot of the SQL aggregates, loaded at start and
// refreshed after each fusion of the tenant.
type Metrics struct {
	fusions metric.Int64Counter
	seconds metric.Float64Counter
	logger  *slog.Logger

	mu    sync.Mutex
	stats map[string]resultstore.Stats
}

// NewMetrics registers the instruments on mp and loads the current
// aggregates of every tenant from st.
func NewMetrics(ctx context.Context, mp metric.MeterProvider, st *resultstore.Store, logger *slog.Logger) (*Metrics, error) {
	m := &Metrics{logger: logger, stats: map[string]resultstore.Stats{}}
	meter := mp.Meter(MeterName)
	var err error
	if m.fusions, err = meter.Int64Counter("clipmesh.analytics.fusions",
		metric.WithDescription("Fusions run, per tenant.")); err != nil {
		return nil, fmt.Errorf("analytics metrics: %w", err)
	}
	if m.seconds, err = meter.Float64Counter("clipmesh.analytics.video.seconds",
		metric.WithDescription("Seconds of video fused, per tenant.")); err != nil {
		return nil, fmt.Errorf("analytics metrics: %w", err)
	}
	videos, err := meter.Int64ObservableGauge("clipmesh.analytics.tenant.videos",
		metric.WithDescription("Videos with stored analytics, per tenant."))
	if err != nil {
		return nil, fmt.Errorf("analytics metrics: %w", err)
	}
	minutes, err := meter.Float64ObservableGauge("clipmesh.analytics.tenant.minutes",
		metric.WithDescription("Minutes of video with stored analytics, per tenant."))
	if err != nil {
		return nil, fmt.Errorf("analytics metrics: %w", err)
	}
	avg, err := meter.Float64ObservableGauge("clipmesh.analytics.tenant.engagement.avg",
		metric.WithDescription("Mean of the videos' average engagement, per tenant."))
	if err != nil {
		return nil, fmt.Errorf("analytics metrics: %w", err)
	}
	if _, err := meter.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		m.mu.Lock()
		defer m.mu.Unlock()
		for t, s := range m.stats {
			attrs := metric.WithAttributes(attribute.String("tenant", t))
			o.ObserveInt64(videos, s.Videos, attrs)
			o.ObserveFloat64(minutes, s.Seconds/60, attrs)
			o.ObserveFloat64(avg, s.AvgEngagement, attrs)
		}
		return nil
	}, videos, minutes, avg); err != nil {
		return nil, fmt.Errorf("analytics metrics: %w", err)
	}
	tenants, err := st.Tenants(ctx)
	if err != nil {
		return nil, err
	}
	for _, t := range tenants {
		s, err := st.TenantStats(ctx, t, 1)
		if err != nil {
			return nil, err
		}
		m.stats[t] = s
	}
	return m, nil
}

// fused counts a fusion and refreshes the tenant's gauges from st.
func (m *Metrics) fused(ctx context.Context, st *resultstore.Store, tenant string, seconds float64) {
	if m == nil {
		return
	}
	attrs := metric.WithAttributes(attribute.String("tenant", tenant))
	m.fusions.Add(ctx, 1, attrs)
	m.seconds.Add(ctx, seconds, attrs)
	s, err := st.TenantStats(ctx, tenant, 1)
	if err != nil {
		// The fusion is stored; only the gauges are stale until the next.
		m.logger.WarnContext(ctx, "tenant aggregates not refreshed", "tenant", tenant, "err", err)
		return
	}
	m.mu.Lock()
	m.stats[tenant] = s
	m.mu.Unlock()
}
