package quality

import (
	"bytes"
	"math"
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

// tinted returns a frame of w×h pixels of one colour with a little noise
// and a near-black and a clipped band, which must not count.
func tinted(r, g, b byte) *frames.Frame {
	const w, h = 64, 48
	rnd := rand.New(rand.NewPCG(3, 4))
	pix := make([]byte, w*h*3)
	for y := range h {
		for x := range w {
			c := [3]byte{r, g, b}
			switch {
			case y < 4:
				c = [3]byte{2, 3, 9} // near-black, bluish noise
			case y >= h-4:
				c = [3]byte{255, 255, 255} // clipped
			default:
				for k := range c {
					c[k] = byte(min(249, max(0, int(c[k])+rnd.IntN(5)-2)))
				}
			}
			copy(pix[3*(y*w+x):], c[:])
		}
	}
	return &frames.Frame{Width: w, Height: h, Pix: pix}
}

func TestColorTemperature(t *testing.T) {
	t.Parallel()
	measure := func(name string, f *frames.Frame) float64 {
		m, err := Frame(f)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: %.0f K", name, m.ColorTemperature)
		return m.ColorTemperature
	}
	// sRGB's white is D65 (6504 K); McCamy is within a few kelvin there,
	// and the ±2 levels of noise move it by less than 100 K.
	for _, v := range []byte{40, 128, 200} {
		if k := measure("grey", tinted(v, v, v)); math.Abs(k-6504) > 100 {
			t.Errorf("grey %d reads %.0f K, want 6504 ± 100 K", v, k)
		}
	}
	warm := measure("orange", tinted(230, 160, 90))
	tungsten := measure("tungsten-like", tinted(255-6, 190, 120))
	cool := measure("blue", tinted(150, 180, 235))
	if !(warm < 4000 && tungsten < 4500 && cool > 9000) {
		t.Errorf("orange %.0f K and tungsten-like %.0f K must be warm (< 4000/4500 K), blue %.0f K cool (> 9000 K)", warm, tungsten, cool)
	}
	if k := measure("black", tinted(5, 5, 5)); k != 0 {
		// only the bands outside are usable: the clipped one is not, so
		// nothing is left but black
		t.Errorf("a black frame reads %.0f K, want 0 (unmeasured)", k)
	}
	// The bounds hold at the extremes, and the cubic stays monotonic.
	if k := ColorTemperature(FrameXYZ([]byte{240, 0, 0})); math.Abs(k-MinColorTemperature) > 1 {
		t.Errorf("pure red reads %.0f K", k)
	}
	if k := ColorTemperature(FrameXYZ([]byte{0, 0, 240})); k != MaxColorTemperature {
		t.Errorf("pure blue reads %.0f K", k)
	}
	prev := 0.0
	for r := 249; r >= 120; r -= 8 { // from orange towards blue
		k := ColorTemperature(FrameXYZ([]byte{byte(r), 160, byte(369 - r)}))
		if k < prev {
			t.Errorf("not monotonic: R=%d reads %.0f K after %.0f K", r, k, prev)
		}
		prev = k
	}
}

func TestColorTemperaturePoolsLight(t *testing.T) {
	t.Parallel()
	a := New(1)
	// Second 0: a warm frame and a black one (which must not pull the
	// temperature anywhere); second 1: a cool frame.
	for i, f := range []*frames.Frame{tinted(230, 160, 90), tinted(0, 0, 0), tinted(150, 180, 235)} {
		f.Index, f.Time = int64(i), []float64{0.2, 0.6, 1.2}[i]
		if err := a.Add(f); err != nil {
			t.Fatal(err)
		}
	}
	res := a.Finish()
	warm, _ := Frame(tinted(230, 160, 90))
	if got := res.Seconds[0].ColorTemperature; math.Abs(got-warm.ColorTemperature) > 1 {
		t.Errorf("second 0 reads %.0f K, want the warm frame's %.0f K", got, warm.ColorTemperature)
	}
	if !(res.Seconds[1].ColorTemperature > 9000) {
		t.Errorf("second 1 reads %.0f K", res.Seconds[1].ColorTemperature)
	}
	s, n := res.Span(0, 1)
	if n != 2 || math.Abs(s.ColorTemperature-warm.ColorTemperature) > 1 {
		t.Errorf("span [0, 1): %d samples, %.0f K", n, s.ColorTemperature)
	}
	mid := res.Summary.Mean.ColorTemperature
	if !(warm.ColorTemperature < mid && mid < res.Seconds[1].ColorTemperature) {
		t.Errorf("video mean %.0f K not between the warm and cool seconds", mid)
	}
	if res.Summary.Min.ColorTemperature != warm.ColorTemperature || res.Summary.Max.ColorTemperature != res.Seconds[1].ColorTemperature {
		t.Errorf("min/max %.0f/%.0f K ignore the unmeasured black frame wrongly", res.Summary.Min.ColorTemperature, res.Summary.Max.ColorTemperature)
	}
}

// BenchmarkFrame measures one 64×48 frame's metrics, and
// BenchmarkFrameXYZ the colour temperature's share of it.
func BenchmarkFrame(b *testing.B) {
	f := tinted(200, 150, 100)
	for b.Loop() {
		if _, err := Frame(f); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkFrameXYZ(b *testing.B) {
	f := tinted(200, 150, 100)
	for b.Loop() {
		ColorTemperature(FrameXYZ(f.Pix))
	}
}
