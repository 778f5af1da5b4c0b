// Package reframe plans how a clip's source frames become the target aspect
// ratio: a crop window that follows the main subject (smoothed, bounded in
// speed, held still within a shot, jumping on a cut), or, when there is no
// subject or two far apart, a blurred-background pad layout. A plan renders
// as an ffmpeg filter chain.
package reframe

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/clipmesh/clipmesh/services/clips/internal/inputerr"
	"github.com/clipmesh/clipmesh/services/clips/internal/presets"
)

// Point is a subject's centre at time T (seconds of the source video), in
// source pixels.
type Point struct {
	T, X, Y float64
}

// Input describes one clip to reframe.
type Input struct {
	// SrcW and SrcH are the source frame size.
	SrcW, SrcH int
	// Aspect is the target aspect ratio.
	Aspect presets.Aspect
	// Start and End are the clip's range in source seconds.
	Start, End float64
	// Tracks are subject paths, main subject first. Empty: pad layout.
	Tracks [][]Point
	// Cuts are shot boundaries in source seconds.
	Cuts []float64
	// Step is the sampling interval in seconds (default 0.5).
	Step float64
	// MaxSpeed bounds the window's speed in source pixels per second
	// (default a quarter of the source width per second).
	MaxSpeed float64
	// Hold is the dead zone: the window stays put while the subject is
	// within Hold pixels of where the window would centre it (default a
	// tenth of the window's width).
	Hold float64
}

// Mode is how a plan fills the output frame.
type Mode int

// The layouts.
const (
	// ModeCrop crops a moving window of the target aspect.
	ModeCrop Mode = iota + 1
	// ModePad fits the whole frame over a blurred, zoomed copy of itself.
	ModePad
)

// Segment is one linear piece of the window's path: its top-left corner
// moves from (X0, Y0) at T0 to (X1, Y1) at T1 (seconds from clip start).
type Segment struct {
	T0, T1         float64
	X0, X1, Y0, Y1 float64
}

// Plan is a reframing decision.
type Plan struct {
	Mode Mode
	// W and H are the crop window's size in source pixels (ModeCrop).
	W, H int
	// Segments is the window path, in time order, covering the clip.
	Segments []Segment
	// Reason says why a pad layout was chosen.
	Reason string
}

func (in Input) withDefaults() Input {
	if in.Step <= 0 {
		in.Step = 0.5
	}
	if in.MaxSpeed <= 0 {
		in.MaxSpeed = float64(in.SrcW) / 4
	}
	return in
}

// CropSize returns the largest window of aspect a inside a srcW x srcH frame
// (even sizes).
func CropSize(srcW, srcH int, a presets.Aspect) (w, h int) {
	if float64(srcW)/float64(srcH) > a.Ratio() {
		return min(evenDown(float64(srcH)*a.Ratio()), srcW), srcH &^ 1
	}
	return srcW &^ 1, min(evenDown(float64(srcW)/a.Ratio()), srcH)
}

func evenDown(v float64) int { return int(math.Round(v)) &^ 1 }

// Center returns a fixed, centred crop of aspect a.
func Center(srcW, srcH int, a presets.Aspect, length float64) Plan {
	w, h := CropSize(srcW, srcH, a)
	x, y := float64(srcW-w)/2, float64(srcH-h)/2
	return Plan{Mode: ModeCrop, W: w, H: h, Segments: []Segment{{0, length, x, x, y, y}}}
}

// Pad returns the blurred-background layout.
func Pad(reason string) Plan { return Plan{Mode: ModePad, Reason: reason} }

// New plans the reframing of in.
func New(in Input) (Plan, error) {
	if in.SrcW <= 0 || in.SrcH <= 0 {
		return Plan{}, inputerr.New("source_size", fmt.Sprintf("%dx%d", in.SrcW, in.SrcH), "must be positive")
	}
	if in.Aspect.W <= 0 || in.Aspect.H <= 0 {
		return Plan{}, inputerr.New("aspect", in.Aspect.String(), "must be positive")
	}
	if math.IsNaN(in.Start) || in.Start < 0 {
		return Plan{}, inputerr.New("start", fmt.Sprint(in.Start), "must be >= 0")
	}
	if math.IsNaN(in.End) || in.End <= in.Start {
		return Plan{}, inputerr.New("end", fmt.Sprint(in.End), "must be after start")
	}
	in = in.withDefaults()
	w, h := CropSize(in.SrcW, in.SrcH, in.Aspect)
	if in.Hold <= 0 {
		in.Hold = float64(w) / 10
	}
	if len(in.Tracks) == 0 || len(in.Tracks[0]) == 0 {
		return Pad("no subject"), nil
	}
	for i, tr := range in.Tracks {
		sort.SliceStable(tr, func(a, b int) bool { return tr[a].T < tr[b].T })
		in.Tracks[i] = tr
	}
	if far(in, w) {
		return Pad("two subjects too far apart for one window"), nil
	}
	cuts := make([]float64, 0, len(in.Cuts))
	for _, c := range in.Cuts {
		if c > in.Start && c < in.End {
			cuts = append(cuts, c-in.Start)
		}
	}
	sort.Float64s(cuts)

	length := in.End - in.Start
	maxX, maxY := float64(in.SrcW-w), float64(in.SrcH-h)
	target := func(t float64) (float64, float64) {
		p := at(in.Tracks[0], in.Start+t)
		return clamp(p.X-float64(w)/2, 0, maxX), clamp(p.Y-float64(h)/2, 0, maxY)
	}
	// Sample times: every Step, plus each cut (as a jump) and the end.
	var keys []Segment // reused as (T0, X0, Y0) keys; T1 marks a jump
	x, y := target(0)
	keys = append(keys, Segment{T0: 0, X0: x, Y0: y})
	ci := 0
	for t := in.Step; ; t += in.Step {
		t = min(t, length)
		for ci < len(cuts) && cuts[ci] <= t {
			// Hold until the cut, then jump to the new shot's subject.
			keys = append(keys, Segment{T0: cuts[ci], X0: x, Y0: y})
			x, y = target(cuts[ci])
			keys = append(keys, Segment{T0: cuts[ci], X0: x, Y0: y, T1: 1})
			ci++
		}
		tx, ty := target(t)
		dt := t - keys[len(keys)-1].T0
		x = follow(x, tx, in.Hold, in.MaxSpeed*dt)
		y = follow(y, ty, in.Hold, in.MaxSpeed*dt)
		if dt > 0 {
			keys = append(keys, Segment{T0: t, X0: x, Y0: y})
		}
		if t >= length {
			break
		}
	}
	var segs []Segment
	for i := 1; i < len(keys); i++ {
		a, b := keys[i-1], keys[i]
		if b.T1 == 1 { // jump: no segment between the two keys of a cut
			continue
		}
		segs = append(segs, Segment{T0: a.T0, T1: b.T0, X0: round(a.X0), X1: round(b.X0), Y0: round(a.Y0), Y1: round(b.Y0)})
	}
	return Plan{Mode: ModeCrop, W: w, H: h, Segments: merge(segs)}, nil
}

// follow moves cur toward target: not at all while target is within the
// hold zone, else toward the zone's edge by at most step. A subject moving
// steadily is thus followed at its own speed (a constant lag of hold, one
// straight segment), a jittering one not at all.
func follow(cur, target, hold, step float64) float64 {
	d := target - cur
	if math.Abs(d) <= hold {
		return cur
	}
	return cur + clamp(d-math.Copysign(hold, d), -step, step)
}

// far reports whether the first two tracks are further apart than the
// window can show for most of the clip.
func far(in Input, w int) bool {
	if len(in.Tracks) < 2 || len(in.Tracks[1]) == 0 {
		return false
	}
	n, apart := 0, 0
	for t := in.Start; t <= in.End; t += in.Step {
		a, b := in.Tracks[0], in.Tracks[1]
		if t < b[0].T || t > b[len(b)-1].T || t < a[0].T || t > a[len(a)-1].T {
			continue
		}
		n++
		if math.Abs(at(a, t).X-at(b, t).X) > 0.8*float64(w) {
			apart++
		}
	}
	return n > 0 && apart*2 > n
}

// at interpolates track (sorted by T) at t, holding its ends.
func at(track []Point, t float64) Point {
	i := sort.Search(len(track), func(i int) bool { return track[i].T >= t })
	switch {
	case i == 0:
		return track[0]
	case i == len(track):
		return track[len(track)-1]
	}
	a, b := track[i-1], track[i]
	if b.T == a.T {
		return b
	}
	f := (t - a.T) / (b.T - a.T)
	return Point{T: t, X: a.X + f*(b.X-a.X), Y: a.Y + f*(b.Y-a.Y)}
}

// merge joins consecutive segments that continue each other on one line
// (within half a pixel), so still spans and steady pans become one piece.
func merge(segs []Segment) []Segment {
	var out []Segment
	for _, s := range segs {
		if n := len(out); n > 0 {
			p := out[n-1]
			if p.T1 == s.T0 && p.X1 == s.X0 && p.Y1 == s.Y0 {
				j := Segment{T0: p.T0, T1: s.T1, X0: p.X0, X1: s.X1, Y0: p.Y0, Y1: s.Y1}
				if j.dev(p.T1, p.X1, p.Y1) <= 0.5 {
					out[n-1] = j
					continue
				}
			}
		}
		out = append(out, s)
	}
	return out
}

// dev is how far the segment passes from (x, y) at t.
func (s Segment) dev(t, x, y float64) float64 {
	sx, sy := s.at(t)
	return math.Max(math.Abs(sx-x), math.Abs(sy-y))
}

func (s Segment) at(t float64) (x, y float64) {
	if s.T1 <= s.T0 {
		return s.X1, s.Y1
	}
	f := clamp((t-s.T0)/(s.T1-s.T0), 0, 1)
	return s.X0 + f*(s.X1-s.X0), s.Y0 + f*(s.Y1-s.Y0)
}

// At returns the window's top-left corner at t seconds from the clip start,
// as the crop expressions evaluate it.
func (p Plan) At(t float64) (x, y float64) {
	if len(p.Segments) == 0 {
		return 0, 0
	}
	for _, s := range p.Segments {
		if t < s.T1 {
			return s.at(t)
		}
	}
	last := p.Segments[len(p.Segments)-1]
	return last.X1, last.Y1
}

// Expr returns ffmpeg expressions for the window's x and y in terms of t
// (seconds from the clip start): nested if(lt(t,T1),…) over the segments,
// each piece a constant or a linear ramp.
func (p Plan) Expr() (x, y string) {
	return p.expr(func(s Segment) (float64, float64) { return s.X0, s.X1 }),
		p.expr(func(s Segment) (float64, float64) { return s.Y0, s.Y1 })
}

func (p Plan) expr(get func(Segment) (float64, float64)) string {
	if len(p.Segments) == 0 {
		return "0"
	}
	piece := func(s Segment) string {
		a, b := get(s)
		if a == b || s.T1 <= s.T0 {
			return num(b)
		}
		return fmt.Sprintf("%s+%s*(t-%s)", num(a), num((b-a)/(s.T1-s.T0)), num(s.T0))
	}
	// Collapse runs of segments with identical constant pieces.
	type part struct {
		t1    float64
		piece string
	}
	var parts []part
	for _, s := range p.Segments {
		pc := piece(s)
		if n := len(parts); n > 0 && parts[n-1].piece == pc {
			parts[n-1].t1 = s.T1
			continue
		}
		parts = append(parts, part{s.T1, pc})
	}
	var b strings.Builder
	for _, pt := range parts[:len(parts)-1] {
		fmt.Fprintf(&b, "if(lt(t,%s),%s,", num(pt.t1), pt.piece)
	}
	b.WriteString(parts[len(parts)-1].piece)
	b.WriteString(strings.Repeat(")", len(parts)-1))
	return b.String()
}

// Filter returns the ffmpeg filter chain (one input, one output, no labels)
// that turns source frames into outW x outH frames by this plan.
func (p Plan) Filter(outW, outH int) string {
	if p.Mode == ModePad {
		// The background is blurred at an eighth of the size (cheap), then
		// scaled back up.
		bw, bh := max(outW/8, 2)&^1, max(outH/8, 2)&^1
		return fmt.Sprintf("split=2[bg][fg];"+
			"[bg]scale=%d:%d:force_original_aspect_ratio=increase,crop=%d:%d,boxblur=8:2,scale=%d:%d,setsar=1[bgb];"+
			"[fg]scale=%d:%d:force_original_aspect_ratio=decrease,setsar=1[fgs];"+
			"[bgb][fgs]overlay=(W-w)/2:(H-h)/2",
			bw, bh, bw, bh, outW, outH, outW, outH)
	}
	x, y := p.Expr()
	return fmt.Sprintf("crop=%d:%d:x='%s':y='%s',scale=%d:%d,setsar=1", p.W, p.H, x, y, outW, outH)
}

func clamp(v, lo, hi float64) float64 { return math.Max(lo, math.Min(hi, v)) }

func round(v float64) float64 { return math.Round(v) }

func num(v float64) string { return strconv.FormatFloat(math.Round(v*1000)/1000, 'f', -1, 64) }
