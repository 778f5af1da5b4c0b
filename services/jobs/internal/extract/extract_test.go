package extract_test

import (
	"context"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gocloud.dev/blob/memblob"

	"github.com/clipmesh/clipmesh/platform/fixtures"
	"github.com/clipmesh/clipmesh/services/jobs/internal/extract"
)

func TestExtract(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	bucket := memblob.OpenBucket(nil)
	raw, err := os.ReadFile(fixtures.MustPath(t, fixtures.Cuts))
	if err != nil {
		t.Fatal(err)
	}
	if err := bucket.WriteAll(ctx, "videos/abc", raw, nil); err != nil {
		t.Fatal(err)
	}
	e := &extract.Extractor{Blob: bucket, TempDir: t.TempDir()}
	var last float64
	tr, err := e.Extract(ctx, "videos/abc", "abc", 6, func(f float64) {
		if f < last || f > 1 {
			t.Errorf("progress went from %v to %v", last, f)
		}
		last = f
	})
	if err != nil {
		t.Fatalf("Extract: %v", err)
	}
	wav, err := bucket.ReadAll(ctx, tr.Key)
	if err != nil {
		t.Fatal(err)
	}
	if tr.Key != extract.Key("abc") || tr.SizeBytes != int64(len(wav)) || len(tr.SHA256) != 64 {
		t.Errorf("track = %+v (stored %d bytes)", tr, len(wav))
	}
	if string(wav[:4]) != "RIFF" || binary.LittleEndian.Uint16(wav[22:]) != 1 || binary.LittleEndian.Uint32(wav[24:]) != extract.SampleRate {
		t.Errorf("track is not 16 kHz mono WAV: %q", wav[:36])
	}
	if last == 0 {
		t.Error("no progress reported")
	}

	// A second extraction finds the stored track (this ffmpeg would fail).
	again := &extract.Extractor{Blob: bucket, TempDir: t.TempDir(), FFmpeg: "/nonexistent/ffmpeg"}
	tr2, err := again.Extract(ctx, "videos/abc", "abc", 6, nil)
	if err != nil || tr2 != tr {
		t.Errorf("second Extract = %+v, %v; want the stored %+v", tr2, err, tr)
	}
}

func TestExtractNotMedia(t *testing.T) {
	t.Parallel()
	bucket := memblob.OpenBucket(nil)
	if err := bucket.WriteAll(t.Context(), "videos/bad", []byte("not a video at all"), nil); err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	_, err := (&extract.Extractor{Blob: bucket, TempDir: tmp}).Extract(t.Context(), "videos/bad", "bad", 0, nil)
	if err == nil || !strings.Contains(err.Error(), "ffmpeg") || strings.Contains(err.Error(), tmp) {
		t.Errorf("Extract of garbage = %v; want ffmpeg's reason without the server's path", err)
	}
	if ok, _ := bucket.Exists(t.Context(), extract.Key("bad")); ok {
		t.Error("a failed extraction stored a track")
	}
}

// TestExtractCancel checks that cancelling the context stops ffmpeg at
// once (here a stand-in that would run for a minute).
func TestExtractCancel(t *testing.T) {
	t.Parallel()
	bucket := memblob.OpenBucket(nil)
	if err := bucket.WriteAll(t.Context(), "videos/x", []byte("x"), nil); err != nil {
		t.Fatal(err)
	}
	slow := filepath.Join(t.TempDir(), "ffmpeg")
	if err := os.WriteFile(slow, []byte("#!/bin/sh\nexec sleep 60\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := (&extract.Extractor{Blob: bucket, TempDir: t.TempDir(), FFmpeg: slow}).Extract(ctx, "videos/x", "x", 0, nil)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Extract after its context ended = %v, want context.DeadlineExceeded", err)
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("Extract took %s after its context ended", took)
	}
}
