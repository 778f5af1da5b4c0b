package motion

import (
	"errors"
	"math"
	"slices"

	"github.com/clipmesh/clipmesh/services/vision/internal/cv"
	"github.com/clipmesh/clipmesh/services/vision/internal/frames"
)

// Sample is the motion between one analysed frame and the previous one.
type Sample struct {
	// Index and Time are those of the later frame.
	Index int64
	Time  float64
	// Magnitude is the mean flow speed over the frame.
	Magnitude float64
	// Energy is the mean squared flow speed.
	Energy float64
	// DX and DY are the mean flow of moving pixels; Direction is its angle
	// (meaningless when Moving is 0).
	DX, DY    float64
	Direction float64
	// Moving is the fraction of pixels moving faster than Options.MinSpeed.
	Moving float64
	// CameraDX and CameraDY are the median flow (the global, camera motion);
	// Camera is its length.
	CameraDX, CameraDY, Camera float64
	// Object is the mean speed left after removing the camera motion.
	Object float64
}

// Second aggregates the samples whose time falls in [Second, Second+1).
type Second struct {
	Second                    int
	Magnitude, Energy         float64
	Direction                 float64
	Camera, Object            float64
	CameraDominant, HasMotion bool
	samples                   int
	sumDX, sumDY, sumMov      float64
}

// Result is the motion analysis of a stream.
type Result struct {
	Samples []Sample
	Seconds []Second
	// MeanEnergy is the mean of the per-sample energy.
	MeanEnergy float64
}

// Options tunes the analysis; zero fields take the defaults.
type Options struct {
	// Step analyses every Step-th frame (default 1).
	Step int
	// MinSpeed is the speed (frame widths per second) above which a pixel
	// counts as moving (default 0.02).
	MinSpeed float64
	// Farneback are the flow parameters (default cv.DefaultFarneback).
	Farneback *cv.FarnebackOptions
	// MaxWidth is the widest frame the flow is computed on; wider frames
	// are scaled down first (default 160: the flow's cost grows with the
	// area, and speeds are in frame widths, so they do not change).
	MaxWidth int
}

// Analyzer accumulates samples; it is not safe for concurrent use.
type Analyzer struct {
	fps      float64
	o        Options
	prev     []byte
	cur      []byte
	w, h     int // flow size
	inW, inH int // frame size
	samples  []Sample
	dx, dy   []float64
	prevTime float64
}

// New returns an analyzer for frames at fps.
func New(fps float64, o Options) *Analyzer {
	if o.Step <= 0 {
		o.Step = 1
	}
	if o.MinSpeed <= 0 {
		o.MinSpeed = 0.02
	}
	if o.Farneback == nil {
		fo := cv.DefaultFarneback
		o.Farneback = &fo
	}
	if o.MaxWidth <= 0 {
		o.MaxWidth = 160
	}
	return &Analyzer{fps: fps, o: o}
}

// Add takes the next frame (any format, ~160 px wide is plenty); it has the
// signature of a frames.Sink.
func (a *Analyzer) Add(f *frames.Frame) error {
	if f.Index%int64(a.o.Step) != 0 {
		return nil
	}
	if a.prev != nil && (f.Width != a.inW || f.Height != a.inH) {
		return errors.New("motion: frame size changed")
	}
	a.inW, a.inH = f.Width, f.Height
	a.cur = f.Gray(a.cur)
	a.w, a.h = f.Width, f.Height
	if f.Width > a.o.MaxWidth {
		a.w = a.o.MaxWidth
		a.h = max(2, int(math.Round(float64(f.Height)*float64(a.w)/float64(f.Width))))
		small, err := cv.Resize(a.cur, f.Width, f.Height, 1, a.w, a.h)
		if err != nil {
			return err
		}
		a.cur = small
	}
	if a.prev == nil {
		a.prev = slices.Clone(a.cur)
		a.prevTime = f.Time
		return nil
	}
	flow, err := cv.Farneback(a.prev, a.cur, a.w, a.h, *a.o.Farneback)
	if err != nil {
		return err
	}
	dt := f.Time - a.prevTime
	if dt <= 0 {
		dt = float64(a.o.Step) / a.fps
	}
	a.samples = append(a.samples, a.sample(flow, f.Index, f.Time, 1/(dt*float64(a.w))))
	a.prev, a.cur = a.cur, a.prev
	a.prevTime = f.Time
	return nil
}

// sample turns a flow field into a Sample; scale converts pixels per frame
// pair into frame widths per second.
func (a *Analyzer) sample(fl cv.Flow, idx int64, t, scale float64) Sample {
	n := len(fl.DX)
	if cap(a.dx) < n {
		a.dx, a.dy = make([]float64, n), make([]float64, n)
	}
	a.dx, a.dy = a.dx[:n], a.dy[:n]
	s := Sample{Index: idx, Time: t}
	var sumMag, sumSq, mdx, mdy float64
	var moving int
	for i := range n {
		vx, vy := float64(fl.DX[i])*scale, float64(fl.DY[i])*scale
		a.dx[i], a.dy[i] = vx, vy
		sq := vx*vx + vy*vy
		m := math.Sqrt(sq)
		sumMag += m
		sumSq += sq
		if m > a.o.MinSpeed {
			moving++
			mdx += vx
			mdy += vy
		}
	}
	s.Magnitude = sumMag / float64(n)
	s.Energy = sumSq / float64(n)
	s.Moving = float64(moving) / float64(n)
	if moving > 0 {
		s.DX, s.DY = mdx/float64(moving), mdy/float64(moving)
		s.Direction = angle(s.DX, s.DY)
	}
	// Camera: the median vector; object: what remains.
	cx := medianOf(slices.Clone(a.dx))
	cy := medianOf(slices.Clone(a.dy))
	s.CameraDX, s.CameraDY, s.Camera = cx, cy, math.Hypot(cx, cy)
	var obj float64
	for i := range n {
		obj += math.Hypot(a.dx[i]-cx, a.dy[i]-cy)
	}
	s.Object = obj / float64(n)
	return s
}

// Finish returns the samples and their per-second aggregates.
func (a *Analyzer) Finish() Result {
	res := Result{Samples: a.samples}
	var byS []Second
	for _, s := range a.samples {
		sec := int(math.Floor(s.Time))
		for len(byS) <= sec {
			byS = append(byS, Second{Second: len(byS)})
		}
		b := &byS[sec]
		b.samples++
		b.Magnitude += s.Magnitude
		b.Energy += s.Energy
		b.Camera += s.Camera
		b.Object += s.Object
		b.sumDX += s.DX * s.Moving
		b.sumDY += s.DY * s.Moving
		b.sumMov += s.Moving
		res.MeanEnergy += s.Energy
	}
	if len(a.samples) > 0 {
		res.MeanEnergy /= float64(len(a.samples))
	}
	for i := range byS {
		b := &byS[i]
		if b.samples == 0 {
			continue
		}
		k := float64(b.samples)
		b.Magnitude /= k
		b.Energy /= k
		b.Camera /= k
		b.Object /= k
		b.HasMotion = b.sumMov/k > 0.001
		if b.HasMotion {
			b.Direction = angle(b.sumDX, b.sumDY)
		}
		b.CameraDominant = b.Camera > b.Object
	}
	res.Seconds = byS
	return res
}

// angle is the direction of (dx, dy) in degrees in [0, 360), image
// coordinates (y down).
func angle(dx, dy float64) float64 {
	d := math.Mod(math.Atan2(dy, dx)*180/math.Pi+360, 360)
	if d >= 359.95 {
		d = 0
	}
	return d
}

func medianOf(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	slices.Sort(xs)
	m := len(xs) / 2
	if len(xs)%2 == 1 {
		return xs[m]
	}
	return (xs[m-1] + xs[m]) / 2
}
