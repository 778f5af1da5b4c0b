package faceres_test

import (
	"bytes"
	"image"
	_ "image/jpeg" // decoders of the test photos
	_ "image/png"
	"os"
	"testing"

	"github.com/clipmesh/clipmesh/platform/ort"
	"github.com/clipmesh/clipmesh/platform/ort/blazeface"
	"github.com/clipmesh/clipmesh/platform/ort/faceres"
	"github.com/clipmesh/clipmesh/platform/ort/orttest"
)

func decode(t testing.TB, path string) image.Image {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	img, _, err := image.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func TestDescribe(t *testing.T) {
	orttest.Init(t)
	fd, err := blazeface.New(orttest.Model(t, "blazeface-front"), ort.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer fd.Close()
	d, err := faceres.New(orttest.Model(t, faceres.ModelName), ort.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	sk := "/usr/lib/python3/dist-packages/skimage/data/"
	type photo struct {
		name   string
		img    image.Image
		male   bool
		person int
	}
	astro := decode(t, sk+"astronaut.png")
	// The same face again: mirrored, darker and smaller.
	b := astro.Bounds()
	other := image.NewRGBA(image.Rect(0, 0, b.Dx()*3/4, b.Dy()*3/4))
	for y := range other.Rect.Dy() {
		for x := range other.Rect.Dx() {
			r, g, bl, _ := astro.At(b.Dx()-1-x*4/3, y*4/3).RGBA()
			o := other.PixOffset(x, y)
			other.Pix[o], other.Pix[o+1], other.Pix[o+2], other.Pix[o+3] = uint8(r>>8*8/10), uint8(g>>8*8/10), uint8(bl>>8*8/10), 255
		}
	}
	photos := []photo{
		{"astronaut", astro, false, 0},
		{"astronaut mirrored, darker, smaller", other, false, 0},
		{"franck", decode(t, orttest.Model(t, "face-photo")), true, 1},
		{"cameraman", decode(t, sk+"camera.png"), true, 2},
	}
	var faces []faceres.Face
	for _, p := range photos {
		found, err := fd.Detect(p.img)
		if err != nil || len(found) == 0 {
			t.Fatalf("%s: no face (%v)", p.name, err)
		}
		f := found[0].Box
		res, err := d.Describe(p.img, []image.Rectangle{image.Rect(int(f.Min.X), int(f.Min.Y), int(f.Max.X), int(f.Max.Y))})
		if err != nil {
			t.Fatal(err)
		}
		r := res[0]
		t.Logf("%s: age %.1f male %.2f", p.name, r.Age, r.Male)
		if (r.Male > 0.5) != p.male {
			t.Errorf("%s: male score %.2f, want a %s", p.name, r.Male, map[bool]string{true: "man", false: "woman"}[p.male])
		}
		if r.Age < 15 || r.Age > 70 {
			t.Errorf("%s: age %.1f for an adult", p.name, r.Age)
		}
		faces = append(faces, r)
	}
	for i := range faces {
		for j := i + 1; j < len(faces); j++ {
			sim := faceres.Similarity(faces[i].Descriptor, faces[j].Descriptor)
			t.Logf("similarity %s / %s: %.3f", photos[i].name, photos[j].name, sim)
			if same := photos[i].person == photos[j].person; same != (sim > faceres.SamePerson) {
				t.Errorf("%s / %s: similarity %.3f, same person %v (threshold %.2f)", photos[i].name, photos[j].name, sim, same, faceres.SamePerson)
			}
		}
	}
	// A batch gives what single calls gave.
	found, _ := fd.Detect(astro)
	f := found[0].Box
	box := image.Rect(int(f.Min.X), int(f.Min.Y), int(f.Max.X), int(f.Max.Y))
	batch, err := d.Describe(astro, []image.Rectangle{box, box.Inset(5)})
	if err != nil {
		t.Fatal(err)
	}
	if s := faceres.Similarity(batch[0].Descriptor, faces[0].Descriptor); s < 0.9999 {
		t.Errorf("batched descriptor differs from the single one: similarity %v", s)
	}
}
