package emotion_test

import (
	"image"
	"image/png"
	"os"
	"testing"

	"github.com/clipmesh/clipmesh/platform/ort"
	"github.com/clipmesh/clipmesh/platform/ort/blazeface"
	"github.com/clipmesh/clipmesh/platform/ort/emotion"
	"github.com/clipmesh/clipmesh/platform/ort/orttest"
)

// astronaut is Debian python3-skimage's astronaut.png (Eileen Collins,
// NASA, public domain): one smiling face.
const astronaut = "/usr/lib/python3/dist-packages/skimage/data/astronaut.png"

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

func faceBox(t testing.TB, img image.Image) image.Rectangle {
	t.Helper()
	d, err := blazeface.New(orttest.Model(t, "blazeface-front"), ort.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	faces, err := d.Detect(img)
	if err != nil || len(faces) == 0 {
		t.Fatalf("no face found: %v", err)
	}
	b := faces[0].Box
	return image.Rect(int(b.Min.X), int(b.Min.Y), int(b.Max.X), int(b.Max.Y))
}

func TestHappyAstronaut(t *testing.T) {
	orttest.Init(t)
	img := readPNG(t, astronaut)
	box := faceBox(t, img)
	c, err := emotion.New(orttest.Model(t, emotion.ModelName), ort.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// The same face three times, plus a grey patch of wall: one batch.
	wall := image.Rect(400, 20, 480, 100)
	got, err := c.Classify(img, []image.Rectangle{box, box, box.Inset(-10), wall})
	if err != nil {
		t.Fatal(err)
	}
	for i, s := range got[:3] {
		top, p := s.Top()
		t.Logf("face %d %v: %s %.2f  %v", i, box, emotion.Labels[top], p, s)
		if top != emotion.Happy {
			t.Errorf("face %d: %s (%.2f), want happy; scores %v", i, emotion.Labels[top], p, s)
		}
		var sum float32
		for _, v := range s {
			sum += v
		}
		if sum < 0.99 || sum > 1.01 {
			t.Errorf("probabilities sum to %v", sum)
		}
	}
	if got[0] != got[1] {
		t.Errorf("the same crop twice in a batch gave %v and %v", got[0], got[1])
	}
	// Batch of one gives what the batch of four gave.
	one, err := c.Classify(img, []image.Rectangle{box})
	if err != nil {
		t.Fatal(err)
	}
	for k := range one[0] {
		if d := one[0][k] - got[0][k]; d > 1e-4 || d < -1e-4 {
			t.Errorf("batch of 1 vs 4: %v vs %v", one[0], got[0])
			break
		}
	}
}
