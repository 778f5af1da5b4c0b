package loudness

import "math"

// biquad is a direct form I second-order IIR section.
type biquad struct {
	b0, b1, b2, a1, a2 float64
	x1, x2, y1, y2     float64
}

func (f *biquad) step(x float64) float64 {
	y := f.b0*x + f.b1*f.x1 + f.b2*f.x2 - f.a1*f.y1 - f.a2*f.y2
	f.x2, f.x1 = f.x1, x
	f.y2, f.y1 = f.y1, y
	return y
}

// kWeighting returns BS.1770's two filters for sample rate fs: the high
// shelf modelling the head (+4 dB above ~1.5 kHz) and the RLB high-pass.
// The analogue parameters are those that reproduce BS.1770's 48 kHz
// coefficients exactly (as derived for libebur128); the bilinear transform
// re-derives the coefficients at any rate.
func kWeighting(fs float64) (shelf, highpass biquad) {
	{
		const f0, gainDB, q = 1681.974450955533, 3.999843853973347, 0.7071752369554196
		k := math.Tan(math.Pi * f0 / fs)
		vh := math.Pow(10, gainDB/20)
		vb := math.Pow(vh, 0.4996667741545416)
		a0 := 1 + k/q + k*k
		shelf = biquad{
			b0: (vh + vb*k/q + k*k) / a0,
			b1: 2 * (k*k - vh) / a0,
			b2: (vh - vb*k/q + k*k) / a0,
			a1: 2 * (k*k - 1) / a0,
			a2: (1 - k/q + k*k) / a0,
		}
	}
	{
		const f0, q = 38.13547087602444, 0.5003270373238773
		k := math.Tan(math.Pi * f0 / fs)
		a0 := 1 + k/q + k*k
		highpass = biquad{
			b0: 1, b1: -2, b2: 1,
			a1: 2 * (k*k - 1) / a0,
			a2: (1 - k/q + k*k) / a0,
		}
	}
	return shelf, highpass
}

// True-peak oversampling: 4 phases of 12 taps (BS.1770-4 Annex 2 uses the
// same 48-tap, 4-phase structure). The prototype is a sinc low-pass at the
// original Nyquist frequency under a Kaiser window (β = 6, ~60 dB stopband).
const (
	tpPhases = 4
	tpTaps   = 12
)

var tpFilter = func() [tpPhases][tpTaps]float64 {
	var h [tpPhases][tpTaps]float64
	n := tpPhases * tpTaps
	c := float64(n-1) / 2
	const beta = 6.0
	i0b := besselI0(beta)
	for i := range n {
		t := (float64(i) - c) / tpPhases
		sinc := 1.0
		if t != 0 {
			sinc = math.Sin(math.Pi*t) / (math.Pi * t)
		}
		r := (float64(i) - c) / c
		w := besselI0(beta*math.Sqrt(math.Max(0, 1-r*r))) / i0b
		h[i%tpPhases][i/tpPhases] = sinc * w
	}
	// Unity DC gain per phase, so a constant signal interpolates to itself.
	for p := range h {
		var s float64
		for _, v := range h[p] {
			s += v
		}
		for k := range h[p] {
			h[p][k] /= s
		}
	}
	return h
}()

// tpGain is the largest L1 norm of a phase of tpFilter: no interpolated
// sample exceeds tpGain times the largest input it is made of.
var tpGain = func() float64 {
	var g float64
	for _, ph := range tpFilter {
		var s float64
		for _, v := range ph {
			s += math.Abs(v)
		}
		g = math.Max(g, s)
	}
	return g
}()

func besselI0(x float64) float64 {
	sum, term := 1.0, 1.0
	for k := 1; k < 50; k++ {
		term *= (x / 2) / float64(k)
		sum += term * term
		if term*term < 1e-17*sum {
			break
		}
	}
	return sum
}

// peakMeter tracks the sample peak and the 4x-oversampled true peak.
type peakMeter struct {
	hist       [tpTaps]float64 // last tpTaps samples, newest at hist[pos]
	pos        int
	samplePeak float64
	truePeak   float64
	// lastMax bounds the magnitudes in hist: the largest of the last
	// chunk write saw.
	lastMax float64
}

func newPeakMeter() peakMeter { return peakMeter{pos: tpTaps - 1} }

func (p *peakMeter) write(block []float32) {
	// An interpolated sample is a weighted sum of the last tpTaps inputs,
	// so it cannot exceed tpGain times the largest of them: a chunk whose
	// samples, and the previous chunk's (its history), stay under
	// truePeak/tpGain only feeds the history. Chunks are short so a
	// drum hit does not force the filter on a whole block.
	const chunk = 32 // ≥ tpTaps: the previous chunk covers the history
	for i := 0; i < len(block); i += chunk {
		c := block[i:min(len(block), i+chunk)]
		var cmax float64
		for _, s := range c {
			cmax = math.Max(cmax, math.Abs(float64(s)))
		}
		if tpGain*math.Max(cmax, p.lastMax) <= p.truePeak {
			p.samplePeak = math.Max(p.samplePeak, cmax)
			for _, s := range c {
				p.pos = (p.pos + 1) % tpTaps
				p.hist[p.pos] = float64(s)
			}
		} else {
			for _, s := range c {
				p.write1(float64(s))
			}
		}
		if len(c) >= tpTaps {
			p.lastMax = cmax
		} else {
			// A short chunk leaves older samples in the history.
			p.lastMax = math.Max(cmax, p.lastMax)
		}
	}
}

func (p *peakMeter) write1(x float64) {
	p.pos = (p.pos + 1) % tpTaps
	p.hist[p.pos] = x
	if a := math.Abs(x); a > p.samplePeak {
		p.samplePeak = a
	}
	if a := math.Abs(x); a > p.truePeak {
		p.truePeak = a
	}
	for ph := range tpPhases {
		var y float64
		i := p.pos
		for _, h := range tpFilter[ph] {
			y += h * p.hist[i]
			i--
			if i < 0 {
				i = tpTaps - 1
			}
		}
		if a := math.Abs(y); a > p.truePeak {
			p.truePeak = a
		}
	}
}
