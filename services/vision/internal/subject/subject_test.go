package subject

import (
	"math"
	"testing"

	"github.com/clipmesh/clipmesh/platform/fixtures"
	"github.com/clipmesh/clipmesh/services/vision/internal/frames"
)

func TestFollowsMovingSquare(t *testing.T) {
	t.Parallel()
	p := fixtures.MustPath(t, fixtures.MovingSquare)
	tr := New(fixtures.FPS, Options{Step: 2})
	if _, err := frames.Decode(t.Context(), p, frames.Options{Width: 160, Format: frames.Gray}, tr.Add); err != nil {
		t.Fatal(err)
	}
	pts := tr.Points()
	near, worst := 0, 0.0
	for _, pt := range pts {
		sx, sy := fixtures.SquareCenter(pt.Time)
		d := math.Hypot(pt.X*fixtures.Width-sx, pt.Y*fixtures.Height-sy)
		worst = max(worst, d)
		if d <= 20 {
			near++
		}
	}
	t.Logf("%d of %d points within 20 px of the square's centre (worst %.1f px)", near, len(pts), worst)
	if near < len(pts)*9/10 {
		t.Errorf("only %d of %d points within 20 px", near, len(pts))
	}
}

func TestStillUsesSaliencyAndHolds(t *testing.T) {
	t.Parallel()
	p := fixtures.MustPath(t, fixtures.Still)
	tr := New(fixtures.FPS, Options{Step: 5})
	if _, err := frames.Decode(t.Context(), p, frames.Options{Width: 160, Format: frames.Gray}, tr.Add); err != nil {
		t.Fatal(err)
	}
	pts := tr.Points()
	for _, pt := range pts {
		if pt.Source != Saliency {
			t.Fatalf("point %+v: want saliency on a still frame", pt)
		}
		if pt.X != pts[0].X || pt.Y != pts[0].Y {
			t.Fatalf("point moved on a still frame: %+v vs %+v", pt, pts[0])
		}
	}
}

func TestCutJumps(t *testing.T) {
	t.Parallel()
	tr := New(25, Options{})
	frame := func(i int64, left bool) *frames.Frame {
		pix := make([]byte, 64*64)
		for y := 20; y < 40; y++ {
			for x := range 16 {
				if left {
					pix[y*64+x+4] = 255
				} else {
					pix[y*64+x+44] = 255
				}
			}
		}
		return &frames.Frame{Index: i, Time: float64(i) / 25, Width: 64, Height: 64, Format: frames.Gray, Pix: pix}
	}
	for i := range int64(5) {
		if err := tr.Add(frame(i, true)); err != nil {
			t.Fatal(err)
		}
	}
	tr.Cut()
	if err := tr.Add(frame(5, false)); err != nil {
		t.Fatal(err)
	}
	pts := tr.Points()
	a, b := pts[4], pts[5]
	// After a cut the smoothed point is the raw one (no glide, no dead zone).
	if !(b.X > a.X) || b.X != b.RawX || b.Y != b.RawY {
		t.Errorf("no jump on the cut: %+v then %+v", a, b)
	}
}
