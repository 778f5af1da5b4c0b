package spectral

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/dsp/fourier"
)

// STFT turns a stream of samples into centred, Hann-windowed spectra. It is
// exported because the rhythm package runs its own STFT with a shorter hop
// (onset times need finer resolution than timbre features).
type STFT struct {
	n, hop int
	win    []float64
	fft    *fourier.FFT
	// buf holds samples not yet consumed by a frame; it starts with n/2
	// zeros so frame k is centred on sample k*hop (librosa's center=True).
	buf      []float64
	windowed []float64
	frame    STFTFrame
	scale    float64
	total    int64
	flushed  bool
}

// STFTFrame is one analysis frame. Its slices belong to the STFT and are
// valid only during the callback.
type STFTFrame struct {
	// Index is the frame number; the frame is centred on sample Index*hop.
	Index int
	// Samples are the frame's raw (unwindowed) samples.
	Samples []float64
	// Power is |X[k]|^2 scaled so that a full-scale sine whose frequency
	// falls on bin k gives Power[k] ~= 1 (magnitude normalised by the
	// window's sum / 2): levels read as dB relative to full scale.
	Power []float64
	// Magnitude is sqrt(Power).
	Magnitude []float64
}

// NewSTFT returns an STFT of frame size n (even, >= 4) and hop (1..n).
func NewSTFT(n, hop int) (*STFT, error) {
	if n < 4 || n%2 != 0 || hop < 1 || hop > n {
		return nil, fmt.Errorf("spectral: frame size %d and hop %d: need an even size >= 4 and 1 <= hop <= size", n, hop)
	}
	s := &STFT{
		n: n, hop: hop,
		win:      make([]float64, n),
		fft:      fourier.NewFFT(n),
		buf:      make([]float64, n/2, 2*n),
		windowed: make([]float64, n),
	}
	var sum float64
	for i := range s.win {
		// Periodic Hann (scipy's/librosa's default for spectral analysis):
		// overlapping frames at hop n/4 sum to a constant.
		s.win[i] = 0.5 - 0.5*math.Cos(2*math.Pi*float64(i)/float64(n))
		sum += s.win[i]
	}
	s.scale = 2 / sum
	bins := n/2 + 1
	s.frame.Power = make([]float64, bins)
	s.frame.Magnitude = make([]float64, bins)
	s.frame.Samples = make([]float64, n)
	return s, nil
}

// Size returns the frame size.
func (s *STFT) Size() int { return s.n }

// Hop returns the hop size.
func (s *STFT) Hop() int { return s.hop }

// Push appends samples and calls fn for every frame they complete.
func (s *STFT) Push(x []float32, fn func(*STFTFrame)) {
	for _, v := range x {
		s.buf = append(s.buf, float64(v))
	}
	s.total += int64(len(x))
	s.drain(fn)
}

// Flush pads the end with zeros (as librosa's centring does) and emits the
// remaining frames: 1 + total/hop frames in all, none for an empty input.
func (s *STFT) Flush(fn func(*STFTFrame)) {
	if s.flushed {
		return
	}
	s.flushed = true
	if s.total == 0 {
		return
	}
	// n/2 zeros of padding at each end give exactly 1 + total/hop frames.
	s.buf = append(s.buf, make([]float64, s.n/2)...)
	s.drain(fn)
}

func (s *STFT) drain(fn func(*STFTFrame)) {
	head := 0
	for len(s.buf)-head >= s.n {
		s.emit(s.buf[head:head+s.n], fn)
		head += s.hop
	}
	if head > 0 {
		s.buf = append(s.buf[:0], s.buf[head:]...)
	}
}

func (s *STFT) emit(x []float64, fn func(*STFTFrame)) {
	f := &s.frame
	copy(f.Samples, x)
	for i, v := range x {
		s.windowed[i] = v * s.win[i]
	}
	coef := s.fft.Coefficients(nil, s.windowed)
	for k, c := range coef {
		re, im := real(c)*s.scale, imag(c)*s.scale
		p := re*re + im*im
		f.Power[k] = p
		f.Magnitude[k] = math.Sqrt(p)
	}
	fn(f)
	f.Index++
}
