package scenes

import (
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/clipmesh/clipmesh/platform/fixtures"
	"github.com/clipmesh/clipmesh/services/vision/internal/frames"
)

// analyse runs the detector on path at the native rate, 160 px wide.
func analyse(t *testing.T, path string) Result {
	t.Helper()
	info, err := frames.Probe(t.Context(), path, frames.Options{})
	if err != nil {
		t.Fatal(err)
	}
	d := New(info.FPS, Options{})
	if _, err := frames.Decode(t.Context(), path, frames.Options{Width: 160, Probed: &info}, d.Add); err != nil {
		t.Fatal(err)
	}
	return d.Finish()
}

func TestCutsFrameAccurate(t *testing.T) {
	t.Parallel()
	res := analyse(t, fixtures.MustPath(t, fixtures.Cuts))
	cuts := res.Cuts()
	var got []int64
	for _, c := range cuts {
		got = append(got, c.Start)
	}
	t.Logf("cuts at frames %v (truth %v); all transitions %+v", got, fixtures.CutFrames, res.Transitions)
	if len(cuts) != len(fixtures.CutFrames) {
		t.Fatalf("%d cuts %v, want %d at %v", len(cuts), got, len(fixtures.CutFrames), fixtures.CutFrames)
	}
	for i, want := range fixtures.CutFrames {
		if d := got[i] - want; d < -1 || d > 1 {
			t.Errorf("cut %d at frame %d, want %d ±1", i, got[i], want)
		}
		if d := cuts[i].StartTime - fixtures.CutTimes[i]; d < -1.0/fixtures.FPS-1e-9 || d > 1.0/fixtures.FPS+1e-9 {
			t.Errorf("cut %d at %.3fs, want %.3fs ± 1 frame", i, cuts[i].StartTime, fixtures.CutTimes[i])
		}
	}
	for _, tr := range res.Transitions {
		if tr.Kind.Gradual() {
			t.Errorf("gradual transition %+v in a video of hard cuts", tr)
		}
	}
	if len(res.Scenes) != len(fixtures.CutFrames)+1 {
		t.Errorf("%d scenes, want %d", len(res.Scenes), len(fixtures.CutFrames)+1)
	}
	for _, s := range res.Scenes {
		if s.Keyframe < s.Start || s.Keyframe >= s.End {
			t.Errorf("scene %+v: keyframe outside", s)
		}
	}
}

func TestFadeIsGradualNotCut(t *testing.T) {
	t.Parallel()
	res := analyse(t, fixtures.MustPath(t, fixtures.Fade))
	t.Logf("transitions %+v", res.Transitions)
	if cuts := res.Cuts(); len(cuts) != 0 {
		t.Errorf("cuts %+v in a fade", cuts)
	}
	var out, in *Transition
	for i, tr := range res.Transitions {
		switch tr.Kind {
		case FadeOut:
			out = &res.Transitions[i]
		case FadeIn:
			in = &res.Transitions[i]
		}
	}
	const tol = 0.2 // seconds
	near := func(a, b float64) bool { return a > b-tol && a < b+tol }
	if out == nil || !near(out.StartTime, fixtures.FadeOutStart) || !near(out.EndTime, fixtures.FadeOutEnd) {
		t.Errorf("fade out = %+v, want [%v, %v]", out, fixtures.FadeOutStart, fixtures.FadeOutEnd)
	}
	if in == nil || !near(in.StartTime, fixtures.FadeInStart) || !near(in.EndTime, fixtures.FadeInEnd) {
		t.Errorf("fade in = %+v, want [%v, %v]", in, fixtures.FadeInStart, fixtures.FadeInEnd)
	}
}

func TestNoCutsWithoutCuts(t *testing.T) {
	t.Parallel()
	for _, name := range []string{fixtures.MovingSquare, fixtures.Still} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			res := analyse(t, fixtures.MustPath(t, name))
			if len(res.Transitions) != 0 || len(res.Scenes) != 1 {
				t.Errorf("transitions %+v, scenes %d; want none and one", res.Transitions, len(res.Scenes))
			}
		})
	}
}

func TestSlowPanNoCut(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, tc := range []struct{ name, graph string }{
		// A 320x240 window sliding 40 px/s across a wide test pattern.
		{"pan", "testsrc2=s=960x240:r=25:d=6,crop=320:240:x='t*40':y=0"},
		// A slow zoom into a still picture.
		{"zoom", "smptehdbars=s=320x240:r=25:d=1,zoompan=z='1+0.004*on':d=150:s=320x240:fps=25"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := filepath.Join(dir, tc.name+".mp4")
			out, err := exec.CommandContext(t.Context(), "ffmpeg", "-nostdin", "-v", "error", "-y", "-f", "lavfi",
				"-i", tc.graph, "-frames:v", "150", "-c:v", "libx264", "-preset", "veryfast", "-crf", "28",
				"-pix_fmt", "yuv420p", p).CombinedOutput()
			if err != nil {
				t.Fatalf("ffmpeg: %v\n%s", err, out)
			}
			res := analyse(t, p)
			t.Logf("%d frames, transitions %+v", res.Frames, res.Transitions)
			if cuts := res.Cuts(); len(cuts) != 0 {
				t.Errorf("cuts %+v on a %s", cuts, tc.name)
			}
		})
	}
}

func TestDissolve(t *testing.T) {
	t.Parallel()
	p := filepath.Join(t.TempDir(), "dissolve.mp4")
	graph := "smptebars=s=320x240:r=25:d=3[a];color=c=0xE0D040:s=320x240:r=25:d=3[b];" +
		"[a][b]xfade=transition=fade:duration=1:offset=2,format=yuv420p"
	out, err := exec.CommandContext(t.Context(), "ffmpeg", "-nostdin", "-v", "error", "-y",
		"-filter_complex", graph, "-c:v", "libx264", "-preset", "veryfast", "-crf", "28", p).CombinedOutput()
	if err != nil {
		t.Fatalf("ffmpeg: %v\n%s", err, out)
	}
	res := analyse(t, p)
	t.Logf("transitions %+v", res.Transitions)
	if cuts := res.Cuts(); len(cuts) != 0 {
		t.Errorf("cuts %+v in a dissolve", cuts)
	}
	var found bool
	for _, tr := range res.Transitions {
		if tr.Kind == Dissolve && tr.StartTime < 2.6 && tr.EndTime > 2.4 {
			found = true
		}
	}
	if !found {
		t.Errorf("no dissolve over [2, 3] in %+v", res.Transitions)
	}
}

// TestPollLive decodes the cut and fade fixtures polling after every frame:
// each transition of the final result is handed out once, in order, while
// decoding goes on (within Settle frames plus a second of its end), and
// Poll never hands out one that Finish drops.
func TestPollLive(t *testing.T) {
	t.Parallel()
	for _, name := range []string{fixtures.Cuts, fixtures.Fade} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			path := fixtures.MustPath(t, name)
			info, err := frames.Probe(t.Context(), path, frames.Options{})
			if err != nil {
				t.Fatal(err)
			}
			d := New(info.FPS, Options{})
			type live struct {
				tr Transition
				at int64 // frames decoded when it was handed out
			}
			var got []live
			var n int64
			poll := func(*frames.Frame) error {
				n++
				for _, tr := range d.Poll() {
					got = append(got, live{tr, n})
				}
				return nil
			}
			if _, err := frames.Decode(t.Context(), path, frames.Options{Width: 160, Probed: &info}, d.Add, poll); err != nil {
				t.Fatal(err)
			}
			final := d.Finish().Transitions
			if len(got) == 0 {
				t.Fatalf("nothing handed out live; final %+v", final)
			}
			settle := int64(d.o.Settle)
			for i, l := range got {
				if i >= len(final) || final[i].Boundary() != l.tr.Boundary() || final[i].Kind != l.tr.Kind {
					t.Fatalf("live transition %d %+v is not final %+v", i, l.tr, final)
				}
				if late := l.at - l.tr.End; late > settle+int64(info.FPS)+1 {
					t.Errorf("transition %+v handed out %d frames after its end", l.tr, late)
				}
			}
			// Only those too close to the end to settle are left for Finish.
			for _, tr := range final[len(got):] {
				if tr.End+settle < n-int64(info.FPS)-1 {
					t.Errorf("transition %+v settled long before the end (%d frames) but was not handed out", tr, n)
				}
			}
		})
	}
}
