package events

import (
	"math"
	"slices"
)

// Kind is what an Event is.
type Kind int

// Kinds of events.
const (
	Speech Kind = iota + 1
	Music
	Silence
	Noise
	LoudBurst
	LoudnessJump
	ApplauseLaughter
)

// String names the kind.
func (k Kind) String() string {
	switch k {
	case Speech:
		return "speech"
	case Music:
		return "music"
	case Silence:
		return "silence"
	case Noise:
		return "noise"
	case LoudBurst:
		return "loud burst"
	case LoudnessJump:
		return "loudness jump"
	case ApplauseLaughter:
		return "applause/laughter"
	}
	return "unknown"
}

// Thresholds of the rules (see the package comment).
const (
	SilenceDB     = -50.0
	MusicFlatness = 0.15
	BurstDB       = 12.0
	JumpDB        = 10.0
)

// Event is a segment or a cue. Times are in seconds.
type Event struct {
	Kind     Kind
	Start    float64
	Duration float64
	// Strength in [0, 1] ranks events of one kind; Value is the measured
	// quantity behind it (see the proto's AudioEvent.value).
	Strength float64
	Value    float64
}

// Second is what Detect needs of one second of audio.
type Second struct {
	RMSDB      float64
	Flatness   float64
	SpeechProb float64
	Onsets     int
}

// Input is the whole analysis as Detect sees it.
type Input struct {
	Duration float64
	Seconds  []Second
	// Blocks are 100 ms RMS levels in dBFS.
	Blocks []float64
	// TempoConfidence and Regularity are the whole input's rhythm figures.
	TempoConfidence, Regularity float64
}

// BlockSeconds is the duration of an Input.Blocks entry.
const BlockSeconds = 0.1

// Detect returns the segmentation and the cues, sorted by start time (a
// segment before a cue at the same time).
func Detect(in Input) []Event {
	out := segments(in)
	out = append(out, bursts(in.Blocks)...)
	out = append(out, jumps(in.Blocks)...)
	out = append(out, applause(in)...)
	slices.SortStableFunc(out, func(a, b Event) int {
		if a.Start != b.Start {
			if a.Start < b.Start {
				return -1
			}
			return 1
		}
		return int(a.Kind) - int(b.Kind)
	})
	return out
}

func clamp01(v float64) float64 { return math.Max(0, math.Min(1, v)) }

func (in Input) secondLen(i int) float64 {
	if in.Duration <= 0 {
		return 1
	}
	return math.Max(0, math.Min(1, in.Duration-float64(i)))
}

func classify(s Second, rhythmic bool) Kind {
	switch {
	case s.RMSDB < SilenceDB:
		return Silence
	case s.SpeechProb >= 0.5:
		return Speech
	case s.Flatness < MusicFlatness, rhythmic && s.Onsets > 0:
		return Music
	}
	return Noise
}

func segments(in Input) []Event {
	rhythmic := in.TempoConfidence >= 0.3 && in.Regularity >= 0.7
	var out []Event
	var sum float64 // of the value, weighted by seconds
	for i, s := range in.Seconds {
		k := classify(s, rhythmic)
		d := in.secondLen(i)
		if d <= 0 {
			break
		}
		var v float64
		switch k {
		case Speech:
			v = s.SpeechProb
		case Music, Noise:
			v = 1 - s.Flatness
		case Silence:
			v = s.RMSDB
		}
		if n := len(out); n > 0 && out[n-1].Kind == k && math.Abs(out[n-1].Start+out[n-1].Duration-float64(i)) < 1e-9 {
			out[n-1].Duration += d
			sum += v * d
			out[n-1].Value = sum / out[n-1].Duration
		} else {
			sum = v * d
			out = append(out, Event{Kind: k, Start: float64(i), Duration: d, Value: v})
		}
	}
	for i := range out {
		e := &out[i]
		switch e.Kind {
		case Speech, Music:
			e.Strength = clamp01(e.Value)
		case Noise:
			e.Strength = clamp01(1 - e.Value) // its flatness
		case Silence:
			e.Strength = clamp01((SilenceDB - e.Value) / 70)
		}
	}
	return out
}

func median(x []float64) float64 {
	if len(x) == 0 {
		return 0
	}
	s := slices.Sorted(slices.Values(x))
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

func bursts(blocks []float64) []Event {
	const window, minBack, maxLen = 30, 5, 30
	var out []Event
	for i := minBack; i < len(blocks); {
		bg := median(blocks[max(0, i-window):i])
		if blocks[i] < bg+BurstDB || blocks[i] < -35 {
			i++
			continue
		}
		j, peak := i, 0.0
		for j < len(blocks) && blocks[j] >= bg+BurstDB && blocks[j] >= -35 {
			peak = math.Max(peak, blocks[j]-bg)
			j++
		}
		if j-i <= maxLen {
			out = append(out, Event{Kind: LoudBurst, Start: float64(i) * BlockSeconds,
				Duration: float64(j-i) * BlockSeconds, Strength: clamp01(peak / 30), Value: peak})
		}
		i = j
	}
	return out
}

func jumps(blocks []float64) []Event {
	const before, after, gap = 20, 10, 20
	type cand struct {
		i int
		d float64
	}
	var cs []cand
	for i := before; i+after <= len(blocks); i++ {
		b, a := median(blocks[i-before:i]), median(blocks[i:i+after])
		if d := a - b; math.Abs(d) >= JumpDB && math.Max(a, b) >= -40 {
			// Medians detect (a short burst is not a jump); the change of
			// the mean levels ranks, and peaks where the change happens.
			cs = append(cs, cand{i, mean(blocks[i:i+after]) - mean(blocks[i-before:i])})
		}
	}
	// Keep the largest change, then drop candidates within gap of a kept one.
	slices.SortStableFunc(cs, func(x, y cand) int {
		switch ax, ay := math.Abs(x.d), math.Abs(y.d); {
		case ax > ay:
			return -1
		case ax < ay:
			return 1
		}
		return x.i - y.i
	})
	var kept []cand
	for _, c := range cs {
		if !slices.ContainsFunc(kept, func(k cand) bool { return abs(k.i-c.i) < gap }) {
			kept = append(kept, c)
		}
	}
	out := make([]Event, 0, len(kept))
	for _, c := range kept {
		out = append(out, Event{Kind: LoudnessJump, Start: float64(c.i) * BlockSeconds,
			Duration: after * BlockSeconds, Strength: clamp01(math.Abs(c.d) / 30), Value: c.d})
	}
	return out
}

func mean(x []float64) float64 {
	var s float64
	for _, v := range x {
		s += v
	}
	return s / float64(len(x))
}

func abs(v int) int {
	if v < 0 {
		return -v
	}
	return v
}

func applause(in Input) []Event {
	var out []Event
	for i := 0; i < len(in.Seconds); {
		ok := func(s Second) bool { return s.Flatness >= 0.3 && s.RMSDB >= -40 && s.Onsets >= 3 }
		if !ok(in.Seconds[i]) {
			i++
			continue
		}
		j := i
		var flat, onsets, dur float64
		for j < len(in.Seconds) && ok(in.Seconds[j]) {
			d := in.secondLen(j)
			flat += in.Seconds[j].Flatness * d
			onsets += float64(in.Seconds[j].Onsets)
			dur += d
			j++
		}
		if dur > 0 {
			rate := onsets / dur
			out = append(out, Event{Kind: ApplauseLaughter, Start: float64(i), Duration: dur,
				Strength: clamp01(flat/dur/0.6) * clamp01(rate/8), Value: rate})
		}
		i = j
	}
	return out
}
