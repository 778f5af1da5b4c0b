package natsx_test

import (
	"bytes"
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/clipmesh/clipmesh/platform/natsx"
)

// TestExternalServer runs a real nats-server process, built from the module
// this package already depends on, and uses it through natsx as a service
// deployed against external NATS would.
func TestExternalServer(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs a nats-server process; skipped with -short")
	}
	t.Parallel()
	ctx := t.Context()
	url := startNATSServer(t, natsServerBinary(t))

	c := connect(t, natsx.Options{URL: url, Name: "external-test"})
	if c.Embedded() {
		t.Error("Embedded() = true, want false")
	}
	if got := c.ClientURL(); got != url {
		t.Errorf("ClientURL() = %q, want %q", got, url)
	}
	if err := c.Ready(ctx); err != nil {
		t.Fatalf("Ready: %v", err)
	}

	if _, err := c.JS.CreateStream(ctx, jetstream.StreamConfig{Name: "RENDERS", Subjects: []string{"renders.>"}}); err != nil {
		t.Fatalf("CreateStream: %v", err)
	}
	cons, err := c.JS.CreateOrUpdateConsumer(ctx, "RENDERS", jetstream.ConsumerConfig{
		Durable:   "clips",
		AckPolicy: jetstream.AckExplicitPolicy,
	})
	if err != nil {
		t.Fatalf("CreateOrUpdateConsumer: %v", err)
	}
	want := newStruct(t, map[string]any{"clip": "c1", "aspect": "9:16"})
	if _, err := natsx.PublishJS(ctx, c.JS, "renders.requested", want); err != nil {
		t.Fatalf("PublishJS: %v", err)
	}
	m := fetch(t, cons, 1)[0]
	checkMsg(t, m.Headers(), m.Data(), want)
	if err := m.DoubleAck(ctx); err != nil {
		t.Fatalf("DoubleAck: %v", err)
	}
}

// natsServerBinary returns a nats-server built from the module cache, cached
// in the user cache dir per server version so only the first run pays for the
// build.
func natsServerBinary(t *testing.T) string {
	t.Helper()
	cache, err := os.UserCacheDir()
	if err != nil {
		t.Fatalf("user cache dir: %v", err)
	}
	dir := filepath.Join(cache, "clipmesh", "bin")
	bin := filepath.Join(dir, "nats-server-v"+server.VERSION)
	if _, err := os.Stat(bin); err == nil {
		return bin
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("go tool not found to build nats-server: %v", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	// Build next to the target and rename, so concurrent test runs never see
	// a half-written binary.
	tmp, err := os.CreateTemp(dir, ".nats-server-*")
	if err != nil {
		t.Fatal(err)
	}
	tmp.Close()
	defer os.Remove(tmp.Name())
	start := time.Now()
	// Run from the package dir: inside the platform module, whose go.mod
	// pins nats-server, so the build needs only the module cache.
	cmd := exec.Command(goTool, "build", "-o", tmp.Name(), "github.com/nats-io/nats-server/v2")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build nats-server: %v\n%s", err, out)
	}
	if err := os.Rename(tmp.Name(), bin); err != nil {
		t.Fatal(err)
	}
	t.Logf("built %s in %s", bin, time.Since(start).Round(time.Millisecond))
	return bin
}

// startNATSServer runs bin with JetStream on a free loopback port, waits until
// it accepts connections, kills it at cleanup and returns its URL.
func startNATSServer(t *testing.T, bin string) string {
	t.Helper()
	addr := freeAddr(t)
	host, port, _ := net.SplitHostPort(addr)
	var out lockedBuffer
	cmd := exec.Command(bin, "-js", "-sd", t.TempDir(), "-a", host, "-p", port)
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start nats-server: %v", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
		if t.Failed() {
			t.Logf("nats-server output:\n%s", out.String())
		}
	})

	deadline := time.Now().Add(15 * time.Second)
	for {
		select {
		case err := <-exited:
			exited <- err // for the cleanup
			t.Fatalf("nats-server exited early: %v\n%s", err, out.String())
		default:
		}
		conn, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			conn.Close()
			return "nats://" + addr
		}
		if time.Now().After(deadline) {
			t.Fatalf("nats-server not accepting on %s: %v\n%s", addr, err, out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// freeAddr returns a loopback address with a port nothing listens on now.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// silentServer accepts TCP connections and never answers, like a
// firewall or a wrong service on the NATS port: the client hangs waiting
// for INFO, so only the timeout and ctx can end the connect.
func silentServer(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu    sync.Mutex
		conns []net.Conn
	)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		l.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return l.Addr().String()
}

func TestConnectExternalUnreachable(t *testing.T) {
	t.Parallel()
	refused := freeAddr(t)
	silent := silentServer(t)

	tests := []struct {
		name      string
		url       string
		timeout   time.Duration
		cancel    bool     // cancel ctx before Connect
		wantIn    []string // substrings of the error
		wantNotIn string
		wantIs    error
	}{
		{
			name:    "connection refused",
			url:     "nats://" + refused,
			timeout: 5 * time.Second,
			wantIn:  []string{"nats://" + refused},
		},
		{
			name:    "server never answers",
			url:     "nats://" + silent,
			timeout: 500 * time.Millisecond,
			wantIn:  []string{"nats://" + silent},
		},
		{
			name:    "several urls",
			url:     "nats://" + refused + ",nats://" + silent,
			timeout: 500 * time.Millisecond,
			wantIn:  []string{"nats://" + refused, "nats://" + silent},
		},
		{
			name:      "password redacted",
			url:       "nats://svc:s3cret@" + refused,
			timeout:   5 * time.Second,
			wantIn:    []string{"nats://svc:xxxxx@" + refused},
			wantNotIn: "s3cret",
		},
		{
			name:      "token redacted",
			url:       "nats://t0ken@" + refused,
			timeout:   5 * time.Second,
			wantIn:    []string{"nats://xxxxx@" + refused},
			wantNotIn: "t0ken",
		},
		{
			name:    "ctx already cancelled",
			url:     "nats://" + silent,
			timeout: 5 * time.Second,
			cancel:  true,
			wantIn:  []string{"nats://" + silent},
			wantIs:  context.Canceled,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(t.Context(), tt.timeout)
			defer cancel()
			if tt.cancel {
				cancel()
			}
			start := time.Now()
			c, err := natsx.Connect(ctx, natsx.Options{URL: tt.url, Name: "unreachable-test", Logger: testLogger(t)})
			elapsed := time.Since(start)
			if err == nil {
				closeConn(t, c)
				t.Fatal("Connect succeeded, want error")
			}
			t.Logf("error after %s: %v", elapsed.Round(time.Millisecond), err)
			// Some slack for scheduling under -race, but far below the 10s default.
			if limit := tt.timeout + time.Second; elapsed > limit {
				t.Errorf("Connect returned after %s, want within %s", elapsed, limit)
			}
			for _, s := range tt.wantIn {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not name %q", err, s)
				}
			}
			if tt.wantNotIn != "" && strings.Contains(err.Error(), tt.wantNotIn) {
				t.Errorf("error %q leaks %q", err, tt.wantNotIn)
			}
			if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
				t.Errorf("error %v is not %v", err, tt.wantIs)
			}
		})
	}
}
