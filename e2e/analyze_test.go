//go:build unix

package e2e

import (
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	jobsv1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/jobs/v1"
	"github.com/clipmesh/clipmesh/platform/fixtures"
)

// defaultServer is where `clipmesh analyze` without --server looks for a
// running clipmesh before starting the mesh in its own process.
const defaultServer = "127.0.0.1:9090"

// TestAnalyzeInProcess runs `clipmesh analyze` with no server to talk to:
// it must start the mesh in its own process on --data-dir, print the result
// as JSON and write it into --out, touching nothing in the home directory.
func TestAnalyzeInProcess(t *testing.T) {
	needBinary(t)
	t.Parallel()
	cuts := fixtures.MustPath(t, fixtures.Cuts)
	// With something on 127.0.0.1:9090, analyze would use it (if it is a
	// clipmesh) instead of starting the mesh, and this test would not test
	// what it says.
	ln, err := net.Listen("tcp", defaultServer)
	if err != nil {
		t.Skipf("%s is in use (%v): `clipmesh analyze` without --server would talk to it; free the port to run this test", defaultServer, err)
	}
	_ = ln.Close()

	dataDir, outDir := filepath.Join(t.TempDir(), "data"), filepath.Join(t.TempDir(), "out")
	env, home := childEnvHome(t)

	stdout, stderr, code := runCmd(t, env, "analyze", "--data-dir", dataDir, "--json", "--out", outDir, cuts)
	if code != 0 {
		t.Fatalf("clipmesh analyze (in-process): exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	var job jobsv1.Job
	if err := unmarshal.Unmarshal([]byte(stdout), &job); err != nil {
		t.Fatalf("clipmesh analyze --json: stdout is not one job as JSON: %v\n%s\nstderr:\n%s", err, stdout, stderr)
	}
	if job.GetState() != jobsv1.JobState_JOB_STATE_SUCCEEDED {
		t.Errorf("analyze: state %s (error %q), want JOB_STATE_SUCCEEDED", job.GetState(), job.GetError())
	}
	checkCutsProbe(t, "analyze (in-process)", job.GetResult().GetVideo().GetProbe())

	// --out holds the same result.
	files, err := filepath.Glob(filepath.Join(outDir, "*.json"))
	if err != nil || len(files) != 1 {
		t.Fatalf("--out %s: want one .json file, found %v (%v)", outDir, files, err)
	}
	raw, err := os.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	var saved jobsv1.Job
	if err := unmarshal.Unmarshal(raw, &saved); err != nil {
		t.Fatalf("%s is not a job as JSON: %v", files[0], err)
	}
	if saved.GetId() != job.GetId() || saved.GetVideoId() != job.GetVideoId() {
		t.Errorf("%s holds job %s of %s; stdout printed job %s of %s", files[0], saved.GetId(), saved.GetVideoId(), job.GetId(), job.GetVideoId())
	}
	if !strings.Contains(filepath.Base(files[0]), job.GetVideoId()) {
		t.Errorf("--out file %s is not named after the video %s", filepath.Base(files[0]), job.GetVideoId())
	}

	// The mesh lived in --data-dir, not in the home directory.
	if _, err := os.Stat(filepath.Join(dataDir, "nats")); err != nil {
		t.Errorf("--data-dir %s was not used: %v", dataDir, err)
	}
	var stray []string
	_ = filepath.WalkDir(home, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			stray = append(stray, p)
		}
		return nil
	})
	if len(stray) > 0 {
		t.Errorf("clipmesh analyze --data-dir wrote into the home directory: %v", stray)
	}
}
