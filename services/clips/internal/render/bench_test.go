package render

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/clipmesh/clipmesh/services/clips/internal/captions"
	"github.com/clipmesh/clipmesh/services/clips/internal/presets"
	"github.com/clipmesh/clipmesh/services/clips/internal/reframe"
)

// BenchmarkRenderVsFloor renders a 30 s 9:16 captioned, reframed clip from
// a 720p source and, in the same run, a plain ffmpeg cut-and-scale of the
// same range with the same encoder settings (the floor). It reports both as
// multiples of real time and their ratio (goal: ratio <= 1.3).
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
	plan, err := reframe.New(reframe.Input{SrcW: 1280, SrcH: 720, Aspect: presets.Vertical, Start: start, End: end,
		Tracks: [][]reframe.Point{track}, Cuts: []float64{20}})
	if err != nil {
		b.Fatal(err)
	}
	job := Job{Source: src, Start: start, End: end, Preset: "tiktok", Layout: &plan, ASSPath: ass,
		Output: filepath.Join(dir, "clip.mp4")}
	args, err := Args(b.Context(), job)
	if err != nil {
		b.Fatal(err)
	}
	p, _ := presets.Lookup("tiktok")
	floor := []string{"-nostdin", "-hide_banner", "-loglevel", "error", "-y", "-ss", "3", "-i", src, "-t", "30",
		"-vf", "crop=ih*9/16:ih,scale=1080:1920", "-c:v", "libx264", "-preset", "veryfast", "-profile:v", "high",
		"-b:v", fmt.Sprint(p.VideoBitrate), "-maxrate", fmt.Sprint(p.VideoBitrate * 3 / 2), "-bufsize", fmt.Sprint(p.VideoBitrate * 2),
		"-c:a", "aac", "-b:a", fmt.Sprint(p.AudioBitrate), "-movflags", "+faststart", filepath.Join(dir, "floor.mp4")}
	var clipTime, floorTime time.Duration
	for b.Loop() {
		t0 := time.Now()
		if _, err := Render(b.Context(), job); err != nil {
			b.Fatal(err)
		}
		clipTime += time.Since(t0)
		t0 = time.Now()
		if out, err := exec.CommandContext(b.Context(), "ffmpeg", floor...).CombinedOutput(); err != nil {
			b.Fatalf("floor: %v\n%s", err, out)
		}
		floorTime += time.Since(t0)
	}
	n := float64(b.N)
	b.ReportMetric((end-start)*n/clipTime.Seconds(), "x-realtime-clip")
	b.ReportMetric((end-start)*n/floorTime.Seconds(), "x-realtime-floor")
	b.ReportMetric(clipTime.Seconds()/floorTime.Seconds(), "ratio")
	b.Logf("clip filter: %s", strings.Join(args, " "))
}
