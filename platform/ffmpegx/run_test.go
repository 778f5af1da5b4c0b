package ffmpegx

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func TestReason(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ name, stderr, path, want string }{
		{"last line", "first\n/tmp/x.mp4: Invalid data found when processing input\n\n", "/tmp/x.mp4", "Invalid data found when processing input"},
		{"path inside", "Error opening /tmp/x.mp4 for reading", "/tmp/x.mp4", "Error opening input for reading"},
		{"empty", " \n", "/tmp/x.mp4", "unreadable input"},
		{"no path", "moov atom not found", "", "moov atom not found"},
		{"component", "[matroska,webm @ 0x55e3f793ec00] File ended prematurely\n", "/x.mkv", "File ended prematurely"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := Reason(tt.stderr, tt.path); got != tt.want {
				t.Errorf("Reason = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestTailBuffer(t *testing.T) {
	t.Parallel()
	b := &TailBuffer{Max: 10}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 100 {
				_, _ = b.Write([]byte("abc\n"))
			}
		})
	}
	wg.Wait()
	_, _ = b.Write([]byte("0123456789xyz"))
	if got := b.String(); got != "3456789xyz" {
		t.Errorf("tail = %q, want the last 10 bytes", got)
	}
}

func TestProbeJSON(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	text := filepath.Join(dir, "notes.txt")
	if err := os.WriteFile(text, []byte("not media at all\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var out struct {
		Streams []struct{} `json:"streams"`
	}
	err := ProbeJSON(t.Context(), "", text, &out, "-show_entries", "stream=index")
	if !errors.Is(err, ErrInvalid) || strings.Contains(err.Error(), text) || !strings.Contains(err.Error(), "Invalid data") {
		t.Errorf("text file: err = %v, want ErrInvalid with ffprobe's reason and no path", err)
	}
	err = ProbeJSON(t.Context(), filepath.Join(dir, "no-ffprobe"), text, &out)
	if err == nil || errors.Is(err, ErrInvalid) {
		t.Errorf("missing binary: err = %v, want a plain error", err)
	}
}
