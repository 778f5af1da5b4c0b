package loudness

import (
	"fmt"
	"math"
	"slices"
)

// Floors reported instead of -Inf.
const (
	// GateLUFS is the absolute gate; integrated loudness reads GateLUFS
	// when no block passes it (ffmpeg's ebur128 prints -70.0 too).
	GateLUFS = -70.0
	// SilenceDB floors short-term loudness and peaks of digital silence.
	SilenceDB = -120.0
	// MaxSNR caps the SNR when the noise floor is digital silence.
	MaxSNR = 100.0
)

// Point is one short-term loudness value: the 3 s window ending at Time.
type Point struct {
	Time float64
	LUFS float64
}

// Result is the loudness of the whole signal.
type Result struct {
	DurationSeconds float64
	// IntegratedLUFS is the gated integrated loudness; HasSignal is false
	// when no 400 ms block passed the absolute gate.
	IntegratedLUFS float64
	HasSignal      bool
	// RangeLU is the loudness range (LRA).
	RangeLU float64
	// ShortTerm is the short-term loudness every 100 ms, for windows that
	// fit in the input (none for inputs under 3 s).
	ShortTerm []Point
	// TruePeakDBTP is the 4x-oversampled peak and SamplePeakDBFS the plain
	// sample peak, in dB re full scale.
	TruePeakDBTP, SamplePeakDBFS float64
	// RMSDBFS is the level of the whole signal, unweighted.
	RMSDBFS float64
	// DynamicRangeLU is the 95th minus the 5th percentile of short-term
	// loudness above the absolute gate (0 with no such values).
	DynamicRangeLU float64
	// CrestFactorDB is TruePeakDBTP - RMSDBFS (0 for silence).
	CrestFactorDB float64
	// SNRDB estimates the signal-to-noise ratio (0 when nothing stands out
	// of the noise floor, MaxSNR over digital silence).
	SNRDB float64
	// NoiseFloorDBFS is the level of the quietest 10% of 100 ms blocks.
	NoiseFloorDBFS float64
}

// Meter consumes samples and computes the Result. It is not safe for
// concurrent use.
type Meter struct {
	sr      int
	sub     int       // sample frames per 100 ms sub-block
	weights []float64 // BS.1770 channel weights G_i
	k       [][2]biquad
	peaks   []peakMeter
	chBuf   [][]float32 // one channel of a block, for its peak meter
	kSum    float64     // weighted K-weighted energy of the current sub-block
	rawSum  float64     // unweighted energy (mean over channels) of the current sub-block
	subN    int
	kSubs   []float64 // weighted mean K-weighted square per sub-block
	rawSubs []float64 // mean unweighted square per sub-block
	total   int64     // sample frames
	rawAll  float64
	closed  bool
	result  Result
}

// New returns a Meter for mono input at sampleRate.
func New(sampleRate int) (*Meter, error) { return NewChannels(sampleRate, 1) }

// Weights returns the BS.1770 channel weights for channels interleaved in
// ffmpeg's default layout of that count: mono and stereo weigh 1 each; six
// channels are 5.1 (FL FR FC LFE BL BR): the LFE is left out and the
// surrounds weigh 1.41 (+1.5 dB). Other counts are not defined by BS.1770;
// Weights returns nil for them.
func Weights(channels int) []float64 {
	switch channels {
	case 1:
		return []float64{1}
	case 2:
		return []float64{1, 1}
	case 6:
		return []float64{1, 1, 1, 0, 1.41, 1.41}
	}
	return nil
}

// NewChannels returns a Meter for interleaved input of 1, 2 or 6 (5.1)
// channels at sampleRate. Integrated and short-term loudness sum the
// channels' K-weighted mean squares with the weights of Weights (so a
// stereo signal reads as BS.1770 and ffmpeg's ebur128 measure it, not 3 LU
// low as its downmix would); true and sample peaks are the maximum over the
// channels; RMS, dynamic range and SNR use the mean power of the channels.
func NewChannels(sampleRate, channels int) (*Meter, error) {
	if sampleRate < 8000 {
		return nil, fmt.Errorf("loudness: sample rate %d Hz is too low for K-weighting", sampleRate)
	}
	w := Weights(channels)
	if w == nil {
		return nil, fmt.Errorf("loudness: %d channels: want 1, 2 or 6 (5.1)", channels)
	}
	m := &Meter{sr: sampleRate, sub: int(math.Round(float64(sampleRate) / 10)), weights: w, chBuf: make([][]float32, channels)}
	k1, k2 := kWeighting(float64(sampleRate))
	for range channels {
		m.k = append(m.k, [2]biquad{k1, k2})
		m.peaks = append(m.peaks, newPeakMeter())
	}
	return m, nil
}

// Channels is the number of interleaved channels Write expects.
func (m *Meter) Channels() int { return len(m.weights) }

// Write consumes a block of interleaved samples (whole frames).
func (m *Meter) Write(block []float32) {
	nch := len(m.weights)
	if nch == 1 { // the common case, without the per-channel loop
		k := &m.k[0]
		m.peaks[0].write(block)
		for _, s := range block {
			x := float64(s)
			y := k[1].step(k[0].step(x))
			m.frame(y*y, x*x)
		}
		m.total += int64(len(block))
		return
	}
	inv := 1 / float64(nch)
	frames := len(block) / nch
	for c := range nch { // peaks per channel, deinterleaved so they can skip
		if cap(m.chBuf[c]) < frames {
			m.chBuf[c] = make([]float32, frames)
		}
		buf := m.chBuf[c][:frames]
		for f := range frames {
			buf[f] = block[f*nch+c]
		}
		m.peaks[c].write(buf)
	}
	for f := 0; f+nch <= len(block); f += nch {
		var kz, raw float64
		for c := range nch {
			x := float64(block[f+c])
			k := &m.k[c]
			y := k[1].step(k[0].step(x))
			kz += m.weights[c] * y * y
			raw += x * x
		}
		m.frame(kz, raw*inv)
	}
	m.total += int64(len(block) / nch)
}

// frame adds one sample frame's weighted K-weighted and plain energies.
func (m *Meter) frame(kz, raw float64) {
	m.kSum += kz
	m.rawSum += raw
	m.subN++
	if m.subN == m.sub {
		m.kSubs = append(m.kSubs, m.kSum/float64(m.sub))
		m.rawSubs = append(m.rawSubs, m.rawSum/float64(m.sub))
		m.rawAll += m.rawSum
		m.kSum, m.rawSum, m.subN = 0, 0, 0
	}
}

func lufs(meanSquare float64) float64 {
	if meanSquare <= 0 {
		return SilenceDB
	}
	return math.Max(SilenceDB, -0.691+10*math.Log10(meanSquare))
}

func dbfs(power float64) float64 {
	if power <= 0 {
		return SilenceDB
	}
	return math.Max(SilenceDB, 10*math.Log10(power))
}

// window returns the mean of subs[i-n+1 .. i].
func window(prefix []float64, i, n int) float64 {
	return (prefix[i+1] - prefix[i+1-n]) / float64(n)
}

// Close computes the result; later calls return it again. A trailing
// partial 100 ms sub-block counts toward peaks and RMS but, as in
// libebur128, not toward gated blocks.
func (m *Meter) Close() Result {
	if m.closed {
		return m.result
	}
	m.closed = true
	r := Result{DurationSeconds: float64(m.total) / float64(m.sr), IntegratedLUFS: GateLUFS}
	prefix := make([]float64, len(m.kSubs)+1)
	for i, v := range m.kSubs {
		prefix[i+1] = prefix[i] + v
	}

	// Integrated: 400 ms blocks (4 sub-blocks) every 100 ms.
	var blocks []float64
	for i := 3; i < len(m.kSubs); i++ {
		blocks = append(blocks, window(prefix, i, 4))
	}
	if z, ok := gatedMean(blocks, GateLUFS, -10); ok {
		r.IntegratedLUFS, r.HasSignal = lufs(z), true
	}

	// Short-term: 3 s windows (30 sub-blocks) every 100 ms.
	var stPower, stAbove []float64
	for i := 29; i < len(m.kSubs); i++ {
		z := window(prefix, i, 30)
		r.ShortTerm = append(r.ShortTerm, Point{Time: float64(i+1) / 10, LUFS: lufs(z)})
		stPower = append(stPower, z)
		if lufs(z) > GateLUFS {
			stAbove = append(stAbove, lufs(z))
		}
	}
	// LRA (Tech 3342): absolute gate, then 20 LU below the power mean.
	if z, ok := gatedMean(stPower, GateLUFS, 0); ok {
		rel := lufs(z) - 20
		var kept []float64
		for _, v := range stAbove {
			if v > rel {
				kept = append(kept, v)
			}
		}
		slices.Sort(kept)
		if len(kept) > 0 {
			r.RangeLU = percentile(kept, 0.95) - percentile(kept, 0.10)
		}
	}
	if len(stAbove) > 0 {
		slices.Sort(stAbove)
		r.DynamicRangeLU = percentile(stAbove, 0.95) - percentile(stAbove, 0.05)
	}

	// Levels.
	all := m.rawAll + m.rawSum
	if m.total > 0 {
		r.RMSDBFS = dbfs(all / float64(m.total))
	} else {
		r.RMSDBFS = SilenceDB
	}
	var truePeak, samplePeak float64
	for _, p := range m.peaks {
		truePeak, samplePeak = max(truePeak, p.truePeak), max(samplePeak, p.samplePeak)
	}
	r.TruePeakDBTP = amplitudeDB(truePeak)
	r.SamplePeakDBFS = amplitudeDB(samplePeak)
	if samplePeak > 0 {
		r.CrestFactorDB = r.TruePeakDBTP - r.RMSDBFS
	}
	r.SNRDB, r.NoiseFloorDBFS = snr(m.rawSubs)
	m.result = r
	return r
}

// gatedMean applies BS.1770 gating to block mean squares: blocks above the
// absolute gate, then (if relLU < 0) those above their mean + relLU. It
// returns the mean square of the kept blocks and whether any were kept.
func gatedMean(blocks []float64, absLUFS, relLU float64) (float64, bool) {
	var sum float64
	n := 0
	for _, z := range blocks {
		if lufs(z) > absLUFS {
			sum += z
			n++
		}
	}
	if n == 0 {
		return 0, false
	}
	if relLU >= 0 {
		return sum / float64(n), true
	}
	gate := lufs(sum/float64(n)) + relLU
	sum, n = 0, 0
	for _, z := range blocks {
		if l := lufs(z); l > absLUFS && l > gate {
			sum += z
			n++
		}
	}
	if n == 0 {
		return 0, false
	}
	return sum / float64(n), true
}

// percentile of sorted values by linear interpolation between ranks.
func percentile(sorted []float64, p float64) float64 {
	if len(sorted) == 1 {
		return sorted[0]
	}
	x := p * float64(len(sorted)-1)
	i := int(x)
	if i >= len(sorted)-1 {
		return sorted[len(sorted)-1]
	}
	f := x - float64(i)
	return sorted[i]*(1-f) + sorted[i+1]*f
}

func amplitudeDB(a float64) float64 {
	if a <= 0 {
		return SilenceDB
	}
	return math.Max(SilenceDB, 20*math.Log10(a))
}

// snr compares active blocks with the noise floor. The floor is the mean
// power of the quietest 10% of 100 ms blocks; active blocks are those at
// least 6 dB above it; SNR is their mean power, less the floor, over the
// floor. A steady signal (a tone, constant noise) has no block above its
// floor and reads 0 dB: it says nothing about noise, so SNR says nothing.
func snr(subs []float64) (snrDB, floorDB float64) {
	if len(subs) == 0 {
		return 0, SilenceDB
	}
	s := slices.Clone(subs)
	slices.Sort(s)
	q := max(1, len(s)/10)
	var floor float64
	for _, v := range s[:q] {
		floor += v
	}
	floor /= float64(q)
	var act float64
	n := 0
	for _, v := range s {
		if v > 4*floor && v > 1e-12 { // 6 dB above the floor, and not silence
			act += v
			n++
		}
	}
	floorDB = dbfs(floor)
	if n == 0 {
		return 0, floorDB
	}
	act /= float64(n)
	if floor <= 1e-14 { // digital silence: the floor is not noise
		return MaxSNR, floorDB
	}
	return math.Min(MaxSNR, 10*math.Log10((act-floor)/floor)), floorDB
}
