package decode

import (
	"context"
	"errors"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/clipmesh/clipmesh/platform/fixtures"
)

func TestStreamTone(t *testing.T) {
	t.Parallel()
	path := fixtures.MustPath(t, fixtures.Tone440)
	var n48, n22 atomic.Int64
	var peak float64
	info, err := Stream(context.Background(), path, Options{},
		Output{SampleRate: 48000, Sink: func(b []float32) error {
			n48.Add(int64(len(b)))
			for _, v := range b {
				peak = math.Max(peak, math.Abs(float64(v)))
			}
			return nil
		}},
		Output{SampleRate: 22050, BlockSize: 1000, Sink: func(b []float32) error {
			if len(b) > 1000 {
				t.Errorf("block of %d samples, want <= 1000", len(b))
			}
			n22.Add(int64(len(b)))
			return nil
		}},
	)
	if err != nil {
		t.Fatal(err)
	}
	if info.SampleRate != fixtures.ToneSampleRate || info.Channels != 1 {
		t.Errorf("info = %+v", info)
	}
	if math.Abs(info.DurationSeconds-fixtures.ToneSeconds) > 0.01 {
		t.Errorf("duration = %v, want %v", info.DurationSeconds, fixtures.ToneSeconds)
	}
	if got, want := n48.Load(), int64(fixtures.ToneSeconds*48000); got != want {
		t.Errorf("48 kHz samples = %d, want %d", got, want)
	}
	if got, want := n22.Load(), int64(fixtures.ToneSeconds*22050); math.Abs(float64(got-want)) > 64 {
		t.Errorf("22.05 kHz samples = %d, want ~%d", got, want)
	}
	if math.Abs(peak-fixtures.ToneAmplitude) > 0.001 {
		t.Errorf("peak = %v, want %v", peak, fixtures.ToneAmplitude)
	}
}

func TestStreamBadInput(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		fixture string
		want    error
		reason  string
	}{
		{"no audio", fixtures.NoAudio, ErrNoAudio, ""},
		{"truncated", fixtures.Truncated, ErrInvalid, "Invalid data"},
		{"garbage", fixtures.Garbage, ErrInvalid, "Invalid data"},
		{"empty", fixtures.Empty, ErrInvalid, "Invalid data"},
		{"text", fixtures.Text, ErrInvalid, "Invalid data"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			path := fixtures.MustPath(t, tt.fixture)
			called := false
			_, err := Stream(context.Background(), path, Options{},
				Output{SampleRate: 22050, Sink: func([]float32) error { called = true; return nil }})
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if !strings.Contains(err.Error(), tt.reason) {
				t.Errorf("err = %q, want ffmpeg's reason containing %q", err, tt.reason)
			}
			if strings.Contains(err.Error(), path) {
				t.Errorf("err %q leaks the path", err)
			}
			if called {
				t.Error("sink called for bad input")
			}
		})
	}
}

// TestStreamCorruptPayload checks that damage ffprobe cannot see (a valid
// header over garbage audio frames) surfaces ffmpeg's error line.
func TestStreamCorruptPayload(t *testing.T) {
	t.Parallel()
	src := fixtures.MustPath(t, fixtures.AudioOnly)
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "bad.m4a")
	if err := os.WriteFile(path, data[:len(data)/2], 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = Stream(context.Background(), path, Options{},
		Output{SampleRate: 16000, Sink: func([]float32) error { return nil }})
	// A half file is either rejected with ffmpeg's reason or decoded up to
	// the cut; both are acceptable, a hang or a panic is not.
	if err != nil && !errors.Is(err, ErrInvalid) {
		t.Fatalf("err = %v, want nil or ErrInvalid", err)
	}
}

func TestStreamSinkError(t *testing.T) {
	t.Parallel()
	path := fixtures.MustPath(t, fixtures.SpeechWAV)
	boom := errors.New("boom")
	_, err := Stream(context.Background(), path, Options{},
		Output{SampleRate: 16000, BlockSize: 256, Sink: func([]float32) error { return boom }},
		Output{SampleRate: 8000, BlockSize: 256, Sink: func([]float32) error { return nil }})
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v, want %v", err, boom)
	}
}

// TestStreamCancelKillsFFmpeg cancels a long decode behind a slow consumer:
// Stream must return promptly with the context's error. Stream returns only
// after cmd.Wait, so returning means ffmpeg was killed and reaped.
func TestStreamCancelKillsFFmpeg(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		t.Skip("no ffmpeg")
	}
	// 10 minutes at 8 kHz behind a sink that sleeps 1 ms per 512 samples
	// would take ~20 s to finish: cancel after the first block.
	path := filepath.Join(t.TempDir(), "long.wav")
	gen := exec.Command("ffmpeg", "-nostdin", "-v", "error", "-f", "lavfi", "-i",
		"sine=frequency=300:sample_rate=8000:duration=600", "-ac", "1", path)
	if out, err := gen.CombinedOutput(); err != nil {
		t.Fatalf("making input: %v\n%s", err, out)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	first := make(chan struct{})
	var once atomic.Bool
	done := make(chan error, 1)
	go func() {
		_, err := Stream(ctx, path, Options{}, Output{SampleRate: 8000, BlockSize: 512, Sink: func([]float32) error {
			if once.CompareAndSwap(false, true) {
				close(first)
			}
			time.Sleep(time.Millisecond) // a slow consumer: ffmpeg blocks on the pipe
			return nil
		}})
		done <- err
	}()
	select {
	case <-first:
	case <-time.After(30 * time.Second):
		t.Fatal("no audio within 30 s")
	}
	start := time.Now()
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("err = %v, want context.Canceled", err)
		}
		if d := time.Since(start); d > 3*time.Second {
			t.Errorf("Stream returned %v after cancel", d)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Stream did not return within 10 s of cancel")
	}
}
