package spectral

import "math"

// Slaney's mel scale (Auditory Toolbox, librosa's default htk=False): linear
// below 1 kHz, logarithmic above.
const (
	melFSp      = 200.0 / 3
	melMinLogHz = 1000.0
	melMinLog   = melMinLogHz / melFSp
)

var melLogStep = math.Log(6.4) / 27

// HzToMel converts a frequency to Slaney mels.
func HzToMel(f float64) float64 {
	if f >= melMinLogHz {
		return melMinLog + math.Log(f/melMinLogHz)/melLogStep
	}
	return f / melFSp
}

// MelToHz converts Slaney mels to a frequency.
func MelToHz(m float64) float64 {
	if m >= melMinLog {
		return melMinLogHz * math.Exp(melLogStep*(m-melMinLog))
	}
	return melFSp * m
}

// MelFilterbank is a bank of triangular filters over FFT bins with Slaney
// area normalisation (each triangle scaled by 2/width in Hz), so a band's
// output is power density, not power summed over a wider band: this is what
// librosa.filters.mel(norm="slaney") builds.
type MelFilterbank struct {
	// Centers are the centre frequencies of the bands in Hz.
	Centers []float64
	start   []int
	weights [][]float64
}

// NewMelFilterbank builds bands mel bands between fmin and fmax for an FFT of
// size nfft at sampleRate.
func NewMelFilterbank(sampleRate, nfft, bands int, fmin, fmax float64) *MelFilterbank {
	bins := nfft/2 + 1
	lo, hi := HzToMel(fmin), HzToMel(fmax)
	pts := make([]float64, bands+2)
	for i := range pts {
		pts[i] = MelToHz(lo + (hi-lo)*float64(i)/float64(bands+1))
	}
	fb := &MelFilterbank{Centers: make([]float64, bands), start: make([]int, bands), weights: make([][]float64, bands)}
	binHz := float64(sampleRate) / float64(nfft)
	for b := range bands {
		fb.Centers[b] = pts[b+1]
		enorm := 2 / (pts[b+2] - pts[b])
		first, w := -1, []float64(nil)
		for k := range bins {
			f := float64(k) * binHz
			lower := (f - pts[b]) / (pts[b+1] - pts[b])
			upper := (pts[b+2] - f) / (pts[b+2] - pts[b+1])
			v := math.Max(0, math.Min(lower, upper))
			if v <= 0 {
				if first >= 0 {
					break
				}
				continue
			}
			if first < 0 {
				first = k
			}
			w = append(w, v*enorm)
		}
		if first < 0 {
			first = 0
		}
		fb.start[b], fb.weights[b] = first, w
	}
	return fb
}

// Bands returns the number of bands.
func (fb *MelFilterbank) Bands() int { return len(fb.weights) }

// Apply writes the band powers of the power spectrum p into dst.
func (fb *MelFilterbank) Apply(dst, p []float64) {
	for b, w := range fb.weights {
		var s float64
		base := p[fb.start[b]:]
		for i, v := range w {
			s += v * base[i]
		}
		dst[b] = s
	}
}
