package render

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/clipmesh/clipmesh/services/clips/internal/captions"
	"github.com/clipmesh/clipmesh/services/clips/internal/presets"
	"github.com/clipmesh/clipmesh/services/clips/internal/reframe"
)

// childCPU returns the CPU time (user + system) of this process's waited-for
// children so far: every ffmpeg and ffprobe a render ran.
func childCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_CHILDREN, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkRenderVsFloor renders a 30 s 9:16 captioned clip from a 720p
// source (the whole Render: ffprobe, ffmpeg, thumbnail) beside, in the same
// run and interleaved, a plain ffmpeg cut-and-scale of the same range with
// the same encoder settings (the floor). Two clips are rendered: one whose
// crop window follows a moving subject (panning), one with a still crop (no
// subject), so the cost of the pipeline and the cost of encoding a panning
// picture show apart.
//
// It reports each as a multiple of real time (wall clock) and the ratios to
// the floor by wall clock and by CPU time (user + system of the child
// processes). On a shared machine the CPU ratio is the steadier figure: wall
// time also measures whoever else is running. Goal: ratio <= 1.3.
func BenchmarkRenderVsFloor(b *testing.B) {
	dir := b.TempDir()
	src := filepath.Join(dir, "src720.mp4")
	gen := exec.CommandContext(b.Context(), "ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y",
		"-f", "lavfi", "-i", "testsrc2=s=1280x720:r=30:d=36", "-f", "lavfi", "-i", "sine=f=440:r=48000:d=36",
		"-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", src)
	if out, err := gen.CombinedOutput(); err != nil {
		b.Fatalf("source: %v\n%s", err, out)
	}
	const start, end = 3.0, 33.0
	var words []captions.Word
	for i := 0; i < 75; i++ {
		t := start + float64(i)*0.4
		words = append(words, captions.Word{Start: t, End: t + 0.35, Text: fmt.Sprintf("word%d", i)})
	}
	cues, err := captions.Cues(words, start, end, captions.Options{})
	if err != nil {
		b.Fatal(err)
	}
	ass := filepath.Join(dir, "subs.ass")
	if err := captions.WriteASSFile(ass, cues, captions.StyleWord, captions.ASSOptions{Width: 1080, Height: 1920}); err != nil {
		b.Fatal(err)
	}
	track := []reframe.Point{{T: 0, X: 300, Y: 360}, {T: 15, X: 900, Y: 360}, {T: 36, X: 500, Y: 360}}
	moving, err := reframe.New(reframe.Input{SrcW: 1280, SrcH: 720, Aspect: presets.Vertical, Start: start, End: end,
		Tracks: [][]reframe.Point{track}, Cuts: []float64{20}})
	if err != nil {
		b.Fatal(err)
	}
	still := reframe.Center(1280, 720, presets.Vertical, end-start)
	jobFor := func(plan reframe.Plan, name string) Job {
		return Job{Source: src, Start: start, End: end, Preset: "tiktok", Layout: &plan, ASSPath: ass,
			Output: filepath.Join(dir, name+".mp4"), Thumbnail: filepath.Join(dir, name+".jpg")}
	}
	movingJob, stillJob := jobFor(moving, "moving"), jobFor(still, "still")
	args, err := Args(b.Context(), movingJob)
	if err != nil {
		b.Fatal(err)
	}
	p, _ := presets.Lookup("tiktok")
	// The same encoder settings as a render: preset, profile, rate
	// control, GOP, audio.
	floor := []string{"-nostdin", "-hide_banner", "-loglevel", "error", "-y", "-ss", "3", "-i", src, "-t", "30",
		"-vf", "crop=ih*9/16:ih,scale=1080:1920", "-c:v", "libx264", "-preset", "veryfast", "-profile:v", "high",
		"-b:v", fmt.Sprint(p.VideoBitrate), "-maxrate", fmt.Sprint(p.VideoBitrate * 3 / 2), "-bufsize", fmt.Sprint(p.VideoBitrate * 2),
		"-g", fmt.Sprint(2 * p.FPS), "-c:a", "aac", "-b:a", fmt.Sprint(p.AudioBitrate), "-ar", "48000",
		"-movflags", "+faststart", filepath.Join(dir, "floor.mp4")}

	type side struct {
		wall, cpu time.Duration
		run       func()
	}
	sides := []*side{
		{run: func() {
			if out, err := exec.CommandContext(b.Context(), "ffmpeg", floor...).CombinedOutput(); err != nil {
				b.Fatalf("floor: %v\n%s", err, out)
			}
		}},
		{run: func() {
			if _, err := Render(b.Context(), movingJob); err != nil {
				b.Fatal(err)
			}
		}},
		{run: func() {
			if _, err := Render(b.Context(), stillJob); err != nil {
				b.Fatal(err)
			}
		}},
	}
	i := 0
	for b.Loop() {
		// Rotate the order, so that a change in the machine's load does
		// not always fall on the same side.
		for k := range sides {
			s := sides[(i+k)%len(sides)]
			c0, t0 := childCPU(b), time.Now()
			s.run()
			s.wall += time.Since(t0)
			s.cpu += childCPU(b) - c0
		}
		i++
	}
	n := float64(b.N)
	fl, mv, st := sides[0], sides[1], sides[2]
	b.ReportMetric((end-start)*n/fl.wall.Seconds(), "x-realtime-floor")
	b.ReportMetric((end-start)*n/mv.wall.Seconds(), "x-realtime-clip")
	b.ReportMetric((end-start)*n/st.wall.Seconds(), "x-realtime-stillclip")
	b.ReportMetric(mv.wall.Seconds()/fl.wall.Seconds(), "ratio")
	b.ReportMetric(mv.cpu.Seconds()/fl.cpu.Seconds(), "ratio-cpu")
	b.ReportMetric(st.wall.Seconds()/fl.wall.Seconds(), "ratio-still")
	b.ReportMetric(st.cpu.Seconds()/fl.cpu.Seconds(), "ratio-still-cpu")
	b.Logf("clip: %s", strings.Join(args, " "))
}
