package render

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/clipmesh/clipmesh/platform/fixtures"
	"github.com/clipmesh/clipmesh/services/clips/internal/captions"
	"github.com/clipmesh/clipmesh/services/clips/internal/inputerr"
	"github.com/clipmesh/clipmesh/services/clips/internal/presets"
	"github.com/clipmesh/clipmesh/services/clips/internal/reframe"
)

// skipShort skips a test that renders real clips under -short.
func skipShort(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("renders with ffmpeg; skipped under -short")
	}
}

// testSpeed keeps test renders quick; quality is not under test.
const testSpeed = "ultrafast"

// streamDurations returns the video and audio stream durations of path.
func streamDurations(t *testing.T, path string) (video, audio float64) {
	t.Helper()
	out, err := exec.CommandContext(t.Context(), "ffprobe", "-v", "error", "-show_entries", "stream=codec_type,duration", "-of", "csv=p=0", path).Output()
	if err != nil {
		t.Fatalf("ffprobe %s: %v", path, err)
	}
	for l := range strings.SplitSeq(strings.TrimSpace(string(out)), "\n") {
		kind, d, _ := strings.Cut(l, ",")
		f, _ := strconv.ParseFloat(d, 64)
		switch kind {
		case "video":
			video = f
		case "audio":
			audio = f
		}
	}
	return video, audio
}

func TestRenderPresets(t *testing.T) {
	t.Parallel()
	skipShort(t)
	src := fixtures.MustPath(t, fixtures.Cuts)
	for _, tc := range []struct {
		name, preset, aspect string
		w, h                 int
		pad, captions        bool
	}{
		{"tiktok 9:16 captioned", "tiktok", "", 1080, 1920, false, true},
		{"linkedin 1:1 pad", "linkedin", "", 1080, 1080, true, false},
		{"reels 4:5", "instagram_reels", "4:5", 1080, 1350, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			start, end := 3.0, 5.0
			job := Job{Source: src, Start: start, End: end, Preset: tc.preset, Aspect: tc.aspect, Speed: testSpeed,
				Output: filepath.Join(dir, "clip.mp4"), Thumbnail: filepath.Join(dir, "thumb.jpg")}
			if tc.pad {
				p := reframe.Pad("test")
				job.Layout = &p
			}
			if tc.captions {
				cues, err := captions.Cues([]captions.Word{{Start: 3.2, End: 3.6, Text: "Hello"}, {Start: 3.7, End: 4.2, Text: "clipmesh"}}, start, end, captions.Options{})
				if err != nil {
					t.Fatal(err)
				}
				job.ASSPath = filepath.Join(dir, "subs.ass")
				if err := captions.WriteASSFile(job.ASSPath, cues, captions.StyleWord, captions.ASSOptions{Width: tc.w, Height: tc.h}); err != nil {
					t.Fatal(err)
				}
			}
			var mu sync.Mutex
			var fractions []float64
			job.Progress = func(f float64) { mu.Lock(); fractions = append(fractions, f); mu.Unlock() }
			res, err := Render(t.Context(), job)
			if err != nil {
				t.Fatal(err)
			}
			info, err := Probe(t.Context(), res.Output)
			if err != nil {
				t.Fatal(err)
			}
			if info.Width != tc.w || info.Height != tc.h {
				t.Errorf("size %dx%d, want %dx%d", info.Width, info.Height, tc.w, tc.h)
			}
			if !info.HasAudio {
				t.Error("no audio stream")
			}
			p, _ := presets.Lookup(tc.preset)
			frame := 1 / float64(p.FPS)
			vd, ad := streamDurations(t, res.Output)
			if math.Abs(vd-(end-start)) > frame || math.Abs(ad-(end-start)) > frame || math.Abs(info.Duration-(end-start)) > frame {
				t.Errorf("durations video %v audio %v container %v, want %v ± %v", vd, ad, info.Duration, end-start, frame)
			}
			if info.FPS() != float64(p.FPS) {
				t.Errorf("fps %v, want %d", info.FPS(), p.FPS)
			}
			if tc.captions {
				// "Hello" shows at 0.2–0.7 s; by 1.3 s the caption is gone
				// and the background (static colour bars) is unchanged.
				with, without := grayFrame(t, res.Output, 0.5, 108, 192), grayFrame(t, res.Output, 1.3, 108, 192)
				changed := 0
				for i := range with {
					if d := int(with[i]) - int(without[i]); d > 40 || d < -40 {
						changed++
					}
				}
				if changed < 30 {
					t.Errorf("caption not burned in: %d pixels differ", changed)
				}
			}
			jpg, err := os.ReadFile(res.Thumbnail)
			if err != nil || !bytes.HasPrefix(jpg, []byte{0xFF, 0xD8, 0xFF}) {
				t.Errorf("thumbnail not a JPEG: %v", err)
			}
			mu.Lock()
			defer mu.Unlock()
			if len(fractions) == 0 || fractions[len(fractions)-1] != 1 {
				t.Errorf("progress %v does not end at 1", fractions)
			}
			for i := 1; i < len(fractions); i++ {
				if fractions[i] < fractions[i-1] {
					t.Errorf("progress went backwards: %v", fractions)
				}
			}
		})
	}
}

// beepFixture writes a 320x240 25 fps video of length seconds whose audio is
// silent until at, then a 1 kHz tone (exact to the sample: aevalsrc).
func beepFixture(t *testing.T, at, length float64) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "beep.mp4")
	d := strconv.FormatFloat(length, 'f', -1, 64)
	cmd := exec.CommandContext(t.Context(), "ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y",
		"-f", "lavfi", "-i", "testsrc2=s=320x240:r=25:d="+d,
		"-f", "lavfi", "-i", fmt.Sprintf("aevalsrc='if(gte(t,%g),0.5*sin(2*PI*1000*t),0)':s=48000:d=%s", at, d),
		"-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "96k", path)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("beep fixture: %v\n%s", err, out)
	}
	return path
}

// onset returns the first time the audio of path rises above -30 dBFS.
func onset(t *testing.T, path string) float64 {
	t.Helper()
	out, err := exec.CommandContext(t.Context(), "ffmpeg", "-nostdin", "-hide_banner", "-i", path, "-vn",
		"-af", "silencedetect=n=-30dB:d=0.1", "-f", "null", "-").CombinedOutput()
	if err != nil {
		t.Fatalf("silencedetect: %v\n%s", err, out)
	}
	m := regexp.MustCompile(`silence_end: ([0-9.]+)`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("no silence_end in\n%s", out)
	}
	f, _ := strconv.ParseFloat(string(m[1]), 64)
	return f
}

func TestAudioSync(t *testing.T) {
	t.Parallel()
	skipShort(t)
	const beep, start, end = 3.3, 2.0, 5.0
	src := beepFixture(t, beep, 6)
	if got := onset(t, src); math.Abs(got-beep) > 0.005 {
		t.Fatalf("fixture beep at %v, want %v", got, beep)
	}
	out := filepath.Join(t.TempDir(), "clip.mp4")
	if _, err := Render(t.Context(), Job{Source: src, Start: start, End: end, Preset: "x", Speed: testSpeed, Output: out}); err != nil {
		t.Fatal(err)
	}
	frame := 1.0 / 30
	if got := onset(t, out); math.Abs(got-(beep-start)) > frame {
		t.Fatalf("beep at %v in the clip, want %v ± %v", got, beep-start, frame)
	}
}

// grayFrame returns the frame of video at t, scaled to w x h, as gray bytes.
func grayFrame(t *testing.T, video string, at float64, w, h int) []byte {
	t.Helper()
	out, err := exec.CommandContext(t.Context(), "ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error",
		"-ss", strconv.FormatFloat(at, 'f', 3, 64), "-i", video, "-frames:v", "1",
		"-vf", fmt.Sprintf("scale=%d:%d,format=gray", w, h), "-f", "rawvideo", "pipe:1").Output()
	if err != nil || len(out) != w*h {
		t.Fatalf("frame at %v: %v (%d bytes)", at, err, len(out))
	}
	return out
}

// brightBox returns the bounding box and count of pixels brighter than 128
// in the gray frame of video at t, scaled to w x h.
func brightBox(t *testing.T, video string, at float64, w, h int) (x0, x1, y0, y1, n int) {
	t.Helper()
	out := grayFrame(t, video, at, w, h)
	x0, y0 = w, h
	for i, v := range out {
		if v > 128 {
			x, y := i%w, i/w
			x0, x1, y0, y1 = min(x0, x), max(x1, x), min(y0, y), max(y1, y)
			n++
		}
	}
	return x0, x1, y0, y1, n
}

func TestCropContainsMovingSquare(t *testing.T) {
	t.Parallel()
	skipShort(t)
	src := fixtures.MustPath(t, fixtures.MovingSquare)
	var track []reframe.Point
	for n := 0; n < fixtures.SquareSeconds*fixtures.FPS; n += 5 {
		tt := float64(n) / fixtures.FPS
		x, y := fixtures.SquareCenter(tt)
		track = append(track, reframe.Point{T: tt, X: x, Y: y})
	}
	const start, end = 0.5, 4.5
	plan, err := reframe.New(reframe.Input{SrcW: fixtures.Width, SrcH: fixtures.Height, Aspect: presets.Vertical,
		Start: start, End: end, Tracks: [][]reframe.Point{track}})
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "clip.mp4")
	if _, err := Render(t.Context(), Job{Source: src, Start: start, End: end, Preset: "tiktok", Layout: &plan, Speed: testSpeed, Output: out}); err != nil {
		t.Fatal(err)
	}
	// The square is 40 px of a 134 px window: ~30% of the output width.
	const w, h = 108, 192
	wantSide := float64(fixtures.SquareSize) / float64(plan.W) * w
	for _, at := range []float64{0.2, 1.5, 2.5, 3.8} {
		x0, x1, y0, y1, n := brightBox(t, out, at, w, h)
		if n == 0 {
			t.Fatalf("t=%v: no square in the frame", at)
		}
		if x0 <= 0 || x1 >= w-1 || y0 <= 0 || y1 >= h-1 {
			t.Errorf("t=%v: square box x[%d,%d] y[%d,%d] touches the frame edge", at, x0, x1, y0, y1)
		}
		if side := float64(x1 - x0 + 1); math.Abs(side-wantSide) > 3 {
			t.Errorf("t=%v: square %v px wide, want %v (cut off?)", at, side, wantSide)
		}
		// And the crop path itself matches the truth.
		px, _ := plan.At(at)
		cx, _ := fixtures.SquareCenter(start + at)
		if cx-20 < px || cx+20 > px+float64(plan.W) {
			t.Errorf("t=%v: crop x=%v misses square centre %v", at, px, cx)
		}
	}
}

func TestBadInput(t *testing.T) {
	t.Parallel()
	src := fixtures.MustPath(t, fixtures.Cuts)
	garbage := fixtures.MustPath(t, fixtures.Garbage)
	out := filepath.Join(t.TempDir(), "clip.mp4")
	for _, tc := range []struct {
		name  string
		job   Job
		field string
	}{
		{"past the end", Job{Source: src, Start: 10, End: 13, Preset: "tiktok"}, "end"},
		{"start past the end", Job{Source: src, Start: 12.5, End: 13, Preset: "tiktok"}, "start"},
		{"zero length", Job{Source: src, Start: 3, End: 3, Preset: "tiktok"}, "end"},
		{"negative length", Job{Source: src, Start: 3, End: 2, Preset: "tiktok"}, "end"},
		{"negative start", Job{Source: src, Start: -1, End: 2, Preset: "tiktok"}, "start"},
		{"unknown preset", Job{Source: src, Start: 1, End: 2, Preset: "vine"}, "preset"},
		{"unknown aspect", Job{Source: src, Start: 1, End: 2, Preset: "tiktok", Aspect: "21:9"}, "aspect"},
		{"garbage source", Job{Source: garbage, Start: 1, End: 2, Preset: "tiktok"}, "source"},
		{"too long for preset", Job{Source: src, Start: 0, End: 200, Preset: "x"}, "end"},
		{"missing ASS file", Job{Source: src, Start: 1, End: 2, Preset: "x", ASSPath: "/nonexistent/subs.ass"}, "ass_path"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.job.Output = out
			_, err := Render(t.Context(), tc.job)
			if !errors.Is(err, inputerr.ErrInvalid) || inputerr.Field(err) != tc.field {
				t.Fatalf("err = %v, want invalid %s", err, tc.field)
			}
		})
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("bad input left an output behind: %v", err)
	}
}

func TestFFmpegErrorLine(t *testing.T) {
	t.Parallel()
	src := fixtures.MustPath(t, fixtures.Cuts)
	out := filepath.Join(t.TempDir(), "clip.mp4")
	_, err := Render(t.Context(), Job{Source: src, Start: 1, End: 2, Preset: "x", Speed: "warp9", Output: out})
	var fe *FFmpegError
	if !errors.As(err, &fe) {
		t.Fatalf("err = %v, want *FFmpegError", err)
	}
	if fe.Line == "" || strings.Contains(fe.Error(), "exit status") {
		t.Fatalf("error %q does not carry ffmpeg's line", fe.Error())
	}
	t.Logf("ffmpeg said: %s (tail %q)", fe.Line, fe.Tail)
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("failed run left an output: %v", err)
	}
}

// ffmpegRunning reports whether an ffmpeg process mentions needle in its
// command line.
func ffmpegRunning(needle string) bool {
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range procs {
		b, err := os.ReadFile(p)
		if err == nil && bytes.Contains(b, []byte("ffmpeg")) && bytes.Contains(b, []byte(needle)) {
			return true
		}
	}
	return false
}

func TestCancelKillsFFmpeg(t *testing.T) {
	t.Parallel()
	skipShort(t)
	src := fixtures.MustPath(t, fixtures.Cuts)
	out := filepath.Join(t.TempDir(), "cancelled.mp4")
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	started := make(chan struct{})
	var once sync.Once
	done := make(chan error, 1)
	go func() {
		_, err := Render(ctx, Job{Source: src, Start: 0, End: 12, Preset: "youtube_shorts", Speed: "veryslow", Output: out,
			Progress: func(float64) { once.Do(func() { close(started) }) }})
		done <- err
	}()
	select {
	case <-started:
	case err := <-done:
		t.Fatalf("render finished before it could be cancelled: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("no progress in 30 s")
	}
	if !ffmpegRunning(out) {
		t.Fatal("ffmpeg not running while rendering")
	}
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want context.Canceled", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Render did not return after cancel")
	}
	if ffmpegRunning(out) {
		t.Fatal("ffmpeg still running after cancel")
	}
	for _, p := range []string{out, out + ".part"} {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("%s left behind: %v", p, err)
		}
	}
}
