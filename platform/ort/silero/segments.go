package silero

import "time"

// SegmentOptions tune Segments. Zero fields take Silero's defaults.
type SegmentOptions struct {
	// Threshold starts speech at a frame whose probability reaches it
	// (default 0.5); speech ends below Threshold-0.15.
	Threshold float32
	// MinSpeech drops shorter segments (default 250 ms).
	MinSpeech time.Duration
	// MinSilence is how long the probability must stay low to end a segment
	// (default 100 ms).
	MinSilence time.Duration
	// Pad widens each segment on both sides (default 30 ms), splitting the
	// gap when two segments are closer than twice the pad.
	Pad time.Duration
}

func (o SegmentOptions) withDefaults() SegmentOptions {
	if o.Threshold == 0 {
		o.Threshold = 0.5
	}
	if o.MinSpeech == 0 {
		o.MinSpeech = 250 * time.Millisecond
	}
	if o.MinSilence == 0 {
		o.MinSilence = 100 * time.Millisecond
	}
	if o.Pad == 0 {
		o.Pad = 30 * time.Millisecond
	}
	return o
}

// Segments turns per-frame speech probabilities (from Probabilities, frame
// i covering [i, i+1) × 32 ms) into speech segments [start, end] in seconds.
// It follows Silero's get_speech_timestamps: hysteresis between Threshold
// and Threshold-0.15, a segment ends once the probability has stayed low for
// MinSilence (at the first low frame), segments not longer than MinSpeech
// are dropped, then each is padded by Pad.
func Segments(probs []float32, o SegmentOptions) [][2]float64 {
	o = o.withDefaults()
	// Work in samples, as Silero does, so its integer rules carry over.
	const w = FrameLen
	samples := func(d time.Duration) int { return int(d.Seconds() * SampleRate) }
	minSpeech, minSilence, pad := samples(o.MinSpeech), samples(o.MinSilence), samples(o.Pad)
	total := len(probs) * w
	neg := o.Threshold - 0.15

	var segs [][2]int
	triggered := false
	start, tempEnd := 0, 0
	for i, p := range probs {
		at := i * w
		if p >= o.Threshold && tempEnd != 0 {
			tempEnd = 0 // speech came back before the silence was long enough
		}
		if p >= o.Threshold && !triggered {
			triggered, start = true, at
			continue
		}
		if p < neg && triggered {
			if tempEnd == 0 {
				tempEnd = at
			}
			if at-tempEnd < minSilence {
				continue
			}
			if tempEnd-start > minSpeech {
				segs = append(segs, [2]int{start, tempEnd})
			}
			triggered, tempEnd = false, 0
		}
	}
	if triggered && total-start > minSpeech {
		segs = append(segs, [2]int{start, total})
	}

	for i := range segs {
		if i == 0 {
			segs[i][0] = max(0, segs[i][0]-pad)
		}
		if i == len(segs)-1 {
			segs[i][1] = min(total, segs[i][1]+pad)
			continue
		}
		gap := segs[i+1][0] - segs[i][1]
		if gap < 2*pad {
			segs[i][1] += gap / 2
			segs[i+1][0] = max(0, segs[i+1][0]-gap/2)
		} else {
			segs[i][1] = min(total, segs[i][1]+pad)
			segs[i+1][0] = max(0, segs[i+1][0]-pad)
		}
	}
	out := make([][2]float64, len(segs))
	for i, s := range segs {
		out[i] = [2]float64{float64(s[0]) / SampleRate, float64(s[1]) / SampleRate}
	}
	return out
}
