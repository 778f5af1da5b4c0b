package ffmpegx

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"regexp"
	"strings"
	"sync"
)

// ErrInvalid is wrapped by ProbeJSON when ffprobe refuses the input: it is
// not readable media. The message after it is ffprobe's own reason.
var ErrInvalid = errors.New("invalid media")

// context is the "[matroska,webm @ 0x55e3f793ec00] " prefix ffmpeg puts
// before a component's messages: the address differs on every run.
var ffContext = regexp.MustCompile(`^\[[^\]@]+ @ 0x[0-9a-f]+\] `)

// Reason condenses a tool's stderr into one line for an error message: the
// last non-empty line, without ffmpeg's "[component @ 0xaddress]" prefix,
// with the input path replaced by "input" so messages neither leak server
// paths nor differ between callers or runs. Empty stderr reads
// "unreadable input".
func Reason(stderr, path string) string {
	lines := strings.Split(strings.TrimSpace(stderr), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		l := strings.TrimSpace(lines[i])
		if l == "" {
			continue
		}
		if path != "" {
			l = strings.ReplaceAll(l, path+": ", "")
			l = strings.ReplaceAll(l, path, "input")
		}
		return ffContext.ReplaceAllString(l, "")
	}
	return "unreadable input"
}

// TailBuffer is an io.Writer that keeps only the last Max bytes written
// (default 8 KiB): ffmpeg may log one line per damaged packet of a long
// file, and only the end explains why it stopped. It is safe for
// concurrent use, since os/exec copies stderr from a goroutine of its own.
type TailBuffer struct {
	// Max is the number of bytes kept; zero means 8 KiB.
	Max int

	mu  sync.Mutex
	buf []byte
}

// Write implements io.Writer; it never fails.
func (b *TailBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	limit := b.Max
	if limit <= 0 {
		limit = 8 << 10
	}
	b.buf = append(b.buf, p...)
	if over := len(b.buf) - limit; over > 0 {
		b.buf = append(b.buf[:0], b.buf[over:]...)
	}
	return len(p), nil
}

// String returns the bytes kept.
func (b *TailBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(b.buf)
}

// ProbeJSON runs `bin -v error <args...> -of json -- path` (bin "ffprobe"
// when empty) and decodes its standard output into out. When ffprobe exits
// with an error the result wraps ErrInvalid followed by Reason of its
// stderr; a cancelled ctx returns ctx.Err(); a missing binary or
// unparsable output is an ordinary error.
func ProbeJSON(ctx context.Context, bin, path string, out any, args ...string) error {
	if bin == "" {
		bin = "ffprobe"
	}
	argv := append([]string{"-v", "error"}, args...)
	argv = append(argv, "-of", "json", "--", path)
	cmd := exec.CommandContext(ctx, bin, argv...)
	var stdout bytes.Buffer
	stderr := &TailBuffer{}
	cmd.Stdout, cmd.Stderr = &stdout, stderr
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return fmt.Errorf("%w: %s", ErrInvalid, Reason(stderr.String(), path))
		}
		return fmt.Errorf("ffmpegx: running %s: %w", bin, err)
	}
	if err := json.Unmarshal(stdout.Bytes(), out); err != nil {
		return fmt.Errorf("ffmpegx: parsing %s output: %w", bin, err)
	}
	return nil
}
