package quality

import (
	"errors"
	"math"

	"github.com/clipmesh/clipmesh/services/vision/internal/cv"
	"github.com/clipmesh/clipmesh/services/vision/internal/frames"
)

// Metrics are the measures of one frame (or their means).
type Metrics struct {
	// Sharpness is the variance of the Laplacian of luma (0–255 scale).
	Sharpness float64
	// Colorfulness is Hasler–Süsstrunk's M (0 for gray; ~33 "moderately",
	// ~59 "quite", 80+ "highly colourful").
	Colorfulness float64
	// Contrast is the RMS contrast: the standard deviation of luma in [0, 1].
	Contrast float64
	// Brightness is the mean luma in [0, 1].
	Brightness float64
	// Noise is Immerkær's estimate of the noise standard deviation (0–255).
	Noise float64
	// Blockiness is the boundary/interior step ratio on the 8×8 grid.
	Blockiness float64
	// ColorTemperature is the correlated colour temperature in kelvin of
	// the usable (neither near-black nor clipped) pixels' pooled light
	// (see ColorTemperature); 0 when no pixel was usable. For a mean it is
	// the temperature of the pooled light, not the mean of the kelvins.
	ColorTemperature float64
	// XYZ is FrameXYZ of the frame (or its mean): the light the colour
	// temperature is computed from, kept so means pool light.
	XYZ XYZ
}

// Frame measures one RGB24 frame.
func Frame(f *frames.Frame) (Metrics, error) {
	if f.Format != frames.RGB24 {
		return Metrics{}, errors.New("quality: frames must be RGB24")
	}
	w, h := f.Width, f.Height
	gray := f.Gray(nil)
	var m Metrics
	var err error
	if m.Sharpness, err = cv.LaplacianVariance(gray, w, h); err != nil {
		return Metrics{}, err
	}
	m.Colorfulness = Colorfulness(f.Pix)
	var sum, sum2 float64
	for _, g := range gray {
		v := float64(g) / 255
		sum += v
		sum2 += v * v
	}
	n := float64(len(gray))
	m.Brightness = sum / n
	m.Contrast = math.Sqrt(max(0, sum2/n-m.Brightness*m.Brightness))
	m.Noise = Noise(gray, w, h)
	m.Blockiness = Blockiness(gray, w, h)
	m.XYZ = FrameXYZ(f.Pix)
	m.ColorTemperature = ColorTemperature(m.XYZ)
	return m, nil
}

// Colorfulness is Hasler and Süsstrunk's metric on packed RGB24:
// sqrt(σ_rg² + σ_yb²) + 0.3·sqrt(μ_rg² + μ_yb²), rg = R−G, yb = (R+G)/2 − B.
func Colorfulness(rgb []byte) float64 {
	n := len(rgb) / 3
	if n == 0 {
		return 0
	}
	var srg, srg2, syb, syb2 float64
	for i := range n {
		r, g, b := float64(rgb[3*i]), float64(rgb[3*i+1]), float64(rgb[3*i+2])
		rg := r - g
		yb := (r+g)/2 - b
		srg += rg
		srg2 += rg * rg
		syb += yb
		syb2 += yb * yb
	}
	k := float64(n)
	mrg, myb := srg/k, syb/k
	vrg, vyb := max(0, srg2/k-mrg*mrg), max(0, syb2/k-myb*myb)
	return math.Sqrt(vrg+vyb) + 0.3*math.Sqrt(mrg*mrg+myb*myb)
}

// Noise is Immerkær's fast noise variance estimate:
// σ = sqrt(π/2) / (6 (W−2)(H−2)) · Σ |I ∗ N|, N = [1 −2 1; −2 4 −2; 1 −2 1].
func Noise(gray []byte, w, h int) float64 {
	if w < 3 || h < 3 {
		return 0
	}
	var sum float64
	for y := 1; y < h-1; y++ {
		for x := 1; x < w-1; x++ {
			p := func(dx, dy int) int { return int(gray[(y+dy)*w+x+dx]) }
			v := p(-1, -1) - 2*p(0, -1) + p(1, -1) -
				2*p(-1, 0) + 4*p(0, 0) - 2*p(1, 0) +
				p(-1, 1) - 2*p(0, 1) + p(1, 1)
			sum += math.Abs(float64(v))
		}
	}
	return sum * math.Sqrt(math.Pi/2) / (6 * float64(w-2) * float64(h-2))
}

// Blockiness is the mean absolute horizontal and vertical step across the
// 8×8 block boundaries divided by the mean step inside blocks (1 when there
// is no blocking, 1 when the image is flat).
func Blockiness(gray []byte, w, h int) float64 {
	var bsum, isum float64
	var bn, in int
	for y := range h {
		row := gray[y*w : (y+1)*w]
		for x := 1; x < w; x++ {
			d := math.Abs(float64(row[x]) - float64(row[x-1]))
			if x%8 == 0 {
				bsum += d
				bn++
			} else {
				isum += d
				in++
			}
		}
	}
	for y := 1; y < h; y++ {
		for x := range w {
			d := math.Abs(float64(gray[y*w+x]) - float64(gray[(y-1)*w+x]))
			if y%8 == 0 {
				bsum += d
				bn++
			} else {
				isum += d
				in++
			}
		}
	}
	if bn == 0 || in == 0 {
		return 1
	}
	b, i := bsum/float64(bn), isum/float64(in)
	if i < 1e-9 {
		if b < 1e-9 {
			return 1
		}
		return b / 1e-3
	}
	return b / i
}

// Sample is one measured frame.
type Sample struct {
	Index int64
	Time  float64
	Metrics
}

// Summary aggregates the samples.
type Summary struct {
	Mean, Min, Max Metrics
	Frames         int
}

// Result is the quality of a stream.
type Result struct {
	Samples []Sample
	// Seconds holds the mean metrics per second of video.
	Seconds []Metrics
	Summary Summary
}

// Analyzer measures every Step-th frame; it is not safe for concurrent use.
type Analyzer struct {
	step    int64
	samples []Sample
}

// New returns an analyzer measuring every step-th frame (step ≤ 1: all).
func New(step int) *Analyzer { return &Analyzer{step: int64(max(1, step))} }

// Add measures f when it is on the step; it has the signature of a
// frames.Sink.
func (a *Analyzer) Add(f *frames.Frame) error {
	if f.Index%a.step != 0 {
		return nil
	}
	m, err := Frame(f)
	if err != nil {
		return err
	}
	a.samples = append(a.samples, Sample{Index: f.Index, Time: f.Time, Metrics: m})
	return nil
}

// Finish returns the samples, per-second means and the summary.
func (a *Analyzer) Finish() Result {
	res := Result{Samples: a.samples}
	var counts []int
	for i, s := range a.samples {
		sec := int(math.Floor(s.Time))
		for len(res.Seconds) <= sec {
			res.Seconds = append(res.Seconds, Metrics{})
			counts = append(counts, 0)
		}
		res.Seconds[sec] = add(res.Seconds[sec], s.Metrics, 1)
		counts[sec]++
		res.Summary.Mean = add(res.Summary.Mean, s.Metrics, 1)
		if i == 0 {
			res.Summary.Min, res.Summary.Max = s.Metrics, s.Metrics
		} else {
			res.Summary.Min = pick(res.Summary.Min, s.Metrics, math.Min)
			res.Summary.Max = pick(res.Summary.Max, s.Metrics, math.Max)
		}
	}
	for i := range res.Seconds {
		if counts[i] > 0 {
			res.Seconds[i] = mean(res.Seconds[i], counts[i])
		}
	}
	if n := len(a.samples); n > 0 {
		res.Summary.Mean = mean(res.Summary.Mean, n)
		res.Summary.Frames = n
	}
	return res
}

// Span returns the mean metrics of the samples whose time lies in
// [start, end) (a scene's), and how many there were.
func (r Result) Span(start, end float64) (Metrics, int) {
	var sum Metrics
	n := 0
	for _, s := range r.Samples {
		if s.Time >= start && s.Time < end {
			sum = add(sum, s.Metrics, 1)
			n++
		}
	}
	if n == 0 {
		return Metrics{}, 0
	}
	return mean(sum, n), n
}

// mean divides a sum of n samples' metrics by n; the colour temperature
// is that of the pooled light.
func mean(sum Metrics, n int) Metrics {
	m := add(Metrics{}, sum, 1/float64(n))
	m.ColorTemperature = ColorTemperature(m.XYZ)
	return m
}

func add(a, b Metrics, k float64) Metrics {
	return Metrics{
		Sharpness: a.Sharpness + k*b.Sharpness, Colorfulness: a.Colorfulness + k*b.Colorfulness,
		Contrast: a.Contrast + k*b.Contrast, Brightness: a.Brightness + k*b.Brightness,
		Noise: a.Noise + k*b.Noise, Blockiness: a.Blockiness + k*b.Blockiness,
		ColorTemperature: a.ColorTemperature + k*b.ColorTemperature,
		XYZ:              XYZ{a.XYZ[0] + k*b.XYZ[0], a.XYZ[1] + k*b.XYZ[1], a.XYZ[2] + k*b.XYZ[2]},
	}
}

func pick(a, b Metrics, f func(x, y float64) float64) Metrics {
	return Metrics{
		Sharpness: f(a.Sharpness, b.Sharpness), Colorfulness: f(a.Colorfulness, b.Colorfulness),
		Contrast: f(a.Contrast, b.Contrast), Brightness: f(a.Brightness, b.Brightness),
		Noise: f(a.Noise, b.Noise), Blockiness: f(a.Blockiness, b.Blockiness),
		ColorTemperature: pickMeasured(a.ColorTemperature, b.ColorTemperature, f),
	}
}

// pickMeasured is f over the colour temperatures that were measured (0
// means none was).
func pickMeasured(a, b float64, f func(x, y float64) float64) float64 {
	switch {
	case a == 0:
		return b
	case b == 0:
		return a
	}
	return f(a, b)
}
