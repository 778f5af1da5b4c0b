package blazeface_test

import (
	"bytes"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"math"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/clipmesh/clipmesh/platform/fixtures"
	"github.com/clipmesh/clipmesh/platform/ort"
	"github.com/clipmesh/clipmesh/platform/ort/blazeface"
	"github.com/clipmesh/clipmesh/platform/ort/orttest"
)

func newDetector(t testing.TB, model string) *blazeface.Detector {
	t.Helper()
	orttest.Init(t)
	start := time.Now()
	d, err := blazeface.New(orttest.Model(t, model), ort.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Close() })
	t.Logf("%s session created in %v on %s", model, time.Since(start), d.Provider())
	return d
}

// facePhoto is the manifest's test photo: one face, about x 225..555,
// y 120..480 of 720x576.
func facePhoto(t testing.TB) image.Image {
	t.Helper()
	b, err := os.ReadFile(orttest.Model(t, "face-photo"))
	if err != nil {
		t.Fatal(err)
	}
	img, err := jpeg.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func TestFacePhoto(t *testing.T) {
	t.Parallel()
	img := facePhoto(t)
	for _, model := range []string{"blazeface-front", "blazeface-back"} {
		t.Run(model, func(t *testing.T) {
			d := newDetector(t, model)
			faces, err := d.Detect(img)
			if err != nil {
				t.Fatal(err)
			}
			const n = 10
			start := time.Now()
			for range n {
				if _, err := d.Detect(img); err != nil {
					t.Fatal(err)
				}
			}
			t.Logf("detect on 720x576: %v per image (letterbox + inference + decode)", time.Since(start)/n)
			if len(faces) != 1 {
				t.Fatalf("found %d faces %+v, want 1", len(faces), faces)
			}
			f := faces[0]
			t.Logf("face %+v", f)
			if f.Score < d.MinScore || f.Score > 1 {
				t.Errorf("score %v", f.Score)
			}
			for _, k := range []int{blazeface.RightEye, blazeface.LeftEye, blazeface.Nose, blazeface.Mouth} {
				if !f.Box.Contains(f.Keypoints[k]) {
					t.Errorf("keypoint %d %v outside the box %v", k, f.Keypoints[k], f.Box)
				}
			}
			re, le := f.Keypoints[blazeface.RightEye], f.Keypoints[blazeface.LeftEye]
			if re.X >= le.X {
				t.Errorf("right eye %v is not left of the left eye %v in the photo", re, le)
			}
			if nose := f.Keypoints[blazeface.Nose]; nose.Y <= re.Y || f.Keypoints[blazeface.Mouth].Y <= nose.Y {
				t.Errorf("eyes, nose, mouth not top to bottom: %v", f.Keypoints)
			}
			cx, cy := (f.Box.Min.X+f.Box.Max.X)/2, (f.Box.Min.Y+f.Box.Max.Y)/2
			if cx < 300 || cx > 480 || cy < 200 || cy > 420 {
				t.Errorf("box %v centred at (%.0f, %.0f), want inside the face (300..480, 200..420)", f.Box, cx, cy)
			}
			if w := f.Box.Max.X - f.Box.Min.X; w < 150 || w > 420 {
				t.Errorf("box %.0f px wide, want about 250", w)
			}
		})
	}
}

// frame extracts one frame of a fixture video at sec seconds with ffmpeg.
func frame(t *testing.T, name string, sec string) image.Image {
	t.Helper()
	out, err := exec.CommandContext(t.Context(), "ffmpeg", "-nostdin", "-v", "error", "-ss", sec, "-i", fixtures.MustPath(t, name),
		"-frames:v", "1", "-f", "image2pipe", "-c:v", "png", "-").Output()
	if err != nil {
		t.Fatalf("ffmpeg frame of %s at %s s: %v (install ffmpeg with `make deps`)", name, sec, err)
	}
	img, err := png.Decode(bytes.NewReader(out))
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func TestNoFace(t *testing.T) {
	t.Parallel()
	d := newDetector(t, "blazeface-front")
	grad := image.NewRGBA(image.Rect(0, 0, 200, 100))
	for y := range 100 {
		for x := range 200 {
			grad.Set(x, y, color.RGBA{uint8(x), uint8(2 * y), 128, 255})
		}
	}
	for name, img := range map[string]image.Image{
		"gradient":              grad,
		"testsrc2 (cuts.mp4)":   frame(t, fixtures.Cuts, "1"),
		"smptebars (cuts.mp4)":  frame(t, fixtures.Cuts, "3"),
		"mandelbrot (cuts.mp4)": frame(t, fixtures.Cuts, "5"),
		"grey":                  image.NewUniform(color.Gray{128}),
	} {
		if u, ok := img.(*image.Uniform); ok {
			img = &bounded{u, image.Rect(0, 0, 64, 48)}
		}
		faces, err := d.Detect(img)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if len(faces) != 0 {
			t.Errorf("%s: found %d faces: %+v", name, len(faces), faces)
		}
	}
	if _, err := d.Detect(image.NewRGBA(image.Rectangle{})); err == nil {
		t.Error("empty image accepted")
	}
}

// bounded gives an image.Uniform finite bounds.
type bounded struct {
	*image.Uniform
	r image.Rectangle
}

func (b *bounded) Bounds() image.Rectangle { return b.r }

// TestSubImage checks that an offset *image.RGBA (a crop) is read from its
// own origin: the face found in a crop is the face of the photo, shifted.
func TestSubImage(t *testing.T) {
	t.Parallel()
	d := newDetector(t, "blazeface-front")
	src := facePhoto(t)
	rgba := image.NewRGBA(src.Bounds())
	for y := range src.Bounds().Dy() {
		for x := range src.Bounds().Dx() {
			rgba.Set(x, y, src.At(x, y))
		}
	}
	crop := rgba.SubImage(image.Rect(150, 50, 650, 550))
	faces, err := d.Detect(crop)
	if err != nil {
		t.Fatal(err)
	}
	if len(faces) != 1 {
		t.Fatalf("found %d faces in the crop, want 1", len(faces))
	}
	if re := faces[0].Keypoints[blazeface.RightEye]; re.X < 300 || re.X > 420 || re.Y < 200 || re.Y > 320 {
		t.Errorf("right eye at %v in photo coordinates, want about (365, 270)", re)
	}
}

func BenchmarkDetect(b *testing.B) {
	d := newDetector(b, "blazeface-front")
	img := facePhoto(b)
	for b.Loop() {
		if _, err := d.Detect(img); err != nil {
			b.Fatal(err)
		}
	}
}

// TestAstronaut runs both models on Debian python3-skimage's astronaut.png
// (Eileen Collins, NASA, public domain; 512x512, her face about x 170..280,
// y 70..190) and on its coffee.png (no face).
func TestAstronaut(t *testing.T) {
	t.Parallel()
	read := func(name string) image.Image {
		b, err := os.ReadFile("/usr/lib/python3/dist-packages/skimage/data/" + name)
		if err != nil {
			t.Fatalf("%v (install python3-skimage)", err)
		}
		img, err := png.Decode(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		return img
	}
	astronaut, coffee := read("astronaut.png"), read("coffee.png")
	for _, model := range []string{"blazeface-front", "blazeface-back"} {
		t.Run(model, func(t *testing.T) {
			d := newDetector(t, model)
			faces, err := d.Detect(astronaut)
			if err != nil {
				t.Fatal(err)
			}
			if len(faces) != 1 {
				t.Fatalf("found %d faces %+v, want 1", len(faces), faces)
			}
			f := faces[0]
			t.Logf("face %+v", f)
			cx, cy := (f.Box.Min.X+f.Box.Max.X)/2, (f.Box.Min.Y+f.Box.Max.Y)/2
			if cx < 190 || cx > 260 || cy < 100 || cy > 170 {
				t.Errorf("box %v centred at (%.0f, %.0f), want about (225, 130)", f.Box, cx, cy)
			}
			re, le := f.Keypoints[blazeface.RightEye], f.Keypoints[blazeface.LeftEye]
			if !f.Box.Contains(re) || !f.Box.Contains(le) || re.X >= le.X || math.Abs(re.Y-le.Y) > 20 {
				t.Errorf("eyes %v %v: want both in the box %v, right eye left of the left one, level", re, le, f.Box)
			}
			faces, err = d.Detect(coffee)
			if err != nil {
				t.Fatal(err)
			}
			if len(faces) != 0 {
				t.Errorf("coffee.png: found %d faces: %+v", len(faces), faces)
			}
		})
	}
}
