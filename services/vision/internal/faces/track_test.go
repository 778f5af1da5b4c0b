package faces

import (
	"testing"

	"github.com/clipmesh/clipmesh/platform/ort/blazeface"
)

func box(x, y, s float64) blazeface.Face {
	f := blazeface.Face{Box: blazeface.Rect{Min: blazeface.Point{X: x, Y: y}, Max: blazeface.Point{X: x + s, Y: y + s}}, Score: 0.9}
	f.Keypoints[blazeface.RightEye] = blazeface.Point{X: x + s/3, Y: y + s/3}
	f.Keypoints[blazeface.LeftEye] = blazeface.Point{X: x + 2*s/3, Y: y + s/3}
	return f
}

func TestTracker(t *testing.T) {
	t.Parallel()
	tr := NewTracker(100, 100, 0.5, Options{})
	// Two faces drifting slowly; the second vanishes for longer than MaxGap
	// and comes back as a new track; a cut at frame 50 splits the first.
	for i := range 8 {
		idx, tm := int64(i*12), float64(i)*0.5
		fs := []blazeface.Face{box(10+float64(i), 10, 20)}
		if i < 2 || i >= 6 {
			fs = append(fs, box(60, 60, 20))
		}
		tr.Add(idx, tm, fs)
	}
	got := tr.Finish([]int64{0, 50})
	if len(got) != 4 {
		t.Fatalf("%d tracks %+v, want 4", len(got), got)
	}
	want := []struct {
		scene, dets int
	}{{0, 5}, {0, 2}, {1, 3}, {1, 2}}
	for i, w := range want {
		g := got[i]
		if g.ID != i+1 || g.Scene != w.scene || g.Detections != w.dets || g.EyesVisibleFraction != 1 || g.MeanSizeFraction != 0.04 {
			t.Errorf("track %d = %+v, want scene %d with %d detections", i, g, w.scene, w.dets)
		}
	}
	if v := IoU(box(0, 0, 10).Box, box(5, 0, 10).Box); v < 0.333 || v > 0.334 {
		t.Errorf("IoU %v, want 1/3", v)
	}
}
