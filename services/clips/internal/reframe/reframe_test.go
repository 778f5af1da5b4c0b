package reframe

import (
	"math"
	"strings"
	"testing"

	"github.com/clipmesh/clipmesh/platform/fixtures"
	"github.com/clipmesh/clipmesh/services/clips/internal/inputerr"
	"github.com/clipmesh/clipmesh/services/clips/internal/presets"
)

// squareTrack is the truth path of moving_square.mp4's square.
func squareTrack() []Point {
	var tr []Point
	for n := 0; n < fixtures.SquareSeconds*fixtures.FPS; n++ {
		t := float64(n) / fixtures.FPS
		x, y := fixtures.SquareCenter(t)
		tr = append(tr, Point{T: t, X: x, Y: y})
	}
	return tr
}

func TestCropFollowsSquare(t *testing.T) {
	t.Parallel()
	for _, a := range []presets.Aspect{presets.Vertical, presets.Square, presets.Portrait} {
		t.Run(a.String(), func(t *testing.T) {
			start, end := 0.5, 4.5
			p, err := New(Input{SrcW: fixtures.Width, SrcH: fixtures.Height, Aspect: a, Start: start, End: end, Tracks: [][]Point{squareTrack()}})
			if err != nil {
				t.Fatal(err)
			}
			if p.Mode != ModeCrop {
				t.Fatalf("mode %v (%s)", p.Mode, p.Reason)
			}
			if got := float64(p.W) / float64(p.H); math.Abs(got-a.Ratio()) > 0.02 {
				t.Fatalf("window %dx%d is not %v", p.W, p.H, a)
			}
			for n := 0; float64(n)/fixtures.FPS < end-start; n++ {
				ct := float64(n) / fixtures.FPS
				x, _ := p.At(ct)
				cx, _ := fixtures.SquareCenter(start + ct)
				half := fixtures.SquareSize / 2.0
				if cx-half < x || cx+half > x+float64(p.W) {
					t.Fatalf("t=%.2f: square [%v,%v] outside window [%v,%v]", ct, cx-half, cx+half, x, x+float64(p.W))
				}
			}
			x, y := p.Expr()
			if len(x) > 2000 || strings.Count(x, "if(") > 20 {
				t.Errorf("x expression too big (%d bytes): %s", len(x), x)
			}
			if y != "0" {
				t.Errorf("y = %q, want 0 (full-height window)", y)
			}
		})
	}
}

func TestBoundedSpeedAndCuts(t *testing.T) {
	t.Parallel()
	// The subject teleports from left to right at 2 s; a cut at 3 s.
	track := []Point{{0, 40, 120}, {1.99, 40, 120}, {2, 280, 120}, {10, 280, 120}}
	in := Input{SrcW: 320, SrcH: 240, Aspect: presets.Vertical, Start: 0, End: 6, Tracks: [][]Point{track}, MaxSpeed: 40}
	p, err := New(in)
	if err != nil {
		t.Fatal(err)
	}
	for ct := 0.0; ct < 2.9; ct += 0.04 {
		x0, _ := p.At(ct)
		x1, _ := p.At(ct + 0.04)
		if math.Abs(x1-x0) > 40*0.04+0.01 {
			t.Fatalf("t=%.2f: window moved %v px in one frame", ct, x1-x0)
		}
	}
	// Without the cut the window is still travelling at 3 s...
	xb, _ := p.At(2.9)
	if xb > 150 {
		t.Fatalf("window at 2.9 s is %v: moved faster than allowed", xb)
	}
	// ...with a cut at 3 s it jumps there.
	in.Cuts = []float64{3}
	p, err = New(in)
	if err != nil {
		t.Fatal(err)
	}
	if x, _ := p.At(3.01); x != float64(320-p.W) {
		t.Fatalf("after the cut x = %v, want %d", x, 320-p.W)
	}
	// Holding: a subject that jitters within the hold zone never moves it.
	jitter := []Point{{0, 160, 120}, {1, 165, 120}, {2, 155, 120}, {3, 162, 120}}
	p, err = New(Input{SrcW: 320, SrcH: 240, Aspect: presets.Vertical, Start: 0, End: 3, Tracks: [][]Point{jitter}})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Segments) != 1 || p.Segments[0].X0 != p.Segments[0].X1 {
		t.Fatalf("jittery subject moved the window: %+v", p.Segments)
	}
}

func TestPad(t *testing.T) {
	t.Parallel()
	p, err := New(Input{SrcW: 320, SrcH: 240, Aspect: presets.Vertical, Start: 0, End: 3})
	if err != nil || p.Mode != ModePad {
		t.Fatalf("no subject: %+v, %v", p, err)
	}
	left := []Point{{0, 30, 120}, {3, 30, 120}}
	right := []Point{{0, 290, 120}, {3, 290, 120}}
	p, err = New(Input{SrcW: 320, SrcH: 240, Aspect: presets.Vertical, Start: 0, End: 3, Tracks: [][]Point{left, right}})
	if err != nil || p.Mode != ModePad {
		t.Fatalf("two far subjects: %+v, %v", p, err)
	}
	if f := p.Filter(1080, 1920); !strings.Contains(f, "boxblur") || !strings.Contains(f, "overlay") {
		t.Fatalf("pad filter %q", f)
	}
}

func TestBadInput(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		in    Input
		field string
	}{
		{"zero length", Input{SrcW: 320, SrcH: 240, Aspect: presets.Vertical, Start: 2, End: 2}, "end"},
		{"negative start", Input{SrcW: 320, SrcH: 240, Aspect: presets.Vertical, Start: -1, End: 2}, "start"},
		{"no aspect", Input{SrcW: 320, SrcH: 240, Start: 0, End: 2}, "aspect"},
		{"no size", Input{Aspect: presets.Vertical, Start: 0, End: 2}, "source_size"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := New(tc.in); inputerr.Field(err) != tc.field {
				t.Fatalf("err = %v, want invalid %s", err, tc.field)
			}
		})
	}
}
