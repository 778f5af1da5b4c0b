package whisper

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/dsp/fourier"
)

// Whisper's audio front end (openai/whisper audio.py): 16 kHz, 25 ms
// windows (400 samples) every 10 ms (160), 30-second inputs.
const (
	SampleRate   = 16000
	NFFT         = 400
	HopLength    = 160
	ChunkSeconds = 30
	ChunkSamples = ChunkSeconds * SampleRate // 480000
	ChunkFrames  = ChunkSamples / HopLength  // 3000 mel frames
)

// Mel computes Whisper's log-mel spectrogram: nMels (80 or 128) rows by
// len(x)/HopLength frames, row-major ([mel][frame]). Like whisper's
// log_mel_spectrogram: a centred STFT (reflect padding) with a periodic Hann
// window, the power spectrum of all but the last frame, Slaney mel filters
// (librosa's defaults), log10 clamped at 1e-10, floored 8 (i.e. 80 dB)
// under the maximum, then (x + 4) / 4.
type Mel struct {
	nMels   int
	filters [][]float64 // [mel][NFFT/2+1]
	window  []float64
	fft     *fourier.FFT
}

// NewMel returns the front end for nMels bins (80 for Whisper v1/v2
// models, 128 for large-v3).
func NewMel(nMels int) (*Mel, error) {
	if nMels != 80 && nMels != 128 {
		return nil, fmt.Errorf("whisper: %d mel bins: Whisper models use 80 or 128", nMels)
	}
	w := make([]float64, NFFT)
	for i := range w {
		w[i] = 0.5 - 0.5*math.Cos(2*math.Pi*float64(i)/NFFT) // periodic Hann
	}
	return &Mel{nMels: nMels, filters: melFilters(SampleRate, NFFT, nMels), window: w, fft: fourier.NewFFT(NFFT)}, nil
}

// Bins is the number of mel bins.
func (m *Mel) Bins() int { return m.nMels }

// Compute returns the log-mel spectrogram of x (16 kHz mono in [-1, 1])
// and its number of frames (len(x)/HopLength). Callers pad x to
// ChunkSamples for the model; the floor uses the maximum of all of x.
func (m *Mel) Compute(x []float32) ([]float32, int) {
	frames := len(x) / HopLength
	if frames == 0 {
		return nil, 0
	}
	// Centre: reflect-pad NFFT/2 on both sides.
	pad := NFFT / 2
	at := func(i int) float64 {
		n := len(x)
		for i < 0 || i >= n {
			if i < 0 {
				i = -i
			}
			if i >= n {
				i = 2*(n-1) - i
			}
			if n == 1 {
				i = 0
			}
		}
		return float64(x[i])
	}
	bins := NFFT/2 + 1
	power := make([]float64, bins)
	buf := make([]float64, NFFT)
	coef := make([]complex128, bins)
	out := make([]float64, m.nMels*frames)
	for f := range frames {
		start := f*HopLength - pad
		for i := range NFFT {
			buf[i] = at(start+i) * m.window[i]
		}
		m.fft.Coefficients(coef, buf)
		for k, c := range coef {
			power[k] = real(c)*real(c) + imag(c)*imag(c)
		}
		for b, flt := range m.filters {
			var s float64
			for k, w := range flt {
				s += w * power[k]
			}
			out[b*frames+f] = math.Log10(max(s, 1e-10))
		}
	}
	top := math.Inf(-1)
	for _, v := range out {
		top = max(top, v)
	}
	res := make([]float32, len(out))
	for i, v := range out {
		res[i] = float32((max(v, top-8) + 4) / 4)
	}
	return res, frames
}

// Chunk returns the model input for 30 s of audio starting at sample
// start: x[start:] trimmed or zero-padded to ChunkSamples, as
// [nMels][ChunkFrames].
func (m *Mel) Chunk(x []float32, start int) []float32 {
	seg := make([]float32, ChunkSamples)
	if start < len(x) {
		copy(seg, x[start:])
	}
	mel, _ := m.Compute(seg)
	return mel
}

// melFilters is librosa.filters.mel(sr, n_fft, n_mels) with its defaults
// (htk=False: the Slaney mel scale, linear below 1 kHz and logarithmic
// above; norm="slaney": each triangle scaled to unit area), from 0 Hz to
// sr/2.
func melFilters(sr, nFFT, nMels int) [][]float64 {
	const (
		fSp     = 200.0 / 3
		minLogH = 1000.0
		minLogM = minLogH / fSp
	)
	logstep := math.Log(6.4) / 27
	hzToMel := func(f float64) float64 {
		if f >= minLogH {
			return minLogM + math.Log(f/minLogH)/logstep
		}
		return f / fSp
	}
	melToHz := func(m float64) float64 {
		if m >= minLogM {
			return minLogH * math.Exp(logstep*(m-minLogM))
		}
		return fSp * m
	}
	bins := nFFT/2 + 1
	fftFreqs := make([]float64, bins)
	for i := range fftFreqs {
		fftFreqs[i] = float64(i) * float64(sr) / float64(nFFT)
	}
	lo, hi := hzToMel(0), hzToMel(float64(sr)/2)
	pts := make([]float64, nMels+2)
	for i := range pts {
		pts[i] = melToHz(lo + (hi-lo)*float64(i)/float64(nMels+1))
	}
	w := make([][]float64, nMels)
	for m := range nMels {
		w[m] = make([]float64, bins)
		enorm := 2 / (pts[m+2] - pts[m])
		for k, f := range fftFreqs {
			lower := (f - pts[m]) / (pts[m+1] - pts[m])
			upper := (pts[m+2] - f) / (pts[m+2] - pts[m+1])
			w[m][k] = max(0, min(lower, upper)) * enorm
		}
	}
	return w
}
