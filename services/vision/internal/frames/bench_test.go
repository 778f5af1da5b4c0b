package frames

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/clipmesh/clipmesh/services/vision/internal/cv"
)

// benchVideo returns a 1-minute 720p30 H.264 file: $CLIPMESH_BENCH_VIDEO, or
// one generated once into the system temp directory (never the repository).
func benchVideo(b *testing.B) string {
	b.Helper()
	if p := os.Getenv("CLIPMESH_BENCH_VIDEO"); p != "" {
		return p
	}
	p := filepath.Join(os.TempDir(), "clipmesh-bench-720p30.mp4")
	if _, err := os.Stat(p); err == nil {
		return p
	}
	tmp := p + ".tmp.mp4"
	out, err := exec.Command("ffmpeg", "-nostdin", "-v", "error", "-y",
		"-f", "lavfi", "-i", "testsrc2=s=1280x720:r=30:d=60",
		"-c:v", "libx264", "-preset", "veryfast", "-crf", "23", "-pix_fmt", "yuv420p", tmp).CombinedOutput()
	if err != nil {
		b.Fatalf("making bench video: %v\n%s", err, out)
	}
	if err := os.Rename(tmp, p); err != nil {
		b.Fatal(err)
	}
	return p
}

// BenchmarkDecode compares ffmpeg over a pipe (this package) with OpenCV's
// VideoCapture on the same 1-minute 720p30 file, at the analysis size
// (320x180) and at the native size. One op is the whole file.
//
//	go test -run '^$' -bench Decode -benchtime 3x ./internal/frames/
func BenchmarkDecode(b *testing.B) {
	p := benchVideo(b)
	for _, tc := range []struct {
		name string
		w, h int
	}{{"320x180", 320, 180}, {"native", 0, 0}} {
		b.Run("ffmpeg-pipe/"+tc.name, func(b *testing.B) {
			for b.Loop() {
				res, err := Decode(context.Background(), p, Options{Width: tc.w, Height: tc.h, Format: RGB24},
					func(*Frame) error { return nil })
				if err != nil {
					b.Fatal(err)
				}
				b.ReportMetric(float64(res.Frames), "frames/op")
			}
		})
		b.Run("gocv-videocapture/"+tc.name, func(b *testing.B) {
			for b.Loop() {
				c, err := cv.OpenCapture(p)
				if err != nil {
					b.Fatal(err)
				}
				n := 0
				for {
					if _, _, _, ok := c.Read(tc.w, tc.h); !ok {
						break
					}
					n++
				}
				c.Close()
				b.ReportMetric(float64(n), "frames/op")
			}
		})
	}
}
