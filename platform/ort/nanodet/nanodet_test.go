package nanodet_test

import (
	"image"
	"image/color"
	"image/png"
	"os"
	"testing"

	"github.com/clipmesh/clipmesh/platform/ort"
	"github.com/clipmesh/clipmesh/platform/ort/nanodet"
	"github.com/clipmesh/clipmesh/platform/ort/orttest"
)

const skdata = "/usr/lib/python3/dist-packages/skimage/data/"

func readPNG(t testing.TB, path string) image.Image {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("%v (install python3-skimage)", err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func newDetector(t testing.TB) *nanodet.Detector {
	t.Helper()
	orttest.Init(t)
	d, err := nanodet.New(orttest.Model(t, nanodet.ModelName), ort.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Close() })
	return d
}

func TestPersonInAstronaut(t *testing.T) {
	d := newDetector(t)
	img := readPNG(t, skdata+"astronaut.png") // 512x512, a woman in a space suit, head and torso
	objs, err := d.Detect(img)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range objs {
		t.Logf("%s %.2f %+v", o.Label, o.Score, o.Box)
	}
	if len(objs) == 0 || objs[0].Class != nanodet.Person {
		t.Fatalf("best detection is not a person: %+v", objs)
	}
	b := objs[0].Box
	// She fills the lower middle of the frame: face around (225, 130), torso below.
	if !(b.X0 < 200 && b.X1 > 260 && b.Y0 < 120 && b.Y1 > 400) {
		t.Errorf("person box %+v does not cover the astronaut (face near x 225, y 130; torso to the bottom)", b)
	}
}

// TestKnownObjects checks the labels found in photos of one thing.
func TestKnownObjects(t *testing.T) {
	d := newDetector(t)
	objs, err := d.Detect(readPNG(t, skdata+"coffee.png"))
	if err != nil {
		t.Fatal(err)
	}
	if len(objs) == 0 || objs[0].Label != "cup" {
		t.Errorf("coffee.png: best detection %+v, want a cup", objs)
	}
	// chelsea.png is a close-up of a cat's head, hard for NanoDet-m (it also
	// sees a "person" there): the cat must be among the detections.
	objs, err = d.Detect(readPNG(t, skdata+"chelsea.png"))
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, o := range objs {
		t.Logf("chelsea.png: %s %.2f", o.Label, o.Score)
		found = found || o.Label == "cat"
	}
	if !found {
		t.Errorf("chelsea.png: no cat in %+v", objs)
	}
}

func TestNoPerson(t *testing.T) {
	d := newDetector(t)
	grey := image.NewRGBA(image.Rect(0, 0, 640, 360))
	for i := range grey.Pix {
		grey.Pix[i] = 128
	}
	noise := image.NewRGBA(image.Rect(0, 0, 320, 240))
	for y := range 240 {
		for x := range 320 {
			v := uint8((x*7 + y*13) % 256)
			noise.Set(x, y, color.RGBA{v, 255 - v, v / 2, 255})
		}
	}
	for name, img := range map[string]image.Image{
		"coffee": readPNG(t, skdata+"coffee.png"), // a cup of coffee on a table
		"grey":   grey,
		"ramp":   noise,
	} {
		objs, err := d.Detect(img)
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range objs {
			t.Logf("%s: %s %.2f %+v", name, o.Label, o.Score, o.Box)
			if o.Class == nanodet.Person {
				t.Errorf("%s: found a person (%.2f) where there is none", name, o.Score)
			}
		}
	}
}
