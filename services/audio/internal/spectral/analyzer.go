package spectral

import (
	"fmt"
	"math"
	"slices"
)

// Config sets the analysis. Zero fields take the defaults in brackets.
type Config struct {
	SampleRate int // input rate in Hz [22050]
	FrameSize  int // STFT frame in samples, even [2048]
	Hop        int // hop in samples [512]
	MelBands   int // mel bands [64]
	// MelFMin and MelFMax bound the mel filterbank in Hz [0, SampleRate/2].
	MelFMin, MelFMax float64
	// RolloffPercent is the share of spectral magnitude below the rolloff
	// frequency [0.85].
	RolloffPercent float64
	// PitchMin and PitchMax bound the f0 search in Hz [60, 500]: the range
	// of speaking voices, low male to child.
	PitchMin, PitchMax float64
	// PitchThreshold is YIN's absolute threshold on the normalised
	// difference [0.15]; frames above it are unvoiced.
	PitchThreshold float64
	// SeriesSeconds is the width of a Series point [1].
	SeriesSeconds float64
	// MelRowSeconds is the width of a row of the downsampled mel
	// spectrogram [0.25]: 28 800 rows x 64 bands of float32 (7.4 MB) for two
	// hours.
	MelRowSeconds float64
}

func (c Config) withDefaults() Config {
	def := func(v *float64, d float64) {
		if *v == 0 {
			*v = d
		}
	}
	if c.SampleRate == 0 {
		c.SampleRate = 22050
	}
	if c.FrameSize == 0 {
		c.FrameSize = 2048
	}
	if c.Hop == 0 {
		c.Hop = 512
	}
	if c.MelBands == 0 {
		c.MelBands = 64
	}
	def(&c.MelFMax, float64(c.SampleRate)/2)
	def(&c.RolloffPercent, 0.85)
	def(&c.PitchMin, 60)
	def(&c.PitchMax, 500)
	def(&c.PitchThreshold, 0.15)
	def(&c.SeriesSeconds, 1)
	def(&c.MelRowSeconds, 0.25)
	return c
}

func (c Config) validate() error {
	switch {
	case c.SampleRate < 1000:
		return fmt.Errorf("spectral: sample rate %d Hz is too low", c.SampleRate)
	case c.MelFMin < 0 || c.MelFMax <= c.MelFMin || c.MelFMax > float64(c.SampleRate)/2:
		return fmt.Errorf("spectral: mel range [%v, %v] Hz outside [0, %v]", c.MelFMin, c.MelFMax, c.SampleRate/2)
	case c.RolloffPercent <= 0 || c.RolloffPercent >= 1:
		return fmt.Errorf("spectral: rolloff percent %v not in (0, 1)", c.RolloffPercent)
	case c.PitchMin <= 0 || c.PitchMax <= c.PitchMin || c.PitchMax >= float64(c.SampleRate)/4:
		return fmt.Errorf("spectral: pitch range [%v, %v] Hz is invalid", c.PitchMin, c.PitchMax)
	case float64(c.SampleRate)/c.PitchMin > float64(c.FrameSize)/2:
		return fmt.Errorf("spectral: frame of %d samples too short for pitch down to %v Hz", c.FrameSize, c.PitchMin)
	case c.SeriesSeconds <= 0 || c.MelRowSeconds <= 0:
		return fmt.Errorf("spectral: series and mel row widths must be positive")
	}
	return nil
}

// Frame is the analysis of one STFT frame. Mel and Power belong to the
// Analyzer and are valid only during the OnFrame callback.
type Frame struct {
	Index int
	// Time is the frame centre in seconds.
	Time float64
	// RMS is the root mean square of the raw frame (full scale = 1).
	RMS float64
	// ZCR is the share of adjacent sample pairs that change sign.
	ZCR float64
	// Centroid and Bandwidth (Hz) are the magnitude-weighted mean frequency
	// and the standard deviation around it.
	Centroid, Bandwidth float64
	// Rolloff (Hz) is the frequency below which RolloffPercent of the
	// magnitude lies.
	Rolloff float64
	// Flatness is the geometric over the arithmetic mean of the power
	// spectrum: ~1 for white noise, ~0 for a pure tone.
	Flatness float64
	// Flux is the L2 norm of the magnitude increase since the previous
	// frame (0 for the first): how much new energy arrived.
	Flux float64
	// DominantHz is the frequency of the strongest bin, refined by
	// parabolic interpolation of its log power; 0 for silence.
	DominantHz float64
	// F0 is the YIN pitch in Hz, 0 when the frame is unvoiced.
	F0 float64
	// Periodicity is 1 minus YIN's minimum normalised difference, in [0, 1].
	Periodicity float64
	// Mel is the power in each mel band.
	Mel []float64
	// Power is the frame's power spectrum (see STFTFrame.Power).
	Power []float64
}

// Point aggregates the frames whose centre falls in [Time, Time+Seconds).
type Point struct {
	Time, Seconds float64
	// Means over the frames.
	RMS, ZCR, Centroid, Bandwidth, Rolloff, Flatness, Flux float64
	// DominantHz is the peak of the window's mean power spectrum.
	DominantHz float64
	// F0 is the median pitch of the voiced frames (0 if none).
	F0 float64
	// VoicedRatio is the share of frames with a pitch.
	VoicedRatio float64
}

// MelSpectrogram is a time-downsampled mel spectrogram for plots.
type MelSpectrogram struct {
	RowSeconds float64
	// BandHz are the band centres.
	BandHz []float64
	// Rows[i][b] is the mean power of band b over row i in dB re full scale,
	// floored at -100 dB.
	Rows [][]float32
}

// Summary describes the whole signal.
type Summary struct {
	Frames          int
	DurationSeconds float64
	// Means over all frames (0 for an empty input).
	RMS, ZCR, Centroid, Bandwidth, Rolloff, Flatness, Flux float64
	// DominantHz is the peak of the mean power spectrum of the whole signal.
	DominantHz float64
	// F0Median is the median pitch of voiced frames (10-cent resolution),
	// 0 if none; VoicedRatio is their share of all frames.
	F0Median, VoicedRatio float64
}

// Result is what Close returns.
type Result struct {
	Config  Config
	Summary Summary
	Series  []Point
	Mel     MelSpectrogram
}

// Analyzer consumes samples and accumulates the Result. It is not safe for
// concurrent use.
type Analyzer struct {
	// OnFrame, if set, receives every frame as it is analysed.
	OnFrame func(*Frame)

	cfg     Config
	stft    *STFT
	mel     *MelFilterbank
	pitch   *yin
	binHz   float64
	frame   Frame
	prevMag []float64
	samples int64
	closed  bool

	all    accum
	win    accum
	winIdx int
	series []Point

	melAcc   []float64
	melN     int
	melRow   int
	melRows  [][]float32
	f0Hist   []int
	f0Voiced int
}

// accum sums frame features over a span.
type accum struct {
	n                                                      int
	rms, zcr, centroid, bandwidth, rolloff, flatness, flux float64
	power                                                  []float64
	f0s                                                    []float64
	voiced                                                 int
}

func (a *accum) add(f *Frame, keepF0 bool) {
	a.n++
	a.rms += f.RMS
	a.zcr += f.ZCR
	a.centroid += f.Centroid
	a.bandwidth += f.Bandwidth
	a.rolloff += f.Rolloff
	a.flatness += f.Flatness
	a.flux += f.Flux
	for k, p := range f.Power {
		a.power[k] += p
	}
	if f.F0 > 0 {
		a.voiced++
		if keepF0 {
			a.f0s = append(a.f0s, f.F0)
		}
	}
}

func (a *accum) reset() {
	p, f := a.power, a.f0s[:0]
	clear(p)
	*a = accum{power: p, f0s: f}
}

// New returns an Analyzer for cfg (zero fields take their defaults).
func New(cfg Config) (*Analyzer, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	st, err := NewSTFT(cfg.FrameSize, cfg.Hop)
	if err != nil {
		return nil, err
	}
	bins := cfg.FrameSize/2 + 1
	a := &Analyzer{
		cfg:     cfg,
		stft:    st,
		mel:     NewMelFilterbank(cfg.SampleRate, cfg.FrameSize, cfg.MelBands, cfg.MelFMin, cfg.MelFMax),
		pitch:   newYIN(cfg.SampleRate, cfg.FrameSize, cfg.PitchMin, cfg.PitchMax, cfg.PitchThreshold),
		binHz:   float64(cfg.SampleRate) / float64(cfg.FrameSize),
		prevMag: make([]float64, bins),
		melAcc:  make([]float64, cfg.MelBands),
		f0Hist:  make([]int, f0Bins),
	}
	a.frame.Mel = make([]float64, cfg.MelBands)
	a.all.power = make([]float64, bins)
	a.win.power = make([]float64, bins)
	return a, nil
}

// Write analyses a block of samples at Config.SampleRate.
func (a *Analyzer) Write(block []float32) {
	a.samples += int64(len(block))
	a.stft.Push(block, a.analyse)
}

// Close flushes the last frames and returns the result. Later calls return
// the same result without further work.
func (a *Analyzer) Close() Result {
	if !a.closed {
		a.closed = true
		a.stft.Flush(a.analyse)
		if a.win.n > 0 {
			a.series = append(a.series, a.point(&a.win, a.winIdx))
		}
		if a.melN > 0 {
			a.flushMelRow()
		}
	}
	s := Summary{Frames: a.all.n, DurationSeconds: float64(a.samples) / float64(a.cfg.SampleRate)}
	if n := float64(a.all.n); n > 0 {
		s.RMS, s.ZCR = a.all.rms/n, a.all.zcr/n
		s.Centroid, s.Bandwidth, s.Rolloff = a.all.centroid/n, a.all.bandwidth/n, a.all.rolloff/n
		s.Flatness, s.Flux = a.all.flatness/n, a.all.flux/n
		s.DominantHz = a.dominant(a.all.power)
		s.VoicedRatio = float64(a.all.voiced) / n
		s.F0Median = a.f0Median()
	}
	return Result{
		Config:  a.cfg,
		Summary: s,
		Series:  a.series,
		Mel:     MelSpectrogram{RowSeconds: a.cfg.MelRowSeconds, BandHz: a.mel.Centers, Rows: a.melRows},
	}
}

func (a *Analyzer) analyse(sf *STFTFrame) {
	f := &a.frame
	f.Index = sf.Index
	f.Time = float64(sf.Index*a.cfg.Hop) / float64(a.cfg.SampleRate)
	f.Power = sf.Power
	f.RMS, f.ZCR = rmsZCR(sf.Samples)
	a.spectralShape(f, sf.Magnitude)
	f.Flatness = flatness(sf.Power)
	if sf.Index == 0 {
		f.Flux = 0
	} else {
		var s float64
		for k, m := range sf.Magnitude {
			if d := m - a.prevMag[k]; d > 0 {
				s += d * d
			}
		}
		f.Flux = math.Sqrt(s)
	}
	copy(a.prevMag, sf.Magnitude)
	f.DominantHz = a.dominant(sf.Power)
	f.F0, f.Periodicity = a.pitch.estimate(sf.Samples)
	a.mel.Apply(f.Mel, sf.Power)

	if a.OnFrame != nil {
		a.OnFrame(f)
	}

	// Series: close the current window when a frame falls past it.
	w := int(f.Time / a.cfg.SeriesSeconds)
	if a.win.n > 0 && w != a.winIdx {
		a.series = append(a.series, a.point(&a.win, a.winIdx))
		a.win.reset()
	}
	a.winIdx = w
	a.win.add(f, true)
	a.all.add(f, false)
	if f.F0 > 0 {
		a.f0Hist[f0Bin(f.F0)]++
		a.f0Voiced++
	}

	r := int(f.Time / a.cfg.MelRowSeconds)
	if a.melN > 0 && r != a.melRow {
		a.flushMelRow()
	}
	a.melRow = r
	for b, p := range f.Mel {
		a.melAcc[b] += p
	}
	a.melN++
}

func (a *Analyzer) point(w *accum, idx int) Point {
	n := float64(w.n)
	p := Point{
		Time: float64(idx) * a.cfg.SeriesSeconds, Seconds: a.cfg.SeriesSeconds,
		RMS: w.rms / n, ZCR: w.zcr / n, Centroid: w.centroid / n, Bandwidth: w.bandwidth / n,
		Rolloff: w.rolloff / n, Flatness: w.flatness / n, Flux: w.flux / n,
		DominantHz:  a.dominant(w.power),
		VoicedRatio: float64(w.voiced) / n,
	}
	if len(w.f0s) > 0 {
		slices.Sort(w.f0s)
		p.F0 = median(w.f0s)
	}
	return p
}

func (a *Analyzer) flushMelRow() {
	// Rows missing between the last one and this one (impossible while rows
	// are wider than a hop) would be filled by repetition; rows are indexed
	// by time so gaps never shift the ones after.
	for len(a.melRows) < a.melRow {
		a.melRows = append(a.melRows, make([]float32, len(a.melAcc)))
	}
	row := make([]float32, len(a.melAcc))
	for b, s := range a.melAcc {
		row[b] = float32(powerDB(s / float64(a.melN)))
	}
	a.melRows = append(a.melRows, row)
	clear(a.melAcc)
	a.melN = 0
}

// spectralShape fills centroid, bandwidth and rolloff from magnitudes.
func (a *Analyzer) spectralShape(f *Frame, mag []float64) {
	var sum, wsum float64
	for k, m := range mag {
		sum += m
		wsum += m * float64(k)
	}
	if sum <= 0 {
		f.Centroid, f.Bandwidth, f.Rolloff = 0, 0, 0
		return
	}
	c := wsum / sum // in bins
	var v, cum float64
	roll := -1
	target := a.cfg.RolloffPercent * sum
	for k, m := range mag {
		d := float64(k) - c
		v += m * d * d
		cum += m
		if roll < 0 && cum >= target {
			roll = k
		}
	}
	if roll < 0 {
		roll = len(mag) - 1
	}
	f.Centroid = c * a.binHz
	f.Bandwidth = math.Sqrt(v/sum) * a.binHz
	f.Rolloff = float64(roll) * a.binHz
}

// dominant returns the frequency of the strongest bin of p (DC excluded),
// refined by a parabola through the log powers of it and its neighbours:
// on a Hann window this is accurate to a few hundredths of a bin.
func (a *Analyzer) dominant(p []float64) float64 {
	best, k := 0.0, -1
	for i := 1; i < len(p)-1; i++ {
		if p[i] > best {
			best, k = p[i], i
		}
	}
	if k < 0 {
		return 0
	}
	l := func(v float64) float64 { return math.Log(math.Max(v, 1e-30)) }
	return (float64(k) + parabolic(l(p[k-1]), l(p[k]), l(p[k+1]))) * a.binHz
}

func rmsZCR(x []float64) (rms, zcr float64) {
	if len(x) == 0 {
		return 0, 0
	}
	var s float64
	cross := 0
	for i, v := range x {
		s += v * v
		if i > 0 && (v >= 0) != (x[i-1] >= 0) {
			cross++
		}
	}
	rms = math.Sqrt(s / float64(len(x)))
	if len(x) > 1 {
		zcr = float64(cross) / float64(len(x)-1)
	}
	return rms, zcr
}

// flatness is the spectral flatness of p with librosa's floor (amin 1e-10),
// so silence is 1 (flat) rather than 0/0.
func flatness(p []float64) float64 {
	const amin = 1e-10
	var logSum, sum float64
	for _, v := range p {
		v = math.Max(v, amin)
		logSum += math.Log(v)
		sum += v
	}
	n := float64(len(p))
	return clamp01(math.Exp(logSum/n) / (sum / n))
}

func powerDB(p float64) float64 {
	return math.Max(-100, 10*math.Log10(math.Max(p, 1e-10)))
}

func median(sorted []float64) float64 {
	n := len(sorted)
	if n%2 == 1 {
		return sorted[n/2]
	}
	return (sorted[n/2-1] + sorted[n/2]) / 2
}

// The whole-signal f0 median comes from a histogram of 10-cent bins between
// 20 Hz and 2 kHz, so memory stays constant however long the input is.
const (
	f0Lo   = 20.0
	f0Cent = 10.0
)

var f0Bins = int(1200*math.Log2(2000/f0Lo)/f0Cent) + 1

func f0Bin(f float64) int {
	b := int(1200 * math.Log2(f/f0Lo) / f0Cent)
	return min(max(b, 0), f0Bins-1)
}

func (a *Analyzer) f0Median() float64 {
	if a.f0Voiced == 0 {
		return 0
	}
	half := (a.f0Voiced + 1) / 2
	seen := 0
	for b, c := range a.f0Hist {
		seen += c
		if seen >= half {
			return f0Lo * math.Pow(2, (float64(b)+0.5)*f0Cent/1200)
		}
	}
	return 0
}
