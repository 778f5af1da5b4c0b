//go:build unix

package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/clipmesh/clipmesh/platform/models"
)

// Bounds of the process lifecycle.
const (
	// readyTimeout bounds a server's start, until /readyz answers 200.
	readyTimeout = 60 * time.Second
	// shutdownTimeout is passed as --shutdown-timeout; a server must exit
	// within it (plus stopGrace) after SIGTERM.
	shutdownTimeout = 10 * time.Second
	stopGrace       = 5 * time.Second
	// cmdTimeout bounds a one-shot command (keys, version, analyze).
	cmdTimeout = 90 * time.Second
)

// syncBuffer is a bytes.Buffer safe for the exec copier goroutine writing
// while a test reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// proc is a started clipmesh process in its own process group.
type proc struct {
	cmd            *exec.Cmd
	stdout, stderr *syncBuffer
	done           chan struct{}
	waitErr        error // set before done is closed
}

// childEnv is the environment of every child: this process's, without any
// CLIPMESH_* or OTEL_* variable that could change what is tested (a
// developer's CLIPMESH_API_KEY, CLIPMESH_DATA_DIR, an OTLP endpoint), with
// HOME and the XDG directories pointed at an empty temporary directory so
// nothing is read from or written to the real home — except the models
// cache, which `make deps` fills and the services need to be ready.
func childEnv(t *testing.T) []string {
	t.Helper()
	env, _ := childEnvHome(t)
	return env
}

// childEnvHome is childEnv that also returns the temporary home directory.
func childEnvHome(t *testing.T) (env []string, home string) {
	t.Helper()
	home = t.TempDir()
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch {
		case strings.HasPrefix(k, "CLIPMESH_"), strings.HasPrefix(k, "OTEL_"),
			k == "HOME", strings.HasPrefix(k, "XDG_"):
			continue
		}
		env = append(env, kv)
	}
	modelsDir, err := models.Dir("")
	if err != nil {
		t.Fatalf("models dir: %v", err)
	}
	env = append(env, "HOME="+home,
		"XDG_DATA_HOME="+home+"/.local/share", "XDG_CACHE_HOME="+home+"/.cache",
		"XDG_CONFIG_HOME="+home+"/.config", "XDG_STATE_HOME="+home+"/.local/state",
		models.EnvDir+"="+modelsDir)
	return env, home
}

// startProc starts the binary with args in its own process group. At
// cleanup, if it is still running, the whole group is killed.
func startProc(t *testing.T, env []string, args ...string) *proc {
	t.Helper()
	p := &proc{stdout: &syncBuffer{}, stderr: &syncBuffer{}, done: make(chan struct{})}
	p.cmd = exec.Command(needBinary(t), args...)
	p.cmd.Env = env
	p.cmd.Stdout, p.cmd.Stderr = p.stdout, p.stderr
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	// A grandchild (ffprobe) holding the output pipes must not block Wait.
	p.cmd.WaitDelay = 5 * time.Second
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start clipmesh %s: %v", strings.Join(args, " "), err)
	}
	go func() {
		p.waitErr = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		if !p.exited() {
			t.Errorf("clipmesh %s still running at cleanup: killing its process group", args[0])
			p.killGroup()
		}
		<-p.done
	})
	return p
}

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// killGroup sends SIGKILL to the process and everything it started.
func (p *proc) killGroup() {
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
}

// exitCode is the exit status once done is closed (-1 if killed by a signal).
func (p *proc) exitCode() int { return p.cmd.ProcessState.ExitCode() }

// runCmd runs a one-shot clipmesh command to completion (bounded by
// cmdTimeout, after which its process group is killed) and returns its
// stdout, stderr and exit code.
func runCmd(t *testing.T, env []string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), cmdTimeout)
	defer cancel()
	var out, errb bytes.Buffer
	cmd := exec.CommandContext(ctx, needBinary(t), args...)
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = &out, &errb
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
	case ctx.Err() != nil:
		t.Fatalf("clipmesh %s: no result within %s\nstderr:\n%s", strings.Join(args, " "), cmdTimeout, errb.String())
	case errors.As(err, &exit):
	default:
		t.Fatalf("clipmesh %s: %v", strings.Join(args, " "), err)
	}
	return out.String(), errb.String(), cmd.ProcessState.ExitCode()
}

// freePort returns a TCP port that was free a moment ago on host. Another
// process may take it before the server binds it; startServe retries then.
func freePort(t *testing.T, host string) string {
	t.Helper()
	ln, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		t.Fatalf("free port: %v", err)
	}
	defer ln.Close()
	return strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
}

// server is a running `clipmesh serve`.
type server struct {
	*proc
	// GRPC is the address to dial (loopback even when bound to 0.0.0.0).
	GRPC string
	// URL is the REST base URL, e.g. http://127.0.0.1:1234.
	URL string
	// AdminURL is the pprof base URL.
	AdminURL string
}

// serveOptions choose the bind host of each listener.
type serveOptions struct {
	// GRPCHost and HTTPHost default to 127.0.0.1.
	GRPCHost, HTTPHost string
}

// startServe runs `clipmesh serve` on dataDir with free ports and waits
// until /readyz answers 200. At cleanup it sends SIGTERM and fails the test
// unless the server exits 0 within the shutdown timeout.
func startServe(t *testing.T, dataDir string, o serveOptions) *server {
	t.Helper()
	if o.GRPCHost == "" {
		o.GRPCHost = "127.0.0.1"
	}
	if o.HTTPHost == "" {
		o.HTTPHost = "127.0.0.1"
	}
	env := childEnv(t)
	for attempt := 1; ; attempt++ {
		gp, hp, ap := freePort(t, o.GRPCHost), freePort(t, o.HTTPHost), freePort(t, "127.0.0.1")
		s := &server{
			GRPC:     net.JoinHostPort("127.0.0.1", gp),
			URL:      "http://" + net.JoinHostPort("127.0.0.1", hp),
			AdminURL: "http://" + net.JoinHostPort("127.0.0.1", ap),
		}
		start := time.Now()
		s.proc = startProc(t, env, "serve", "--data-dir", dataDir,
			"--grpc-addr", net.JoinHostPort(o.GRPCHost, gp),
			"--http-addr", net.JoinHostPort(o.HTTPHost, hp),
			"--admin-addr", net.JoinHostPort("127.0.0.1", ap),
			"--shutdown-timeout", shutdownTimeout.String(),
			"--log-format", "json")
		err := s.waitReady(t)
		if err == nil {
			t.Logf("clipmesh serve ready in %s (grpc %s, http %s)", time.Since(start).Round(time.Millisecond), s.GRPC, s.URL)
			t.Cleanup(func() { s.stop(t) })
			return s
		}
		if s.exited() && strings.Contains(s.stderr.String(), "address already in use") && attempt < 3 {
			t.Logf("port taken between picking and binding; retrying: %v", err)
			continue
		}
		if !s.exited() {
			s.killGroup()
			<-s.done
		}
		t.Fatalf("clipmesh serve did not become ready: %v\nstderr:\n%s", err, s.stderr.String())
	}
}

// waitReady polls /readyz until it answers 200, the process exits or
// readyTimeout passes.
func (s *server) waitReady(t *testing.T) error {
	t.Helper()
	client := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(readyTimeout)
	last := "no answer"
	for time.Now().Before(deadline) {
		resp, err := client.Get(s.URL + "/readyz")
		if err == nil {
			body := readAll(t, resp)
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			last = fmt.Sprintf("%d %s", resp.StatusCode, body)
		} else {
			last = err.Error()
		}
		select {
		case <-s.done:
			return fmt.Errorf("exited with %v before it was ready", s.waitErr)
		case <-time.After(100 * time.Millisecond):
		}
	}
	return fmt.Errorf("/readyz not 200 within %s (last: %s)", readyTimeout, last)
}

// stop sends SIGTERM and checks the graceful shutdown: exit status 0 within
// the shutdown timeout. If it does not exit, its process group is killed.
func (s *server) stop(t *testing.T) {
	t.Helper()
	if s.exited() {
		t.Errorf("clipmesh serve exited before the test ended: %v\nstderr:\n%s", s.waitErr, s.stderr.String())
		return
	}
	start := time.Now()
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Errorf("SIGTERM: %v", err)
	}
	select {
	case <-s.done:
	case <-time.After(shutdownTimeout + stopGrace):
		s.killGroup()
		<-s.done
		t.Errorf("clipmesh serve did not exit within %s of SIGTERM (killed)\nstderr:\n%s", shutdownTimeout+stopGrace, s.stderr.String())
		return
	}
	took := time.Since(start).Round(time.Millisecond)
	if code := s.exitCode(); code != 0 {
		t.Errorf("clipmesh serve exited with status %d after SIGTERM (want 0)\nstderr:\n%s", code, s.stderr.String())
		return
	}
	t.Logf("clipmesh serve shut down gracefully in %s", took)
	// Nothing it started may outlive it: the group must be empty now.
	if err := syscall.Kill(-s.cmd.Process.Pid, 0); err == nil {
		t.Errorf("processes of clipmesh serve's group are still running after it exited: killing them")
		s.killGroup()
	}
}
