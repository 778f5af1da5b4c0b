//go:build unix

package e2e

import (
	"strings"
	"testing"
)

// TestVersion checks that `clipmesh version` prints the version stamped at
// build time.
func TestVersion(t *testing.T) {
	needBinary(t)
	t.Parallel()
	stdout, stderr, code := runCmd(t, childEnv(t), "version")
	if code != 0 {
		t.Fatalf("clipmesh version: exit %d\n%s%s", code, stdout, stderr)
	}
	// Either stream: the version is what matters here.
	out := strings.TrimSpace(stdout + stderr)
	if !strings.Contains(out, testVersion) || !strings.HasPrefix(out, "clipmesh") {
		t.Errorf("clipmesh version printed %q, want \"clipmesh %s\"", out, testVersion)
	}
	if stdout == "" {
		t.Logf("note: clipmesh version printed to stderr, not stdout: %q", stderr)
	}
}
