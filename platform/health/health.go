// Package health answers liveness and readiness for a process, over
// grpc.health.v1 and over HTTP (/healthz, /readyz), from one set of checks.
package health

import (
	"context"
	"encoding/json"
	"net/http"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

// Check returns nil when the dependency it checks is usable.
type Check func(ctx context.Context) error

// Checker holds the readiness checks of a process.
type Checker struct {
	grpc     *health.Server
	mu       sync.Mutex
	checks   map[string]Check
	services []string
	stopping atomic.Bool
}

// New returns a Checker; services are the gRPC service names it reports on
// (the empty name, the whole server, is always included).
func New(services ...string) *Checker {
	return &Checker{grpc: health.NewServer(), checks: map[string]Check{}, services: append([]string{""}, services...)}
}

// GRPC returns the grpc.health.v1 server to register.
func (c *Checker) GRPC() *health.Server { return c.grpc }

// Track adds gRPC service names whose status follows the checks.
func (c *Checker) Track(services ...string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.services = append(c.services, services...)
}

// Add registers a named readiness check.
func (c *Checker) Add(name string, fn Check) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.checks[name] = fn
}

// Shutdown marks the process as going away: readiness fails from now on so
// load balancers stop sending work before the servers stop.
func (c *Checker) Shutdown() {
	c.stopping.Store(true)
	c.grpc.Shutdown()
}

// Evaluate runs every check and returns the failures by name.
func (c *Checker) Evaluate(ctx context.Context) map[string]string {
	c.mu.Lock()
	checks := make(map[string]Check, len(c.checks))
	for k, v := range c.checks {
		checks[k] = v
	}
	c.mu.Unlock()
	out := map[string]string{}
	for name, fn := range checks {
		cctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		if err := fn(cctx); err != nil {
			out[name] = err.Error()
		}
		cancel()
	}
	if c.stopping.Load() {
		out["shutdown"] = "shutting down"
	}
	return out
}

// Watch re-evaluates the checks every interval and publishes the result on
// grpc.health.v1 until ctx is done.
func (c *Checker) Watch(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		c.publish(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (c *Checker) publish(ctx context.Context) {
	if c.stopping.Load() {
		return
	}
	st := healthpb.HealthCheckResponse_SERVING
	if len(c.Evaluate(ctx)) > 0 {
		st = healthpb.HealthCheckResponse_NOT_SERVING
	}
	c.mu.Lock()
	services := append([]string(nil), c.services...)
	c.mu.Unlock()
	for _, s := range services {
		c.grpc.SetServingStatus(s, st)
	}
}

// Healthz answers liveness: the process is up and serving HTTP.
func (c *Checker) Healthz(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"status": "ok"})
}

// Readyz answers readiness: 200 when every check passes, else 503 with the
// failing checks and their reasons.
func (c *Checker) Readyz(w http.ResponseWriter, r *http.Request) {
	failed := c.Evaluate(r.Context())
	if len(failed) == 0 {
		writeJSON(w, http.StatusOK, map[string]any{"status": "ok"})
		return
	}
	names := make([]string, 0, len(failed))
	for n := range failed {
		names = append(names, n)
	}
	sort.Strings(names)
	writeJSON(w, http.StatusServiceUnavailable, map[string]any{"status": "unavailable", "failing": names, "checks": failed})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}
