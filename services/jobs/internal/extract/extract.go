// Package extract makes the audio track that the audio and transcribe
// stages share: the video's sound decoded once by ffmpeg to 16 kHz mono
// 16-bit PCM WAV and stored in the blob store beside the video, keyed by
// the video's content, so every job (and tenant) with the same bytes
// reuses it.
package extract

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"

	"gocloud.dev/blob"
	"gocloud.dev/gcerrors"

	"github.com/clipmesh/clipmesh/platform/blobstore"
)

// Track format.
const (
	SampleRate  = 16000
	Kind        = "audio/pcm16k"
	ContentType = "audio/wav"
)

// Track is a stored audio track.
type Track struct {
	Key       string
	SizeBytes int64
	SHA256    string
}

// Extractor decodes audio tracks with ffmpeg.
type Extractor struct {
	Blob *blob.Bucket
	// TempDir holds the video (for buckets that are not a local folder)
	// and the track while it is made.
	TempDir string
	// FFmpeg is the ffmpeg binary (default "ffmpeg" on PATH).
	FFmpeg string
}

// Key is the blob key of the track of the content with SHA-256 sum.
func Key(sum string) string { return "derived/" + sum + "/audio-16k-mono.wav" }

// Extract returns the track of the video stored at videoKey whose content
// has SHA-256 sum, making it if it is not stored yet. duration (seconds,
// 0 if unknown) scales the progress reported to progress (in [0, 1]).
// Cancelling ctx stops ffmpeg.
func (e *Extractor) Extract(ctx context.Context, videoKey, sum string, duration float64, progress func(float64)) (Track, error) {
	key := Key(sum)
	if attrs, err := e.Blob.Attributes(ctx, key); err == nil && attrs.Metadata["sha256"] != "" {
		return Track{Key: key, SizeBytes: attrs.Size, SHA256: attrs.Metadata["sha256"]}, nil
	} else if err != nil && gcerrors.Code(err) != gcerrors.NotFound {
		return Track{}, fmt.Errorf("extract: look up %s: %w", key, err)
	}
	src, cleanup, err := blobstore.Materialize(ctx, e.Blob, videoKey, e.TempDir)
	if err != nil {
		return Track{}, fmt.Errorf("extract: video: %w", err)
	}
	defer cleanup()
	out, err := os.CreateTemp(e.TempDir, "audio-*.wav")
	if err != nil {
		return Track{}, fmt.Errorf("extract: temp file: %w", err)
	}
	_ = out.Close()
	defer func() { _ = os.Remove(out.Name()) }()
	if err := e.run(ctx, src, out.Name(), duration, progress); err != nil {
		return Track{}, err
	}
	f, err := os.Open(out.Name())
	if err != nil {
		return Track{}, fmt.Errorf("extract: reopen track: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return Track{}, fmt.Errorf("extract: hash track: %w", err)
	}
	t := Track{Key: key, SizeBytes: n, SHA256: hex.EncodeToString(h.Sum(nil))}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return Track{}, fmt.Errorf("extract: rewind track: %w", err)
	}
	// Upload writes atomically: a reader sees the whole track or none.
	if err := e.Blob.Upload(ctx, key, f, &blob.WriterOptions{ContentType: ContentType, Metadata: map[string]string{"sha256": t.SHA256}}); err != nil {
		return Track{}, fmt.Errorf("extract: store %s: %w", key, err)
	}
	return t, nil
}

// run decodes src's first audio stream into dst, reporting ffmpeg's
// position as progress.
func (e *Extractor) run(ctx context.Context, src, dst string, duration float64, progress func(float64)) error {
	bin := e.FFmpeg
	if bin == "" {
		bin = "ffmpeg"
	}
	cmd := exec.CommandContext(ctx, bin, "-nostdin", "-hide_banner", "-v", "error", "-y",
		"-i", src, "-map", "0:a:0", "-vn", "-ac", "1", "-ar", strconv.Itoa(SampleRate), "-c:a", "pcm_s16le",
		"-f", "wav", "-progress", "pipe:1", "-nostats", dst)
	stderr := &tail{}
	cmd.Stderr = stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return fmt.Errorf("extract: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("extract: start %s: %w", bin, err)
	}
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		v, ok := strings.CutPrefix(sc.Text(), "out_time_us=")
		if !ok || duration <= 0 || progress == nil {
			continue
		}
		if us, err := strconv.ParseFloat(v, 64); err == nil && us >= 0 {
			progress(min(us/1e6/duration, 1))
		}
	}
	_, _ = io.Copy(io.Discard, stdout)
	if err := cmd.Wait(); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return fmt.Errorf("extract: ffmpeg: %s", reason(stderr.String(), src))
		}
		return fmt.Errorf("extract: ffmpeg: %w", err)
	}
	return nil
}

// reason is the last line ffmpeg wrote, without the server's path.
func reason(stderr, path string) string {
	lines := strings.Split(strings.TrimSpace(stderr), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if l := strings.TrimSpace(lines[i]); l != "" {
			return strings.ReplaceAll(l, path, "input")
		}
	}
	return "failed without a message"
}

// tail keeps the last 8 KiB written to it: only the end of ffmpeg's log
// says why it stopped.
type tail struct {
	mu  sync.Mutex
	buf []byte
}

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if over := len(t.buf) - 8<<10; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
	}
	return len(p), nil
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.buf)
}
