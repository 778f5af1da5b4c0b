package frames

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/clipmesh/clipmesh/platform/fixtures"
)

func TestDecodeSharedByEverySink(t *testing.T) {
	t.Parallel()
	p := fixtures.MustPath(t, fixtures.Cuts)
	var a, b []int64
	var sums [2][]int
	sink := func(idx *[]int64, sum *[]int) Sink {
		return func(f *Frame) error {
			*idx = append(*idx, f.Index)
			s := 0
			for _, v := range f.Pix {
				s += int(v)
			}
			*sum = append(*sum, s)
			if want := float64(f.Index) / fixtures.FPS; f.Time != want {
				t.Errorf("frame %d at %v, want %v", f.Index, f.Time, want)
			}
			return nil
		}
	}
	res, err := Decode(t.Context(), p, Options{Width: 160, Format: Gray}, sink(&a, &sums[0]), sink(&b, &sums[1]))
	if err != nil {
		t.Fatal(err)
	}
	want := int64(fixtures.CutsSeconds * fixtures.FPS)
	if res.Frames != want || len(a) != int(want) || len(b) != int(want) {
		t.Fatalf("frames %d (sinks %d, %d), want %d", res.Frames, len(a), len(b), want)
	}
	if res.Width != 160 || res.Height != 120 || res.FPS != fixtures.FPS {
		t.Errorf("output %dx%d @ %v, want 160x120 @ %d", res.Width, res.Height, res.FPS, fixtures.FPS)
	}
	for i := range sums[0] {
		if sums[0][i] != sums[1][i] || a[i] != int64(i) {
			t.Fatalf("sinks saw different frame %d", i)
		}
	}
}

func TestDecodeRateAndFormat(t *testing.T) {
	t.Parallel()
	p := fixtures.MustPath(t, fixtures.Still)
	var n int
	var first []byte
	res, err := Decode(t.Context(), p, Options{Width: 64, Height: 48, FPS: 5}, func(f *Frame) error {
		if len(f.Pix) != 64*48*3 {
			t.Fatalf("frame of %d bytes", len(f.Pix))
		}
		if first == nil {
			first = bytes.Clone(f.Pix)
		}
		n++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := int(fixtures.StillSeconds * 5); n != want || res.Frames != int64(want) {
		t.Errorf("%d frames at 5 fps, want %d", n, want)
	}
	f := Frame{Width: 64, Height: 48, Pix: first}
	if g := f.Gray(nil); len(g) != 64*48 {
		t.Errorf("gray of %d bytes", len(g))
	}
}

func TestDecodeCancelKillsFFmpeg(t *testing.T) {
	t.Parallel()
	p := fixtures.MustPath(t, fixtures.Cuts)
	ctx, cancel := context.WithCancel(t.Context())
	start := time.Now()
	_, err := Decode(ctx, p, Options{Width: 32}, func(f *Frame) error {
		if f.Index == 3 {
			cancel()
			time.Sleep(50 * time.Millisecond) // ffmpeg blocks on the pipe meanwhile
		}
		return nil
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("cancelled decode took %v", d)
	}
}

func TestDecodeSinkErrorStops(t *testing.T) {
	t.Parallel()
	p := fixtures.MustPath(t, fixtures.Cuts)
	stop := errors.New("enough")
	res, err := Decode(t.Context(), p, Options{Width: 32}, func(f *Frame) error {
		if f.Index == 10 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || res.Frames != 10 {
		t.Fatalf("err = %v after %d frames, want %v after 10", err, res.Frames, stop)
	}
}

func TestDecodeBadInput(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		want error
	}{
		{fixtures.AudioOnly, ErrNoVideo},
		{fixtures.Garbage, ErrInvalid},
		{fixtures.Truncated, ErrInvalid},
		{fixtures.Empty, ErrInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := fixtures.MustPath(t, tc.name)
			_, err := Decode(t.Context(), p, Options{Width: 32}, func(*Frame) error { return nil })
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
}

// TestDecodeTruncatedTail cuts the cut fixture's bytes at 60% in containers
// that keep their index up front (Matroska, faststart MP4): ffmpeg decodes
// the head and exits 0, so only the comparison with the declared duration
// tells the file stopped early. The frames that decoded are delivered and
// the error says where it stopped.
func TestDecodeTruncatedTail(t *testing.T) {
	t.Parallel()
	src := fixtures.MustPath(t, fixtures.Cuts)
	for _, tc := range []struct{ name, ext string }{{"matroska", ".mkv"}, {"faststart mp4", ".mp4"}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			full := filepath.Join(t.TempDir(), "full"+tc.ext)
			if out, err := exec.Command("ffmpeg", "-nostdin", "-v", "error", "-i", src, "-c", "copy", "-movflags", "+faststart", full).CombinedOutput(); err != nil {
				t.Fatalf("%v: %s", err, out)
			}
			data, err := os.ReadFile(full)
			if err != nil {
				t.Fatal(err)
			}
			cut := filepath.Join(t.TempDir(), "cut"+tc.ext)
			if err := os.WriteFile(cut, data[:len(data)*6/10], 0o644); err != nil {
				t.Fatal(err)
			}
			var delivered int64
			res, err := Decode(t.Context(), cut, Options{Width: 32}, func(*Frame) error { delivered++; return nil })
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), fmt.Sprintf("stopped after frame %d ", res.Frames)) {
				t.Fatalf("err = %v, want ErrInvalid saying where it stopped", err)
			}
			total := int64(fixtures.CutsSeconds * fixtures.FPS)
			if res.Frames != delivered || res.Frames < total/4 || res.Frames > total*9/10 {
				t.Errorf("%d frames decoded (%d delivered) of %d", res.Frames, delivered, total)
			}
			if strings.Contains(err.Error(), cut) {
				t.Errorf("error leaks the path: %v", err)
			}
			t.Log(err)
		})
	}
	// The whole file is complete.
	if _, err := Decode(t.Context(), src, Options{Width: 32}, func(*Frame) error { return nil }); err != nil {
		t.Errorf("complete file: %v", err)
	}
}
