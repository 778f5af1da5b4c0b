package analyze

import (
	"context"
	"encoding/binary"
	"errors"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/clipmesh/clipmesh/platform/fixtures"
	"github.com/clipmesh/clipmesh/services/audio/internal/decode"
	"github.com/clipmesh/clipmesh/services/audio/internal/loudness"
)

// emptyWAV writes a valid 16-bit mono WAV with no samples.
func emptyWAV(t *testing.T) string {
	t.Helper()
	h := make([]byte, 44)
	copy(h[0:], "RIFF")
	binary.LittleEndian.PutUint32(h[4:], 36)
	copy(h[8:], "WAVEfmt ")
	binary.LittleEndian.PutUint32(h[16:], 16)
	binary.LittleEndian.PutUint16(h[20:], 1)     // PCM
	binary.LittleEndian.PutUint16(h[22:], 1)     // mono
	binary.LittleEndian.PutUint32(h[24:], 48000) // rate
	binary.LittleEndian.PutUint32(h[28:], 96000) // byte rate
	binary.LittleEndian.PutUint16(h[32:], 2)     // block align
	binary.LittleEndian.PutUint16(h[34:], 16)    // bits
	copy(h[36:], "data")
	path := filepath.Join(t.TempDir(), "zero.wav")
	if err := os.WriteFile(path, h, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestRun(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		path  func(t *testing.T) string
		check func(t *testing.T, r *Result)
	}{
		{"speech video", func(t *testing.T) string { return fixtures.MustPath(t, fixtures.SpeechMP4) }, func(t *testing.T, r *Result) {
			if !r.HasAudio || math.Abs(r.DurationSeconds-fixtures.SpeechSeconds) > 0.1 {
				t.Errorf("has audio %v, duration %v (want %v)", r.HasAudio, r.DurationSeconds, fixtures.SpeechSeconds)
			}
			if !r.Loudness.HasSignal || r.Spectral.Summary.F0Median == 0 || len(r.Rhythm.Onsets) == 0 {
				t.Errorf("speech: loudness %+v, f0 %v, %d onsets", r.Loudness.HasSignal, r.Spectral.Summary.F0Median, len(r.Rhythm.Onsets))
			}
		}},
		{"no audio", func(t *testing.T) string { return fixtures.MustPath(t, fixtures.NoAudio) }, func(t *testing.T, r *Result) {
			if r.HasAudio {
				t.Error("HasAudio for a video without audio")
			}
		}},
		{"zero seconds", emptyWAV, func(t *testing.T, r *Result) {
			if !r.HasAudio || r.DurationSeconds != 0 || r.Spectral.Summary.Frames != 0 || len(r.Rhythm.Beats) != 0 ||
				r.Loudness.HasSignal || r.Loudness.IntegratedLUFS != loudness.GateLUFS {
				t.Errorf("zero seconds: %+v", r)
			}
		}},
		{"silent audio", func(t *testing.T) string { return fixtures.MustPath(t, fixtures.Still) }, func(t *testing.T, r *Result) {
			if !r.HasAudio || r.Loudness.HasSignal || len(r.Rhythm.Onsets) != 0 || r.Rhythm.TempoBPM != 0 ||
				r.Spectral.Summary.VoicedRatio != 0 || len(r.Spectral.Series) != int(fixtures.StillSeconds) {
				t.Errorf("silence: has audio %v, loudness %+v, rhythm %+v, spectral %+v",
					r.HasAudio, r.Loudness, r.Rhythm, r.Spectral.Summary)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r, err := Run(context.Background(), tt.path(t), Options{})
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, r)
			checkFinite(t, r)
		})
	}
}

func TestRunBadMedia(t *testing.T) {
	t.Parallel()
	for _, name := range fixtures.BadMedia {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			_, err := Run(context.Background(), fixtures.MustPath(t, name), Options{})
			if !errors.Is(err, decode.ErrInvalid) {
				t.Errorf("err = %v, want ErrInvalid", err)
			}
		})
	}
}

func TestRunCancel(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "long.wav")
	if out, err := exec.Command("ffmpeg", "-nostdin", "-v", "error", "-f", "lavfi", "-i",
		"sine=frequency=300:sample_rate=22050:duration=600", path).CombinedOutput(); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	start := time.Now()
	var cancelled time.Time
	_, err := Run(ctx, path, Options{Progress: func(done, total float64) {
		if done > 5 && cancelled.IsZero() {
			cancelled = time.Now()
			cancel()
		}
	}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	t.Logf("cancelled after %v, returned %v later", cancelled.Sub(start), time.Since(cancelled))
	if d := time.Since(cancelled); d > 3*time.Second {
		t.Errorf("Run returned %v after cancel", d)
	}
}

// TestSpeed reports the analysis speed on a long file as a multiple of real
// time. It is a measurement, not an assertion: set CLIPMESH_AUDIO_SPEED_FILE.
func TestSpeed(t *testing.T) {
	path := os.Getenv("CLIPMESH_AUDIO_SPEED_FILE")
	if path == "" {
		t.Skip("set CLIPMESH_AUDIO_SPEED_FILE to a long media file")
	}
	start := time.Now()
	r, err := Run(context.Background(), path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	el := time.Since(start)
	t.Logf("%.0f s of audio in %v: %.1fx real time; tempo %.1f BPM, %d onsets, %d beats, I %.1f LUFS, LRA %.1f LU, TP %.1f dBTP",
		r.DurationSeconds, el.Round(time.Millisecond), r.DurationSeconds/el.Seconds(), r.Rhythm.TempoBPM,
		len(r.Rhythm.Onsets), len(r.Rhythm.Beats), r.Loudness.IntegratedLUFS, r.Loudness.RangeLU, r.Loudness.TruePeakDBTP)
}

func checkFinite(t *testing.T, v any) {
	t.Helper()
	var walk func(path string, v reflect.Value)
	walk = func(path string, v reflect.Value) {
		switch v.Kind() {
		case reflect.Float32, reflect.Float64:
			if f := v.Float(); math.IsNaN(f) || math.IsInf(f, 0) {
				t.Errorf("%s = %v", path, f)
			}
		case reflect.Struct:
			for i := range v.NumField() {
				walk(path+"."+v.Type().Field(i).Name, v.Field(i))
			}
		case reflect.Slice, reflect.Array:
			for i := range v.Len() {
				walk(path+"[]", v.Index(i))
			}
		case reflect.Pointer:
			if !v.IsNil() {
				walk(path, v.Elem())
			}
		}
	}
	walk("result", reflect.ValueOf(v))
}
