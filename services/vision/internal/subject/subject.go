package subject

import (
	"errors"
	"math"
	"math/cmplx"
	"slices"

	"github.com/clipmesh/clipmesh/services/vision/internal/frames"
)

// Source says where a raw point came from.
type Source int

const (
	// Motion is the centroid of moving pixels.
	Motion Source = iota + 1
	// Saliency is the centroid of spectral-residual saliency.
	Saliency
	// Center is the frame centre (first frame, nothing salient).
	Center
)

// Point is the crop target at one sampled frame.
type Point struct {
	Index int64
	Time  float64
	// X and Y are the smoothed target; RawX and RawY the unsmoothed one.
	X, Y, RawX, RawY float64
	Source           Source
}

// Options tunes the tracker; zero fields take the defaults.
type Options struct {
	// Step samples every Step-th frame (default 1).
	Step int
	// DiffThreshold is the luma difference (0–255) that counts as motion
	// (default 20).
	DiffThreshold int
	// MinMoving is the fraction of moving pixels below which saliency is
	// used instead (default 0.001).
	MinMoving float64
	// Alpha is the exponential smoothing factor per second (default 0.99:
	// 99% of the way to a steady target within a second).
	Alpha float64
	// MaxSpeed bounds the smoothed point's speed in frame sizes per second
	// (default 0.5).
	MaxSpeed float64
	// DeadZone is the distance (frame sizes) within which the point holds
	// still (default 0.01).
	DeadZone float64
}

// Tracker follows the subject; it is not safe for concurrent use.
type Tracker struct {
	fps    float64
	o      Options
	prev   []byte
	cur    []byte
	w, h   int
	x, y   float64
	init   bool
	jump   bool
	lastT  float64
	points []Point
}

// New returns a tracker for frames at fps.
func New(fps float64, o Options) *Tracker {
	if o.Step <= 0 {
		o.Step = 1
	}
	if o.DiffThreshold <= 0 {
		o.DiffThreshold = 20
	}
	if o.MinMoving <= 0 {
		o.MinMoving = 0.001
	}
	if o.Alpha <= 0 || o.Alpha >= 1 {
		o.Alpha = 0.99
	}
	if o.MaxSpeed <= 0 {
		o.MaxSpeed = 0.5
	}
	if o.DeadZone <= 0 {
		o.DeadZone = 0.01
	}
	return &Tracker{fps: fps, o: o}
}

// Cut tells the tracker a new shot starts with the next frame: the point
// jumps there instead of gliding, and motion is not compared across the cut.
func (t *Tracker) Cut() {
	t.jump = true
	t.prev = nil
}

// Add takes the next frame; it has the signature of a frames.Sink.
func (t *Tracker) Add(f *frames.Frame) error {
	if f.Index%int64(t.o.Step) != 0 {
		return nil
	}
	if t.prev != nil && (f.Width != t.w || f.Height != t.h) {
		return errors.New("subject: frame size changed")
	}
	t.w, t.h = f.Width, f.Height
	t.cur = f.Gray(t.cur)
	rx, ry, src := 0.5, 0.5, Center
	if t.prev != nil {
		if x, y, ok := t.motionCentroid(); ok {
			rx, ry, src = x, y, Motion
		}
	}
	if src == Center {
		if x, y, ok := saliencyCentroid(t.cur, t.w, t.h); ok {
			rx, ry, src = x, y, Saliency
		}
	}
	t.smooth(rx, ry, f.Time)
	t.points = append(t.points, Point{Index: f.Index, Time: f.Time, X: t.x, Y: t.y, RawX: rx, RawY: ry, Source: src})
	if t.prev == nil {
		t.prev = make([]byte, len(t.cur))
	}
	t.prev, t.cur = t.cur, t.prev
	return nil
}

// Points returns the points so far.
func (t *Tracker) Points() []Point { return slices.Clone(t.points) }

func (t *Tracker) motionCentroid() (float64, float64, bool) {
	var sx, sy, sw float64
	moving := 0
	for y := range t.h {
		for x := range t.w {
			i := y*t.w + x
			d := int(t.cur[i]) - int(t.prev[i])
			if d < 0 {
				d = -d
			}
			if d >= t.o.DiffThreshold {
				wgt := float64(d)
				sx += wgt * (float64(x) + 0.5)
				sy += wgt * (float64(y) + 0.5)
				sw += wgt
				moving++
			}
		}
	}
	if float64(moving) < t.o.MinMoving*float64(t.w*t.h) || sw == 0 {
		return 0, 0, false
	}
	return sx / sw / float64(t.w), sy / sw / float64(t.h), true
}

func (t *Tracker) smooth(rx, ry, now float64) {
	if !t.init || t.jump {
		t.x, t.y, t.init, t.jump, t.lastT = rx, ry, true, false, now
		return
	}
	dt := now - t.lastT
	if dt <= 0 {
		dt = float64(t.o.Step) / t.fps
	}
	t.lastT = now
	dx, dy := rx-t.x, ry-t.y
	dist := math.Hypot(dx, dy)
	if dist <= t.o.DeadZone {
		return
	}
	// Exponential smoothing with a per-second factor, then a speed bound.
	k := 1 - math.Pow(1-t.o.Alpha, dt)
	mx, my := k*dx, k*dy
	if step := math.Hypot(mx, my); step > t.o.MaxSpeed*dt {
		mx, my = mx*t.o.MaxSpeed*dt/step, my*t.o.MaxSpeed*dt/step
	}
	t.x += mx
	t.y += my
}

// salSize is the thumbnail side for spectral-residual saliency.
const salSize = 64

// saliencyCentroid computes spectral-residual saliency on a salSize²
// thumbnail and returns the centroid of its top 5% values.
func saliencyCentroid(gray []byte, w, h int) (float64, float64, bool) {
	n := salSize
	img := make([]complex128, n*n)
	var mean float64
	for y := range n {
		for x := range n {
			// Box-average the source pixels falling in this cell.
			x0, x1 := x*w/n, max(x*w/n+1, (x+1)*w/n)
			y0, y1 := y*h/n, max(y*h/n+1, (y+1)*h/n)
			var s float64
			for yy := y0; yy < y1; yy++ {
				for xx := x0; xx < x1; xx++ {
					s += float64(gray[yy*w+xx])
				}
			}
			v := s / float64((x1-x0)*(y1-y0))
			img[y*n+x] = complex(v, 0)
			mean += v
		}
	}
	mean /= float64(n * n)
	var spread float64
	for _, v := range img {
		spread += math.Abs(real(v) - mean)
	}
	if spread/float64(n*n) < 1 {
		return 0, 0, false // flat picture: nothing is salient
	}
	fft2(img, n, false)
	logA := make([]float64, n*n)
	for i, v := range img {
		logA[i] = math.Log(cmplx.Abs(v) + 1e-9)
	}
	for y := range n {
		for x := range n {
			var s float64
			for dy := -1; dy <= 1; dy++ {
				for dx := -1; dx <= 1; dx++ {
					s += logA[((y+dy+n)%n)*n+(x+dx+n)%n]
				}
			}
			i := y*n + x
			r := logA[i] - s/9
			img[i] = cmplx.Rect(math.Exp(r), cmplx.Phase(img[i]))
		}
	}
	fft2(img, n, true)
	sal := make([]float64, n*n)
	for i, v := range img {
		a := cmplx.Abs(v)
		sal[i] = a * a
	}
	sorted := slices.Clone(sal)
	slices.Sort(sorted)
	thr := sorted[len(sorted)*95/100]
	var sx, sy, sw float64
	for y := range n {
		for x := range n {
			if v := sal[y*n+x]; v >= thr {
				sx += v * (float64(x) + 0.5)
				sy += v * (float64(y) + 0.5)
				sw += v
			}
		}
	}
	if sw == 0 {
		return 0, 0, false
	}
	return sx / sw / float64(n), sy / sw / float64(n), true
}

// fft2 is an in-place 2-D radix-2 FFT of an n×n array (n a power of two).
func fft2(a []complex128, n int, inverse bool) {
	row := make([]complex128, n)
	for y := range n {
		copy(row, a[y*n:(y+1)*n])
		fft(row, inverse)
		copy(a[y*n:(y+1)*n], row)
	}
	for x := range n {
		for y := range n {
			row[y] = a[y*n+x]
		}
		fft(row, inverse)
		for y := range n {
			a[y*n+x] = row[y]
		}
	}
}

func fft(a []complex128, inverse bool) {
	n := len(a)
	for i, j := 1, 0; i < n; i++ {
		bit := n >> 1
		for ; j&bit != 0; bit >>= 1 {
			j ^= bit
		}
		j ^= bit
		if i < j {
			a[i], a[j] = a[j], a[i]
		}
	}
	sign := -1.0
	if inverse {
		sign = 1
	}
	for size := 2; size <= n; size <<= 1 {
		w := cmplx.Rect(1, sign*2*math.Pi/float64(size))
		for start := 0; start < n; start += size {
			wk := complex(1, 0)
			for k := range size / 2 {
				u, v := a[start+k], a[start+k+size/2]*wk
				a[start+k], a[start+k+size/2] = u+v, u-v
				wk *= w
			}
		}
	}
	if inverse {
		for i := range a {
			a[i] /= complex(float64(n), 0)
		}
	}
}
