package faces

import (
	"image"
	"image/draw"
	_ "image/jpeg"
	_ "image/png"
	"os"
	"testing"

	"github.com/clipmesh/clipmesh/platform/models"
	"github.com/clipmesh/clipmesh/platform/ort"
	"github.com/clipmesh/clipmesh/platform/ort/blazeface"
	"github.com/clipmesh/clipmesh/platform/ort/orttest"
	"github.com/clipmesh/clipmesh/services/vision/internal/cv"
)

// Astronaut is Eileen Collins's portrait from scikit-image (Debian
// python3-skimage): a real photo of a smiling face, public domain.
const Astronaut = "/usr/lib/python3/dist-packages/skimage/data/astronaut.png"

// loadScaled reads an image and scales it to width w (the analysis width),
// as RGBA and gray.
func loadScaled(t *testing.T, path string, w int) (*image.RGBA, []byte) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Skipf("%s: %v (install python3-skimage)", path, err)
	}
	defer f.Close()
	src, _, err := image.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	b := src.Bounds()
	rgba := image.NewRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	draw.Draw(rgba, rgba.Bounds(), src, b.Min, draw.Src)
	h := b.Dy() * w / b.Dx()
	pix := make([]byte, 0, b.Dx()*b.Dy()*3)
	for i := 0; i < len(rgba.Pix); i += 4 {
		pix = append(pix, rgba.Pix[i], rgba.Pix[i+1], rgba.Pix[i+2])
	}
	small, err := cv.Resize(pix, b.Dx(), b.Dy(), 3, w, h)
	if err != nil {
		t.Fatal(err)
	}
	out := image.NewRGBA(image.Rect(0, 0, w, h))
	gray := make([]byte, w*h)
	for i := range w * h {
		r, g, bl := small[3*i], small[3*i+1], small[3*i+2]
		out.Pix[4*i], out.Pix[4*i+1], out.Pix[4*i+2], out.Pix[4*i+3] = r, g, bl, 255
		gray[i] = byte((299*uint32(r) + 587*uint32(g) + 114*uint32(bl) + 500) / 1000)
	}
	return out, gray
}

func TestEyeConfirmer(t *testing.T) {
	t.Parallel()
	orttest.Init(t)
	dir, err := models.Dir("")
	if err != nil {
		t.Fatal(err)
	}
	eng := NewEngine(dir, ort.Options{IntraOpThreads: 1})
	t.Cleanup(func() { _ = eng.Close() })
	det, err := eng.Detector()
	if err != nil {
		t.Fatal(err)
	}
	eyes, err := NewEyeConfirmer("")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = eyes.Close() })

	for _, w := range []int{320, 480} {
		rgba, gray := loadScaled(t, Astronaut, w)
		h := rgba.Bounds().Dy()
		found, err := det.Detect(rgba)
		if err != nil || len(found) == 0 {
			t.Fatalf("%d px: no face (%v)", w, err)
		}
		f := found[0]
		got, err := eyes.Check(gray, w, h, f)
		if err != nil || got != EyesConfirmed {
			t.Errorf("%d px: open eyes of a %0.f px face: %v (%v), want confirmed", w, f.Box.Max.X-f.Box.Min.X, got, err)
		}
		// Paint the eyes over with skin-grey patches: no eye any more.
		r := (f.Box.Max.X - f.Box.Min.X) * 0.12
		for _, k := range []int{blazeface.RightEye, blazeface.LeftEye} {
			p := f.Keypoints[k]
			for y := max(0, int(p.Y-r)); y < min(h, int(p.Y+r)); y++ {
				for x := max(0, int(p.X-1.5*r)); x < min(w, int(p.X+1.5*r)); x++ {
					gray[y*w+x] = 150
				}
			}
		}
		if got, err := eyes.Check(gray, w, h, f); err != nil || got != EyesNotFound {
			t.Errorf("%d px: covered eyes: %v (%v), want not found", w, got, err)
		}
		// A face too small to judge is not checked.
		tiny := f
		tiny.Box.Max.X = tiny.Box.Min.X + MinEyeCheckWidth - 1
		if got, _ := eyes.Check(gray, w, h, tiny); got != EyesUnchecked {
			t.Errorf("tiny face: %v, want unchecked", got)
		}
	}
	if _, err := NewEyeConfirmer("/nonexistent/eye.xml"); err == nil {
		t.Error("a missing cascade loaded")
	}
}
