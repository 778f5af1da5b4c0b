package rhythm

import (
	"fmt"
	"math"
	"slices"

	"github.com/clipmesh/clipmesh/services/audio/internal/spectral"
)

// Config sets the analysis. Zero fields take the defaults in brackets.
type Config struct {
	SampleRate int // [22050]
	FrameSize  int // onset STFT frame [1024]
	Hop        int // onset STFT hop [256]
	MelBands   int // [40]
	// TempoMin and TempoMax bound the tempo search in BPM [30, 300].
	TempoMin, TempoMax float64
	// TempoPrior is the centre of the log-Gaussian tempo prior in BPM [120]
	// and PriorOctaves its standard deviation in octaves [1].
	TempoPrior, PriorOctaves float64
	// Tightness penalises beat intervals that stray from the period [100,
	// Ellis's and librosa's value].
	Tightness float64
	// PeakDelta is the height above the moving mean, as a share of the
	// envelope's maximum, that an onset peak needs [0.07].
	PeakDelta float64
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
		c.FrameSize = 1024
	}
	if c.Hop == 0 {
		c.Hop = 256
	}
	if c.MelBands == 0 {
		c.MelBands = 40
	}
	def(&c.TempoMin, 30)
	def(&c.TempoMax, 300)
	def(&c.TempoPrior, 120)
	def(&c.PriorOctaves, 1)
	def(&c.Tightness, 100)
	def(&c.PeakDelta, 0.07)
	return c
}

// Result is the rhythm of the whole signal. Times are in seconds.
type Result struct {
	// Onsets are the detected onset times.
	Onsets []float64
	// TempoBPM is the estimated tempo, 0 when there is no rhythm to speak
	// of (fewer than two onsets' worth of envelope).
	TempoBPM float64
	// TempoConfidence in [0, 1] is the normalised autocorrelation of the
	// onset envelope at the tempo's period: near 1 for a metronome, near 0
	// for speech or noise.
	TempoConfidence float64
	// AltTempoBPM is the stronger of half and double the tempo (0 if both
	// are out of range): the likely octave error, for callers to show.
	AltTempoBPM float64
	// Beats are the tracked beat times.
	Beats []float64
	// Regularity is 1 - CV of the inter-beat intervals in [0, 1]; 0 with
	// fewer than three beats.
	Regularity float64
	// EnvelopeRate is the onset envelope's rate in Hz.
	EnvelopeRate float64
}

// Tracker consumes samples and computes the Result at Close. It is not safe
// for concurrent use.
type Tracker struct {
	cfg     Config
	stft    *spectral.STFT
	mel     *spectral.MelFilterbank
	melPow  []float64
	prevDB  []float64
	env     []float64
	closed  bool
	result  Result
	floorDB float64
}

// New returns a Tracker for cfg (zero fields take their defaults).
func New(cfg Config) (*Tracker, error) {
	cfg = cfg.withDefaults()
	if cfg.SampleRate < 1000 || cfg.TempoMin <= 0 || cfg.TempoMax <= cfg.TempoMin || cfg.PriorOctaves <= 0 {
		return nil, fmt.Errorf("rhythm: invalid config %+v", cfg)
	}
	st, err := spectral.NewSTFT(cfg.FrameSize, cfg.Hop)
	if err != nil {
		return nil, err
	}
	t := &Tracker{
		cfg:     cfg,
		stft:    st,
		mel:     spectral.NewMelFilterbank(cfg.SampleRate, cfg.FrameSize, cfg.MelBands, 0, float64(cfg.SampleRate)/2),
		melPow:  make([]float64, cfg.MelBands),
		prevDB:  make([]float64, cfg.MelBands),
		floorDB: -80, // relative to full scale: quieter detail is not an event
	}
	for i := range t.prevDB {
		t.prevDB[i] = t.floorDB
	}
	return t, nil
}

// Write consumes a block of samples at Config.SampleRate.
func (t *Tracker) Write(block []float32) { t.stft.Push(block, t.frame) }

func (t *Tracker) frame(f *spectral.STFTFrame) {
	t.mel.Apply(t.melPow, f.Power)
	var flux float64
	for b, p := range t.melPow {
		db := math.Max(t.floorDB, 10*math.Log10(math.Max(p, 1e-30)))
		if d := db - t.prevDB[b]; d > 0 {
			flux += d
		}
		t.prevDB[b] = db
	}
	t.env = append(t.env, flux/float64(len(t.melPow)))
}

// frameTime is the time of envelope frame k (see the package comment).
func (t *Tracker) frameTime(k float64) float64 {
	c := t.cfg
	return (k*float64(c.Hop) + float64(c.FrameSize)/2 - float64(c.Hop)/2) / float64(c.SampleRate)
}

// Envelope returns the onset strength envelope so far (one value per hop).
func (t *Tracker) Envelope() []float64 { return t.env }

// Close flushes the input and computes the result; later calls return it
// again.
func (t *Tracker) Close() Result {
	if t.closed {
		return t.result
	}
	t.closed = true
	t.stft.Flush(t.frame)
	fps := float64(t.cfg.SampleRate) / float64(t.cfg.Hop)
	r := Result{EnvelopeRate: fps}
	for _, k := range pickPeaks(t.env, fps, t.cfg.PeakDelta) {
		r.Onsets = append(r.Onsets, t.frameTime(float64(k)))
	}
	period, conf, alt := t.tempo(fps)
	if period > 0 {
		r.TempoBPM, r.TempoConfidence = 60*fps/period, conf
		if alt > 0 {
			r.AltTempoBPM = 60 * fps / alt
		}
		for _, k := range trackBeats(t.env, period, t.cfg.Tightness) {
			r.Beats = append(r.Beats, t.frameTime(float64(k)))
		}
		if bpm := refineTempo(r.Beats, 60/r.TempoBPM); bpm > 0 {
			r.TempoBPM = bpm
		}
		r.Regularity = regularity(r.Beats)
	}
	t.result = r
	return r
}

// pickPeaks returns the frames of onset peaks (librosa's peak_pick with its
// onset_detect defaults) in an envelope normalised to [0, 1].
func pickPeaks(env []float64, fps, delta float64) []int {
	top := slices.Max(append([]float64{0}, env...))
	if top <= 1e-9 {
		return nil
	}
	frames := func(s float64) int { return max(1, int(math.Round(s*fps))) }
	preMax, preAvg, postAvg, wait := frames(0.03), frames(0.1), frames(0.1), frames(0.03)
	// Prefix sums make the moving mean O(1) per frame.
	prefix := make([]float64, len(env)+1)
	for i, v := range env {
		prefix[i+1] = prefix[i] + v/top
	}
	var peaks []int
	last := -wait - 1
	for n, v := range env {
		v /= top
		lo := max(0, n-preMax)
		isMax := true
		for j := lo; j <= n; j++ {
			if env[j]/top > v {
				isMax = false
				break
			}
		}
		if !isMax || v <= 0 {
			continue
		}
		a, b := max(0, n-preAvg), min(len(env), n+postAvg+1)
		mean := (prefix[b] - prefix[a]) / float64(b-a)
		if v >= mean+delta && n-last > wait {
			peaks = append(peaks, n)
			last = n
		}
	}
	return peaks
}

// tempo returns the beat period in envelope frames (0 if none), the
// confidence, and the period of the likely octave alternative.
func (t *Tracker) tempo(fps float64) (period, conf, alt float64) {
	c := t.cfg
	minLag := int(math.Floor(60 * fps / c.TempoMax))
	maxLag := int(math.Ceil(60 * fps / c.TempoMin))
	n := len(t.env)
	if n < 2*minLag+2 || minLag < 1 {
		return 0, 0, 0
	}
	maxLag = min(maxLag, n/2)
	// The comb below reads the autocorrelation up to combTerms periods.
	acfLen := min(combTerms*maxLag+2, n)
	// Smooth (Gaussian, σ = 1 frame) so an impulse that straddles two
	// frames does not split the autocorrelation peak, then remove the mean
	// so a constant envelope correlates to nothing.
	e := smooth(t.env)
	var mean float64
	for _, v := range e {
		mean += v
	}
	mean /= float64(n)
	for i := range e {
		e[i] -= mean
	}
	acf := make([]float64, acfLen)
	for lag := range acf {
		var s float64
		for i := lag; i < n; i++ {
			s += e[i] * e[i-lag]
		}
		// Unbiased: divide by the overlap so long lags are not favoured
		// less for being shorter sums.
		acf[lag] = s / float64(n-lag)
	}
	if acf[0] <= 1e-12 {
		return 0, 0, 0
	}
	// A comb over the period's multiples (acf at k·lag, weighted 1/k):
	// a pattern whose strongest accents come every other beat (kick on 1
	// and 3, snare on 2 and 4) correlates most at two beats, but only the
	// beat period also collects the correlation at one and three beats,
	// so the comb lifts the beat over its half tempo.
	score := func(lag int) float64 {
		if lag < minLag || lag > maxLag || acf[lag] <= 0 {
			return 0
		}
		var comb float64
		for k := 1; k <= combTerms && k*lag < len(acf); k++ {
			// The true period lies within half a frame of lag, so its
			// k-th multiple within k/2 frames of k·lag.
			peak := acf[k*lag]
			for j := max(minLag, k*lag-k/2); j <= min(len(acf)-1, k*lag+k/2); j++ {
				peak = math.Max(peak, acf[j])
			}
			comb += math.Max(0, peak) / float64(k)
		}
		bpm := 60 * fps / float64(lag)
		z := math.Log2(bpm/c.TempoPrior) / c.PriorOctaves
		return comb * math.Exp(-0.5*z*z)
	}
	best := -1
	for lag := minLag; lag <= maxLag; lag++ {
		if best < 0 || score(lag) > score(best) {
			best = lag
		}
	}
	if score(best) <= 0 {
		return 0, 0, 0
	}
	p := float64(best)
	if best > 0 && best+1 < len(acf) {
		a, b, cc := acf[best-1], acf[best], acf[best+1]
		if den := a - 2*b + cc; den < 0 {
			p += 0.5 * (a - cc) / den
		}
	}
	conf = math.Max(0, math.Min(1, acf[best]/acf[0]))
	// The octave alternative: half or double the period, whichever
	// correlates more.
	h, d := int(math.Round(p/2)), int(math.Round(2*p))
	switch sh, sd := scoreRaw(acf, h, minLag, maxLag), scoreRaw(acf, d, minLag, maxLag); {
	case sh > 0 && sh >= sd:
		alt = p / 2
	case sd > 0:
		alt = 2 * p
	}
	return p, conf, alt
}

// combTerms is the number of period multiples the tempo comb sums.
const combTerms = 4

func scoreRaw(acf []float64, lag, lo, hi int) float64 {
	if lag < lo || lag > hi || lag >= len(acf) {
		return 0
	}
	return math.Max(0, acf[lag])
}

func smooth(x []float64) []float64 {
	k := []float64{0.054, 0.244, 0.403, 0.244, 0.054} // Gaussian, σ = 1
	out := make([]float64, len(x))
	for i := range x {
		var s float64
		for j, w := range k {
			if idx := i + j - 2; idx >= 0 && idx < len(x) {
				s += w * x[idx]
			}
		}
		out[i] = s
	}
	return out
}

// trackBeats is Ellis's dynamic programming beat tracker (as in
// librosa.beat.beat_track): the best sequence of beats maximises onset
// strength at the beats minus tightness * log(interval/period)^2.
func trackBeats(env []float64, period, tightness float64) []int {
	n := len(env)
	if n == 0 || period <= 0 {
		return nil
	}
	var mean, sq float64
	for _, v := range env {
		mean += v
	}
	mean /= float64(n)
	for _, v := range env {
		sq += (v - mean) * (v - mean)
	}
	sd := math.Sqrt(sq / float64(n))
	if sd <= 1e-12 {
		return nil
	}
	// Local score: the normalised envelope smoothed by a Gaussian of width
	// period/32 around each frame.
	half := int(math.Round(period))
	kern := make([]float64, 2*half+1)
	for j := range kern {
		x := float64(j-half) * 32 / period
		kern[j] = math.Exp(-0.5 * x * x)
	}
	local := make([]float64, n)
	for i := range n {
		var s float64
		for j, w := range kern {
			if idx := i + j - half; idx >= 0 && idx < n {
				s += w * env[idx] / sd
			}
		}
		local[i] = s
	}
	lo, hi := int(math.Round(period/2)), int(math.Round(2*period))
	penalty := make([]float64, hi+1)
	for d := lo; d <= hi; d++ {
		l := math.Log(float64(d) / period)
		penalty[d] = -tightness * l * l
	}
	cum := make([]float64, n)
	back := make([]int, n)
	thresh := 0.01 * slices.Max(local)
	first := true
	for i := range n {
		best, arg := math.Inf(-1), -1
		for d := lo; d <= hi && i-d >= 0; d++ {
			if s := cum[i-d] + penalty[d]; s > best {
				best, arg = s, i-d
			}
		}
		cum[i] = local[i]
		back[i] = -1
		if arg >= 0 && !(first && local[i] < thresh) {
			cum[i] += best
			back[i] = arg
		}
		if local[i] >= thresh {
			first = false
		}
	}
	// The last beat: the last local maximum of the cumulative score that
	// reaches half the median of all its local maxima.
	var maxima []float64
	isMax := func(i int) bool {
		return (i == 0 || cum[i] > cum[i-1]) && (i == n-1 || cum[i] >= cum[i+1])
	}
	for i := range n {
		if isMax(i) {
			maxima = append(maxima, cum[i])
		}
	}
	slices.Sort(maxima)
	med := maxima[len(maxima)/2]
	last := -1
	for i := n - 1; i >= 0; i-- {
		if isMax(i) && cum[i] >= 0.5*med {
			last = i
			break
		}
	}
	var beats []int
	for i := last; i >= 0; i = back[i] {
		beats = append(beats, i)
	}
	slices.Reverse(beats)
	// Trim weak beats at both ends (the tracker extrapolates the grid into
	// silence): keep from the first to the last beat whose local score
	// reaches half the RMS of all beats' scores.
	var rms float64
	for _, b := range beats {
		rms += local[b] * local[b]
	}
	if len(beats) == 0 {
		return nil
	}
	th := 0.5 * math.Sqrt(rms/float64(len(beats)))
	a, b := 0, len(beats)
	for a < b && local[beats[a]] < th {
		a++
	}
	for b > a && local[beats[b-1]] < th {
		b--
	}
	return beats[a:b]
}

// refineTempo fits beat times to a straight line (beat number against time)
// when every interval is within 15% of the period, which measures the tempo
// far more finely than the envelope's lag resolution; 0 otherwise.
func refineTempo(beats []float64, period float64) float64 {
	if len(beats) < 4 {
		return 0
	}
	for i := 1; i < len(beats); i++ {
		if d := beats[i] - beats[i-1]; math.Abs(d-period) > 0.15*period {
			return 0
		}
	}
	n := float64(len(beats))
	var sx, sy, sxx, sxy float64
	for i, y := range beats {
		x := float64(i)
		sx, sy, sxx, sxy = sx+x, sy+y, sxx+x*x, sxy+x*y
	}
	slope := (n*sxy - sx*sy) / (n*sxx - sx*sx)
	if slope <= 0 {
		return 0
	}
	return 60 / slope
}

func regularity(beats []float64) float64 {
	if len(beats) < 3 {
		return 0
	}
	ibi := make([]float64, len(beats)-1)
	var mean float64
	for i := range ibi {
		ibi[i] = beats[i+1] - beats[i]
		mean += ibi[i]
	}
	mean /= float64(len(ibi))
	var v float64
	for _, d := range ibi {
		v += (d - mean) * (d - mean)
	}
	cv := math.Sqrt(v/float64(len(ibi))) / mean
	return math.Max(0, math.Min(1, 1-cv))
}
