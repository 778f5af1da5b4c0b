package blazeface

import (
	"math"
	"testing"
)

func TestAnchors(t *testing.T) {
	t.Parallel()
	for _, size := range []int{128, 256} {
		a := anchors(size)
		if len(a) != numAnchors {
			t.Fatalf("size %d: %d anchors, want %d", size, len(a), numAnchors)
		}
		for _, tc := range []struct {
			i    int
			want anchor
		}{
			{0, anchor{0.5 / 16, 0.5 / 16}},
			{1, anchor{0.5 / 16, 0.5 / 16}},     // 2 anchors per 16x16 cell
			{2, anchor{1.5 / 16, 0.5 / 16}},     // row-major: x first
			{32, anchor{0.5 / 16, 1.5 / 16}},    // second row
			{511, anchor{15.5 / 16, 15.5 / 16}}, // last of the 16x16 grid
			{512, anchor{0.5 / 8, 0.5 / 8}},     // 8x8 grid, 6 per cell
			{517, anchor{0.5 / 8, 0.5 / 8}},
			{518, anchor{1.5 / 8, 0.5 / 8}},
			{895, anchor{7.5 / 8, 7.5 / 8}},
		} {
			if a[tc.i] != tc.want {
				t.Errorf("size %d: anchor %d = %v, want %v", size, tc.i, a[tc.i], tc.want)
			}
		}
	}
}

// synthetic builds raw outputs where every anchor has logit -20 except the
// given ones.
func synthetic(set map[int][numCoords + 1]float32) (scores, boxes []float32) {
	scores = make([]float32, numAnchors)
	boxes = make([]float32, numAnchors*numCoords)
	for i := range scores {
		scores[i] = -20
	}
	for i, v := range set {
		scores[i] = v[0]
		copy(boxes[i*numCoords:], v[1:])
	}
	return scores, boxes
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-6 }

func TestDecode(t *testing.T) {
	t.Parallel()
	a := anchors(128)
	// Anchor 590 (512 + 6x13) is cell (x=5, y=1) of the 8x8 grid: centre (5.5/8, 1.5/8).
	// Its box is offset by (+12.8, -6.4) px and 32x64 px at 128: in [0,1],
	// centre (0.6875+0.1, 0.1875-0.05), size (0.25, 0.5).
	raw := [numCoords + 1]float32{3, 12.8, -6.4, 32, 64}
	for k := range 6 {
		raw[5+2*k], raw[6+2*k] = float32(k), float32(-k)
	}
	scores, boxes := synthetic(map[int][numCoords + 1]float32{590: raw, 10: {0.5}}) // 10: sigmoid 0.62 < 0.75
	faces := decode(scores, boxes, a, 128, DefaultMinScore)
	if len(faces) != 1 {
		t.Fatalf("%d faces, want 1", len(faces))
	}
	f := faces[0]
	if want := float32(1 / (1 + math.Exp(-3))); math.Abs(float64(f.Score-want)) > 1e-6 {
		t.Errorf("score %v, want sigmoid(3) = %v", f.Score, want)
	}
	cx, cy := 0.6875+0.1, 0.1875-0.05
	if !near(f.Box.Min.X, cx-0.125) || !near(f.Box.Max.X, cx+0.125) || !near(f.Box.Min.Y, cy-0.25) || !near(f.Box.Max.Y, cy+0.25) {
		t.Errorf("box %+v, want centre (%v, %v) size 0.25x0.5", f.Box, cx, cy)
	}
	for k, p := range f.Keypoints {
		if !near(p.X, 0.6875+float64(k)/128) || !near(p.Y, 0.1875-float64(k)/128) {
			t.Errorf("keypoint %d = %v", k, p)
		}
	}
}

func TestWeightedNMS(t *testing.T) {
	t.Parallel()
	box := func(x0, y0, x1, y1 float64, s float32) Face {
		f := Face{Box: Rect{Point{x0, y0}, Point{x1, y1}}, Score: s}
		f.Keypoints[Nose] = Point{(x0 + x1) / 2, (y0 + y1) / 2}
		return f
	}
	faces := []Face{
		box(0.1, 0.1, 0.3, 0.3, 0.8),
		box(0.12, 0.1, 0.32, 0.3, 0.9), // overlaps the first: merged into it
		box(0.6, 0.6, 0.8, 0.8, 0.85),  // apart
		box(0.5, 0.5, 0.5, 0.5, 0.95),  // degenerate box: kept alone, no hang
	}
	got := weightedNMS(faces, DefaultMinSuppression)
	if len(got) != 3 {
		t.Fatalf("%d faces %+v, want 3", len(got), got)
	}
	if got[0].Score != 0.95 || got[1].Score != 0.9 || got[2].Score != 0.85 {
		t.Errorf("scores %v %v %v, want best first 0.95 0.9 0.85", got[0].Score, got[1].Score, got[2].Score)
	}
	// Weighted mean of x0 0.12 (0.9) and 0.1 (0.8).
	if want := (0.12*0.9 + 0.1*0.8) / 1.7; !near(got[1].Box.Min.X, want) {
		t.Errorf("merged x0 %v, want %v", got[1].Box.Min.X, want)
	}
	if want := (0.22*0.9 + 0.2*0.8) / 1.7; !near(got[1].Keypoints[Nose].X, want) {
		t.Errorf("merged nose x %v, want %v", got[1].Keypoints[Nose].X, want)
	}
}
