package sphinx

import (
	"math"
	"slices"

	"github.com/clipmesh/clipmesh/services/transcribe/internal/engine"
)

// condition returns a copy of x high-passed at hz (0 means 80 Hz; removes
// DC and rumble) and scaled so that its loud frames sit near -20 dBFS
// without clipping: the acoustic model was trained on close-talk speech at
// that kind of level.
func condition(x []float32, hz float64) []float32 {
	if hz <= 0 {
		hz = 80
	}
	y := highpass(x, hz)
	// Level: the 95th percentile of 10 ms frame RMS → -20 dBFS.
	rms := frameRMS(y)
	if len(rms) == 0 {
		return y
	}
	s := slices.Clone(rms)
	slices.Sort(s)
	ref := s[len(s)*95/100]
	if ref < 1e-5 {
		return y // digital silence: nothing to scale
	}
	g := 0.1 / ref
	var peak float64
	for _, v := range y {
		peak = max(peak, math.Abs(float64(v)))
	}
	if peak*g > 0.99 {
		g = 0.99 / peak
	}
	for i := range y {
		y[i] *= float32(g)
	}
	return y
}

// highpass is a second-order Butterworth high-pass filter (RBJ biquad).
func highpass(x []float32, hz float64) []float32 {
	w := 2 * math.Pi * hz / engine.SampleRate
	alpha := math.Sin(w) / math.Sqrt2 // sin(w)/(2Q), Q = 1/sqrt(2)
	cw := math.Cos(w)
	a0 := 1 + alpha
	b0 := (1 + cw) / 2 / a0
	b1 := -(1 + cw) / a0
	b2 := b0
	a1 := -2 * cw / a0
	a2 := (1 - alpha) / a0
	y := make([]float32, len(x))
	var x1, x2, y1, y2 float64
	for i, v := range x {
		xi := float64(v)
		yi := b0*xi + b1*x1 + b2*x2 - a1*y1 - a2*y2
		x2, x1, y2, y1 = x1, xi, y1, yi
		y[i] = float32(yi)
	}
	return y
}

// frameLen is 10 ms at 16 kHz, the decoder's frame.
const frameLen = engine.SampleRate / 100

func frameRMS(x []float32) []float64 {
	n := len(x) / frameLen
	out := make([]float64, n)
	for f := range n {
		var e float64
		for _, v := range x[f*frameLen : (f+1)*frameLen] {
			e += float64(v) * float64(v)
		}
		out[f] = math.Sqrt(e / frameLen)
	}
	return out
}

// span is a range of samples [start, end).
type span struct{ start, end int }

// speechSpans cuts x into utterances at pauses of at least minSilence
// seconds (0 means 0.5 s), found with an energy detector: a frame is quiet
// when it is within 12 dB of the noise floor (10th percentile) and more
// than 30 dB under the loudest frames. Each utterance keeps 0.15 s of the
// pause on either side, so no word is cut; one longer than maxChunk seconds
// (0 means 30 s) is split at its quietest frame. Audio with no frame above
// the quiet level gives no spans.
func speechSpans(x []float32, minSilence, maxChunk float64) []span {
	if minSilence <= 0 {
		minSilence = 0.5
	}
	if maxChunk <= 0 {
		maxChunk = 30
	}
	rms := frameRMS(x)
	if len(rms) == 0 {
		return nil
	}
	db := make([]float64, len(rms))
	for i, r := range rms {
		db[i] = 20 * math.Log10(r+1e-7)
	}
	s := slices.Clone(db)
	slices.Sort(s)
	floor, loud := s[len(s)/10], s[len(s)*99/100]
	if loud < -60 || loud-floor < 10 {
		// Silence, or a stationary signal with no pauses: one span if loud.
		if loud < -60 {
			return nil
		}
		return splitLong([]span{{0, len(x)}}, rms, maxChunk)
	}
	thr := max(floor+12, loud-30)
	minGap := int(minSilence * 100)
	const pad = 15 // frames kept on each side of speech
	var spans []span
	start, quiet := -1, 0
	for f, d := range db {
		if d > thr {
			if start < 0 {
				start = f
			}
			quiet = 0
			continue
		}
		if start >= 0 {
			quiet++
			if quiet >= minGap {
				spans = append(spans, span{start, f - quiet + 1})
				start, quiet = -1, 0
			}
		}
	}
	if start >= 0 {
		spans = append(spans, span{start, len(db) - quiet})
	}
	// Drop blips shorter than 100 ms, pad, merge overlaps, go to samples.
	var out []span
	for _, sp := range spans {
		if sp.end-sp.start < 10 {
			continue
		}
		a, b := max(0, sp.start-pad)*frameLen, min(len(db), sp.end+pad)*frameLen
		if len(out) > 0 && a <= out[len(out)-1].end {
			out[len(out)-1].end = b
			continue
		}
		out = append(out, span{a, b})
	}
	if n := len(out); n > 0 && len(x)-out[n-1].end < frameLen*pad {
		out[n-1].end = len(x)
	}
	return splitLong(out, rms, maxChunk)
}

// splitLong splits spans longer than maxChunk seconds at their quietest
// frame in the middle half, recursively.
func splitLong(spans []span, rms []float64, maxChunk float64) []span {
	limit := int(maxChunk * engine.SampleRate)
	var out []span
	for _, sp := range spans {
		out = append(out, splitOne(sp, rms, limit)...)
	}
	return out
}

func splitOne(sp span, rms []float64, limit int) []span {
	if sp.end-sp.start <= limit {
		return []span{sp}
	}
	lo, hi := (sp.start+(sp.end-sp.start)/4)/frameLen, (sp.end-(sp.end-sp.start)/4)/frameLen
	best := lo
	for f := lo; f < hi && f < len(rms); f++ {
		if rms[f] < rms[best] {
			best = f
		}
	}
	cut := best * frameLen
	return append(splitOne(span{sp.start, cut}, rms, limit), splitOne(span{cut, sp.end}, rms, limit)...)
}

// spansFromSpeech turns a voice-activity detector's speech regions
// [start, end] (seconds, in order) into utterances of x: regions closer
// than minSilence seconds (0 means 0.5 s) are merged, so a chunk boundary
// only falls in a pause at least that long; each utterance keeps up to
// 0.5 s of the pause on either side; one longer than maxChunk seconds (0
// means 30 s) is split at its quietest frame.
func spansFromSpeech(x []float32, speech [][2]float64, minSilence, maxChunk float64) []span {
	if minSilence <= 0 {
		minSilence = 0.5
	}
	if maxChunk <= 0 {
		maxChunk = 30
	}
	// 0.5 s measured best on the accuracy fixtures with -remove_silence no
	// (corpus WER 0.2: 0.312, 0.3 s: 0.290, 0.5 s: 0.280): PocketSphinx
	// wants some silence around an utterance, and Silero's regions are
	// tight.
	const pad = 0.5
	toSample := func(t float64) int { return max(0, min(len(x), int(t*engine.SampleRate+0.5))) }
	var merged [][2]float64
	for _, r := range speech {
		if r[1] <= r[0] {
			continue
		}
		if n := len(merged); n > 0 && r[0]-merged[n-1][1] < minSilence {
			merged[n-1][1] = max(merged[n-1][1], r[1])
			continue
		}
		merged = append(merged, r)
	}
	var out []span
	for _, r := range merged {
		a, b := toSample(r[0]-pad), toSample(r[1]+pad)
		if n := len(out); n > 0 && a < out[n-1].end {
			a = out[n-1].end
		}
		if b > a {
			out = append(out, span{a, b})
		}
	}
	return splitLong(out, frameRMS(x), maxChunk)
}
