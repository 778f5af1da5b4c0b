package ffmpegx

import (
	"path/filepath"
	"testing"
)

func TestVersion(t *testing.T) {
	t.Parallel()
	v := Version(t.Context(), "")
	if v == "" || v == "unknown" {
		t.Fatalf("Version of the installed ffmpeg = %q, want a version", v)
	}
	if again := Version(t.Context(), "ffmpeg"); again != v {
		t.Errorf("second call = %q, want %q", again, v)
	}
	if got := Version(t.Context(), filepath.Join(t.TempDir(), "no-ffmpeg")); got != "unknown" {
		t.Errorf("missing binary = %q, want unknown", got)
	}
}
