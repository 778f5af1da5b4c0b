package spectral

import (
	"math"

	"gonum.org/v1/gonum/dsp/fourier"
)

// yin estimates f0 with the YIN algorithm (de Cheveigné & Kawahara 2002).
// Its difference function is computed through an FFT cross-correlation,
// d(τ) = e(0) + e(τ) - 2 r(τ), which makes it O(n log n) per frame instead
// of O(W·τmax).
type yin struct {
	// dec is the decimation factor: f0 lives far below Nyquist, so YIN
	// runs on every other sample (pairs averaged) when the rate allows,
	// which halves every FFT (a third of the whole audio analysis).
	dec            int
	xd             []float64
	sr             float64
	w              int // integration window
	tauMin, tauMax int
	threshold      float64
	fft            *fourier.FFT
	a, b, r        []float64
	ca, cb         []complex128
	d, cum         []float64
}

func newYIN(sampleRate, frame int, fmin, fmax, threshold float64) *yin {
	dec := 1
	// Keep the (halved) Nyquist frequency above 8× the highest f0, and
	// the (halved) frame long enough for two periods of the lowest.
	if float64(sampleRate)/2 >= 16*fmax && float64(sampleRate)/2/fmin <= float64(frame/2)/2 {
		dec = 2
	}
	sampleRate, frame = sampleRate/dec, frame/dec
	y := &yin{sr: float64(sampleRate), threshold: threshold, dec: dec, xd: make([]float64, frame)}
	y.tauMax = min(int(math.Ceil(y.sr/fmin)), frame/2)
	y.tauMin = max(2, int(math.Floor(y.sr/fmax)))
	// A window of ~half the frame: long enough for two periods of the
	// lowest f0, short enough to follow intonation.
	y.w = min(frame-y.tauMax-1, frame/2)
	m := 1
	for m < y.w+y.tauMax+1 {
		m <<= 1
	}
	y.fft = fourier.NewFFT(m)
	y.a, y.b, y.r = make([]float64, m), make([]float64, m), make([]float64, m)
	y.ca, y.cb = make([]complex128, m/2+1), make([]complex128, m/2+1)
	y.d, y.cum = make([]float64, y.tauMax+2), make([]float64, y.tauMax+2)
	return y
}

// estimate returns f0 in Hz (0 when unvoiced) and the periodicity 1 - d'min
// in [0, 1] of the frame x.
func (y *yin) estimate(x []float64) (f0, periodicity float64) {
	if y.dec == 2 {
		n := min(len(x)/2, len(y.xd))
		for i := range n {
			y.xd[i] = (x[2*i] + x[2*i+1]) / 2
		}
		x = y.xd[:n]
	}
	w, tmax := y.w, y.tauMax
	if len(x) < w+tmax+1 {
		return 0, 0
	}
	// e(τ) = Σ_{j<w} x[j+τ]^2, slid along; checked first so silence
	// costs no FFT.
	var e0 float64
	for _, v := range x[:w] {
		e0 += v * v
	}
	if e0 < 1e-12*float64(w) { // below -120 dBFS: silence has no pitch
		return 0, 0
	}
	clear(y.a)
	clear(y.b)
	copy(y.a, x[:w])
	copy(y.b, x[:w+tmax+1])
	y.fft.Coefficients(y.ca, y.a)
	y.fft.Coefficients(y.cb, y.b)
	for k := range y.ca {
		y.ca[k] = complexConj(y.ca[k]) * y.cb[k]
	}
	y.fft.Sequence(y.r, y.ca)
	inv := 1 / float64(len(y.r))
	et := e0
	y.d[0], y.cum[0] = 0, 0
	for tau := 1; tau <= tmax+1 && tau < len(y.d); tau++ {
		et += x[tau+w-1]*x[tau+w-1] - x[tau-1]*x[tau-1]
		d := e0 + et - 2*y.r[tau]*inv
		if d < 0 {
			d = 0
		}
		y.d[tau] = d
		y.cum[tau] = y.cum[tau-1] + d
	}
	// Cumulative mean normalised difference, in place.
	dn := y.d
	for tau := 1; tau < len(dn); tau++ {
		if y.cum[tau] > 0 {
			dn[tau] = dn[tau] * float64(tau) / y.cum[tau]
		} else {
			dn[tau] = 1
		}
	}
	best, bestTau := math.Inf(1), -1
	for tau := y.tauMin; tau <= tmax; tau++ {
		if dn[tau] < y.threshold {
			for tau+1 <= tmax && dn[tau+1] < dn[tau] {
				tau++
			}
			best, bestTau = dn[tau], tau
			break
		}
		if dn[tau] < best {
			best = dn[tau]
		}
	}
	periodicity = clamp01(1 - best)
	if bestTau < 0 {
		return 0, periodicity
	}
	shift := parabolic(dn[bestTau-1], dn[bestTau], dn[bestTau+1])
	return y.sr / (float64(bestTau) + shift), periodicity
}

func complexConj(c complex128) complex128 { return complex(real(c), -imag(c)) }

// parabolic returns the offset in (-0.5, 0.5) of the vertex of the parabola
// through (-1, a), (0, b), (1, c); 0 when the points are collinear.
func parabolic(a, b, c float64) float64 {
	den := a - 2*b + c
	if den == 0 || math.IsNaN(den) {
		return 0
	}
	p := 0.5 * (a - c) / den
	if p > 0.5 || p < -0.5 {
		return 0
	}
	return p
}

func clamp01(v float64) float64 {
	switch {
	case v < 0 || math.IsNaN(v):
		return 0
	case v > 1:
		return 1
	}
	return v
}
