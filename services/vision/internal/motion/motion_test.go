package motion

import (
	"math"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/clipmesh/clipmesh/platform/fixtures"
	"github.com/clipmesh/clipmesh/services/vision/internal/frames"
)

func analyse(t *testing.T, path string, o Options) Result {
	t.Helper()
	info, err := frames.Probe(t.Context(), path, frames.Options{})
	if err != nil {
		t.Fatal(err)
	}
	a := New(info.FPS, o)
	if _, err := frames.Decode(t.Context(), path, frames.Options{Width: 160, Format: frames.Gray, Probed: &info}, a.Add); err != nil {
		t.Fatal(err)
	}
	return a.Finish()
}

func TestMovingSquareAboveStill(t *testing.T) {
	t.Parallel()
	sq := analyse(t, fixtures.MustPath(t, fixtures.MovingSquare), Options{})
	still := analyse(t, fixtures.MustPath(t, fixtures.Still), Options{})
	t.Logf("mean energy: moving square %.3g, still %.3g", sq.MeanEnergy, still.MeanEnergy)
	if !(sq.MeanEnergy > 10*still.MeanEnergy) || sq.MeanEnergy == 0 {
		t.Errorf("moving square energy %.3g not well above still %.3g", sq.MeanEnergy, still.MeanEnergy)
	}
	right := 0
	for _, s := range sq.Seconds {
		t.Logf("second %d: direction %.1f°, magnitude %.4f, camera %.4f, object %.4f", s.Second, s.Direction, s.Magnitude, s.Camera, s.Object)
		if !s.HasMotion {
			t.Errorf("second %d: no motion", s.Second)
			continue
		}
		if d := math.Min(s.Direction, 360-s.Direction); d < 20 {
			right++
		}
		if s.CameraDominant {
			t.Errorf("second %d: a square on a still background read as camera motion", s.Second)
		}
	}
	if right < len(sq.Seconds)-1 {
		t.Errorf("direction rightwards in %d of %d seconds", right, len(sq.Seconds))
	}
	// The square moves SquareSpeed px/s on a Width px frame; the mean flow
	// of moving pixels is of that order.
	var dx float64
	var n int
	for _, s := range sq.Samples {
		if s.Moving > 0 {
			dx += s.DX
			n++
		}
	}
	t.Logf("mean rightward speed of moving pixels: %.3f widths/s (square: %.3f)", dx/float64(n), fixtures.SquareSpeed/fixtures.Width)
}

func TestPanDirection(t *testing.T) {
	t.Parallel()
	p := filepath.Join(t.TempDir(), "pan.mp4")
	out, err := exec.CommandContext(t.Context(), "ffmpeg", "-nostdin", "-v", "error", "-y", "-f", "lavfi",
		"-i", "smptehdbars=s=960x240:r=25:d=3,crop=320:240:x='t*60':y=0", "-c:v", "libx264", "-preset", "veryfast",
		"-pix_fmt", "yuv420p", p).CombinedOutput()
	if err != nil {
		t.Fatalf("ffmpeg: %v\n%s", err, out)
	}
	res := analyse(t, p, Options{Step: 2})
	for _, s := range res.Seconds {
		t.Logf("second %d: camera %.4f object %.4f direction %.1f", s.Second, s.Camera, s.Object, s.Direction)
	}
	// Content moves left when the window pans right.
	// (On these flat bars most pixels carry no flow, so the median — the
	// camera estimate — stays near zero: camera-vs-object needs texture.)
	for _, s := range res.Seconds {
		if d := math.Abs(s.Direction - 180); !s.HasMotion || d > 20 {
			t.Errorf("second %d: direction %.1f, want ~180 (content moving left)", s.Second, s.Direction)
		}
	}
}
