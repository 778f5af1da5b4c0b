package frames

import (
	"bytes"
	"context"
	"errors"
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
