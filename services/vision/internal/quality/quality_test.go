package quality

import (
	"bytes"
	"math/rand/v2"
	"testing"

	"github.com/clipmesh/clipmesh/platform/fixtures"
	"github.com/clipmesh/clipmesh/services/vision/internal/cv"
	"github.com/clipmesh/clipmesh/services/vision/internal/frames"
)

// firstFrame decodes frame 10 of a fixture at its native size.
func firstFrame(t *testing.T, name string) *frames.Frame {
	t.Helper()
	var got *frames.Frame
	_, err := frames.Decode(t.Context(), fixtures.MustPath(t, name), frames.Options{}, func(f *frames.Frame) error {
		if f.Index == 10 {
			c := *f
			c.Pix = bytes.Clone(f.Pix)
			got = &c
		}
		return nil
	})
	if err != nil || got == nil {
		t.Fatalf("decode %s: %v", name, err)
	}
	return got
}

func TestBlurLowersSharpness(t *testing.T) {
	t.Parallel()
	f := firstFrame(t, fixtures.NoAudio) // testsrc2
	blurred, err := cv.GaussianBlur(f.Pix, f.Width, f.Height, 3, 9, 3)
	if err != nil {
		t.Fatal(err)
	}
	b := *f
	b.Pix = blurred
	m0, err := Frame(f)
	if err != nil {
		t.Fatal(err)
	}
	m1, err := Frame(&b)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("sharpness original %.1f, blurred %.1f", m0.Sharpness, m1.Sharpness)
	if !(m1.Sharpness < m0.Sharpness/2) {
		t.Errorf("blurred sharpness %.1f not well below original %.1f", m1.Sharpness, m0.Sharpness)
	}
}

func TestColorfulness(t *testing.T) {
	t.Parallel()
	gray := make([]byte, 320*240*3)
	for i := range gray {
		gray[i] = 128
	}
	if c := Colorfulness(gray); c > 0.01 {
		t.Errorf("gray frame colorfulness %.3f, want ~0", c)
	}
	f := firstFrame(t, fixtures.NoAudio)
	m, err := Frame(f)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("testsrc2: %+v", m)
	if m.Colorfulness < 33 {
		t.Errorf("testsrc2 colorfulness %.1f, want at least 33 (moderately colourful)", m.Colorfulness)
	}
}

func TestNoiseAndContrast(t *testing.T) {
	t.Parallel()
	const w, h = 128, 128
	r := rand.New(rand.NewPCG(1, 2))
	flat := make([]byte, w*h*3)
	noisy := make([]byte, w*h*3)
	for i := 0; i < w*h; i++ {
		v := byte(min(255, max(0, 128+int(r.NormFloat64()*10))))
		for c := range 3 {
			flat[3*i+c] = 128
			noisy[3*i+c] = v
		}
	}
	mf, err := Frame(&frames.Frame{Width: w, Height: h, Pix: flat})
	if err != nil {
		t.Fatal(err)
	}
	mn, err := Frame(&frames.Frame{Width: w, Height: h, Pix: noisy})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("flat %+v; noisy σ=10 %+v", mf, mn)
	if mf.Noise != 0 || mf.Contrast != 0 || mf.Blockiness != 1 {
		t.Errorf("flat frame: %+v", mf)
	}
	if mn.Noise < 8 || mn.Noise > 12 {
		t.Errorf("noise estimate %.2f for σ = 10", mn.Noise)
	}
	if b := mn.Brightness; b < 0.49 || b > 0.51 {
		t.Errorf("brightness %.3f, want ~0.5", b)
	}
}

func TestBlockiness(t *testing.T) {
	t.Parallel()
	const w, h = 64, 64
	pix := make([]byte, w*h*3)
	for y := range h {
		for x := range w {
			v := byte(40 + 20*((x/8+y/8)%4)) // flat 8x8 blocks with steps between
			for c := range 3 {
				pix[3*(y*w+x)+c] = v + byte(x%2) // a little interior texture
			}
		}
	}
	m, err := Frame(&frames.Frame{Width: w, Height: h, Pix: pix})
	if err != nil {
		t.Fatal(err)
	}
	if m.Blockiness < 5 {
		t.Errorf("blockiness %.2f on a blocky image", m.Blockiness)
	}
}

func TestAnalyzerSummary(t *testing.T) {
	t.Parallel()
	a := New(5)
	if _, err := frames.Decode(t.Context(), fixtures.MustPath(t, fixtures.Cuts), frames.Options{Width: 160}, a.Add); err != nil {
		t.Fatal(err)
	}
	res := a.Finish()
	if res.Summary.Frames != 60 || len(res.Seconds) != 12 {
		t.Fatalf("%d samples, %d seconds", res.Summary.Frames, len(res.Seconds))
	}
	if !(res.Summary.Min.Brightness <= res.Summary.Mean.Brightness && res.Summary.Mean.Brightness <= res.Summary.Max.Brightness) {
		t.Errorf("summary out of order: %+v", res.Summary)
	}
}
