//go:build unix

package e2e

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// testVersion is stamped into the binary with -ldflags -X, so TestVersion
// also checks that the documented way of setting the version works.
const testVersion = "v0.0.0-e2e"

// Set by TestMain.
var (
	// binary is the path of the built clipmesh binary; empty in -short mode.
	binary string
	// buildErr is why the build failed; every test that needs the binary
	// fails with it.
	buildErr error
)

func TestMain(m *testing.M) {
	flag.Parse()
	if testing.Short() {
		os.Exit(m.Run()) // every test skips; build nothing
	}
	dir, err := os.MkdirTemp("", "clipmesh-e2e-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		os.Exit(1)
	}
	start := time.Now()
	binary, buildErr = build(dir)
	if buildErr == nil {
		fmt.Fprintf(os.Stderr, "e2e: built %s in %s\n", binary, time.Since(start).Round(time.Millisecond))
	}
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

// build compiles ./cmd/clipmesh from the repository root into dir. The
// binary is built without -race whatever the test flags: the race detector
// applies to the test code, and an instrumented mesh is slow to start.
func build(dir string) (string, error) {
	root, err := repoRoot()
	if err != nil {
		return "", err
	}
	out := filepath.Join(dir, "clipmesh")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "build",
		"-ldflags", "-X github.com/clipmesh/clipmesh/platform/app.Version="+testVersion,
		"-o", out, "./cmd/clipmesh")
	cmd.Dir = root
	if msg, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/clipmesh in %s: %w\n%s", root, err, msg)
	}
	return out, nil
}

// repoRoot is the directory of the root module's go.mod: `go env GOMOD` run
// in this package's directory (go test runs the test binary there), else the
// parent of this source file's directory.
func repoRoot() (string, error) {
	cmd := exec.Command("go", "env", "GOMOD")
	if out, err := cmd.Output(); err == nil {
		if mod := strings.TrimSpace(string(out)); mod != "" && mod != os.DevNull && filepath.IsAbs(mod) {
			root := filepath.Dir(mod)
			if _, err := os.Stat(filepath.Join(root, "cmd", "clipmesh")); err == nil {
				return root, nil
			}
		}
	}
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return "", errors.New("cannot locate the repository root")
	}
	root := filepath.Dir(filepath.Dir(file))
	if _, err := os.Stat(filepath.Join(root, "cmd", "clipmesh")); err != nil {
		return "", fmt.Errorf("cannot locate the repository root (tried %s): %w", root, err)
	}
	return root, nil
}

// needBinary skips the test in -short mode and fails it if the build
// failed; it returns the binary's path.
func needBinary(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end test: builds and runs the clipmesh binary (skipped with -short)")
	}
	if buildErr != nil {
		t.Fatalf("building clipmesh: %v", buildErr)
	}
	return binary
}

// TestRepoRootHasModule is the only quick test: it checks that the
// repository root is found the way TestMain finds it.
func TestRepoRootHasModule(t *testing.T) {
	root, err := repoRoot()
	if err != nil {
		t.Fatal(err)
	}
	mod, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(mod, []byte("module github.com/clipmesh/clipmesh\n")) {
		t.Fatalf("%s/go.mod is not the root module:\n%s", root, mod)
	}
}
