package facemesh_test

import (
	"bytes"
	"image"
	_ "image/jpeg" // decoders of the test photos
	_ "image/png"
	"os"
	"testing"

	"github.com/clipmesh/clipmesh/platform/ort"
	"github.com/clipmesh/clipmesh/platform/ort/blazeface"
	"github.com/clipmesh/clipmesh/platform/ort/facemesh"
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

func TestEyesOfRealFaces(t *testing.T) {
	orttest.Init(t)
	fd, err := blazeface.New(orttest.Model(t, "blazeface-front"), ort.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer fd.Close()
	m, err := facemesh.New(orttest.Model(t, facemesh.MeshModelName), orttest.Model(t, facemesh.IrisModelName), ort.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	// Both photos: one frontal face, eyes open, looking into the camera.
	for name, path := range map[string]string{
		"astronaut": "/usr/lib/python3/dist-packages/skimage/data/astronaut.png",
		"franck":    orttest.Model(t, "face-photo"),
	} {
		t.Run(name, func(t *testing.T) {
			img := decode(t, path)
			faces, err := fd.Detect(img)
			if err != nil || len(faces) == 0 {
				t.Fatalf("no face: %v", err)
			}
			f := faces[0]
			box := image.Rect(int(f.Box.Min.X), int(f.Box.Min.Y), int(f.Box.Max.X), int(f.Box.Max.Y))
			res, err := m.Analyze(img, box)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("presence %.2f yaw %.2f contact %v right %+v left %+v", res.Presence, res.Yaw, res.EyeContact, res.Right, res.Left)
			if res.Presence < 0.5 {
				t.Errorf("presence %.2f on a face", res.Presence)
			}
			// The mesh's eye centres agree with BlazeFace's eye keypoints.
			for i, e := range []struct {
				outer, inner int
				kp           int
			}{{facemesh.RightEyeOuter, facemesh.RightEyeInner, blazeface.RightEye}, {facemesh.LeftEyeOuter, facemesh.LeftEyeInner, blazeface.LeftEye}} {
				o, n := res.Points[e.outer], res.Points[e.inner]
				cx, cy := (o.X+n.X)/2, (o.Y+n.Y)/2
				kp := f.Keypoints[e.kp]
				w := f.Box.Max.X - f.Box.Min.X
				if d := (cx-kp.X)*(cx-kp.X) + (cy-kp.Y)*(cy-kp.Y); d > (0.08*w)*(0.08*w) {
					t.Errorf("eye %d: mesh centre (%.0f,%.0f), BlazeFace (%.0f,%.0f)", i, cx, cy, kp.X, kp.Y)
				}
			}
			for i, e := range []facemesh.Eye{res.Right, res.Left} {
				if e.Openness < 0.15 || e.Openness > 0.6 {
					t.Errorf("eye %d openness %.2f, want an open eye (0.15..0.6)", i, e.Openness)
				}
			}
			if !res.EyeContact {
				t.Errorf("no eye contact for a person looking into the camera: %+v %+v yaw %.2f", res.Right.Gaze, res.Left.Gaze, res.Yaw)
			}
		})
	}
}

func TestNoFaceHasLowPresence(t *testing.T) {
	orttest.Init(t)
	m, err := facemesh.New(orttest.Model(t, facemesh.MeshModelName), orttest.Model(t, facemesh.IrisModelName), ort.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	img := decode(t, "/usr/lib/python3/dist-packages/skimage/data/coffee.png")
	res, err := m.Analyze(img, image.Rect(150, 100, 350, 300))
	if err != nil {
		t.Fatal(err)
	}
	if res.Presence > 0.5 {
		t.Errorf("presence %.2f on a cup of coffee", res.Presence)
	}
}

// TestHeadTurnedAway: skimage's camera.png is a cameraman with his head
// turned to his camera's viewfinder: a face, but no eye contact.
func TestHeadTurnedAway(t *testing.T) {
	orttest.Init(t)
	fd, err := blazeface.New(orttest.Model(t, "blazeface-front"), ort.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer fd.Close()
	m, err := facemesh.New(orttest.Model(t, facemesh.MeshModelName), orttest.Model(t, facemesh.IrisModelName), ort.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	img := decode(t, "/usr/lib/python3/dist-packages/skimage/data/camera.png")
	faces, err := fd.Detect(img)
	if err != nil || len(faces) == 0 {
		t.Fatalf("no face: %v", err)
	}
	f := faces[0]
	res, err := m.Analyze(img, image.Rect(int(f.Box.Min.X), int(f.Box.Min.Y), int(f.Box.Max.X), int(f.Box.Max.Y)))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("presence %.2f yaw %.2f contact %v right %+v left %+v", res.Presence, res.Yaw, res.EyeContact, res.Right, res.Left)
	if res.Presence < 0.5 {
		t.Errorf("presence %.2f on a face", res.Presence)
	}
	if res.EyeContact || res.Yaw < facemesh.MaxYaw {
		t.Errorf("eye contact %v, yaw %.2f: want no contact and a head turned (yaw > %.2f)", res.EyeContact, res.Yaw, facemesh.MaxYaw)
	}
}
