package facemesh

import (
	"errors"
	"fmt"
	"image"
	"math"
	"sync"

	"github.com/clipmesh/clipmesh/platform/ort"
	"github.com/clipmesh/clipmesh/platform/ort/internal/imgutil"
)

// Manifest entries of the models.
const (
	MeshModelName = "human-facemesh"
	IrisModelName = "human-iris"
)

const (
	meshSize   = 192
	irisSize   = 64
	meshPoints = 468
	irisPoints = 76 // 71 eye contour and brow points, then 5 iris points (centre first)
	// FaceEnlarge is how much the detector's box is grown (about its
	// centre) into the square the mesh model sees, as MediaPipe does.
	FaceEnlarge = 1.5
	// irisEnlarge is the eye crop's side over the eye's width (human's value).
	irisEnlarge = 2.3
)

// Mesh point indices (MediaPipe's canonical face mesh) of the eye corners
// and lids. Right and left are the person's own.
const (
	RightEyeOuter, RightEyeInner, RightEyeUpper, RightEyeLower = 33, 133, 159, 145
	LeftEyeOuter, LeftEyeInner, LeftEyeUpper, LeftEyeLower     = 263, 362, 386, 374
	NoseTip                                                    = 1
)

// Point is a position in pixels of the analysed image.
type Point struct{ X, Y float64 }

// Eye is what the models say about one eye.
type Eye struct {
	// Openness is the lid gap over the eye's width (about 0.25-0.35 open,
	// under 0.1 closed).
	Openness float64
	// Iris is the iris centre.
	Iris Point
	// Gaze is the iris offset from the eye's centre, in half eye widths:
	// 0 looks straight ahead, +X towards the image's right, +Y down.
	Gaze Point
}

// Result is the analysis of one face.
type Result struct {
	// Presence is the mesh model's confidence that the crop holds a face.
	Presence float32
	// Points are the 468 mesh points (x, y in pixels; depth dropped).
	Points [meshPoints]Point
	// Right and Left are the person's eyes.
	Right, Left Eye
	// Yaw is the head's turn: the nose tip's offset from the midpoint of
	// the eyes, over the distance between the eyes (0 frontal).
	Yaw float64
	// EyeContact says whether the person looks at the camera: a roughly
	// frontal head (|Yaw| < MaxYaw) and both irises near their eye's centre
	// (|Gaze| < MaxGaze).
	EyeContact bool
}

// Thresholds of Result.EyeContact.
const (
	MaxYaw  = 0.2
	MaxGaze = 0.3
)

// Mesher runs the two models. Its methods are safe for concurrent use
// (inferences run one at a time).
type Mesher struct {
	mu         sync.Mutex
	mesh, iris *ort.Session
	rgba       *image.RGBA
}

// New loads the mesh and iris models (models.Path(dir, MeshModelName) and
// IrisModelName). ort.Init must have been called.
func New(meshPath, irisPath string, opts ort.Options) (*Mesher, error) {
	mesh, err := ort.NewSession(meshPath, []string{"input_1:0"}, []string{"Identity_1:0", "Identity_2:0"}, opts)
	if err != nil {
		return nil, err
	}
	iris, err := ort.NewSession(irisPath, []string{"input_1:0"}, []string{"Identity:0"}, opts)
	if err != nil {
		_ = mesh.Close()
		return nil, err
	}
	return &Mesher{mesh: mesh, iris: iris}, nil
}

// Provider is the execution provider running the models ("cpu" or "cuda").
func (m *Mesher) Provider() string { return m.mesh.Provider() }

// square is a square crop: top-left corner and side, in image pixels.
type square struct{ x, y, side float64 }

func squareAround(cx, cy, side float64) square { return square{cx - side/2, cy - side/2, side} }

func (s square) rect() imgutil.Rect {
	return imgutil.Rect{X0: s.x, Y0: s.y, X1: s.x + s.side, Y1: s.y + s.side}
}

// Analyze runs the mesh on the face in box (a face detector's box in img),
// then the iris model on both eyes (one batch of two).
func (m *Mesher) Analyze(img image.Image, box image.Rectangle) (Result, error) {
	var res Result
	if box.Empty() {
		return res, errors.New("facemesh: empty face box")
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	src := imgutil.RGBA(img, m.rgba)
	if _, ok := img.(*image.RGBA); !ok {
		m.rgba = src
	}
	side := float64(max(box.Dx(), box.Dy())) * FaceEnlarge
	face := squareAround(float64(box.Min.X+box.Max.X)/2, float64(box.Min.Y+box.Max.Y)/2, side)
	in, err := m.mesh.Float32Input("input_1:0", 1, meshSize, meshSize, 3)
	if err != nil {
		return res, err
	}
	imgutil.Sample(src, face.rect(), meshSize, meshSize, func(i int, r, g, b float32) {
		in[3*i], in[3*i+1], in[3*i+2] = r/255, g/255, b/255
	})
	if err := m.mesh.Run(); err != nil {
		return res, err
	}
	presence, _, err := m.mesh.Float32Output("Identity_1:0")
	if err != nil {
		return res, err
	}
	pts, _, err := m.mesh.Float32Output("Identity_2:0")
	if err != nil {
		return res, err
	}
	if len(pts) != 3*meshPoints || len(presence) != 1 {
		return res, fmt.Errorf("facemesh: mesh outputs have %d and %d values, want %d and 1", len(pts), len(presence), 3*meshPoints)
	}
	// The presence output is already a probability (the graph ends in a
	// sigmoid).
	res.Presence = presence[0]
	k := face.side / meshSize
	for i := range res.Points {
		res.Points[i] = Point{face.x + float64(pts[3*i])*k, face.y + float64(pts[3*i+1])*k}
	}
	p := res.Points
	if err := m.eyes(src, &res); err != nil {
		return res, err
	}
	mid := Point{(p[RightEyeOuter].X + p[LeftEyeOuter].X) / 2, (p[RightEyeOuter].Y + p[LeftEyeOuter].Y) / 2}
	res.Yaw = (p[NoseTip].X - mid.X) / dist(p[RightEyeOuter], p[LeftEyeOuter])
	res.EyeContact = math.Abs(res.Yaw) < MaxYaw &&
		math.Abs(res.Right.Gaze.X) < MaxGaze && math.Abs(res.Left.Gaze.X) < MaxGaze &&
		math.Abs(res.Right.Gaze.Y) < MaxGaze && math.Abs(res.Left.Gaze.Y) < MaxGaze
	return res, nil
}

func dist(a, b Point) float64 { return math.Hypot(a.X-b.X, a.Y-b.Y) }

// eyes crops both eyes around the mesh's corners, runs the iris model on
// them as a batch of two (the left eye mirrored, as MediaPipe feeds it),
// and fills res.Right and res.Left.
func (m *Mesher) eyes(src *image.RGBA, res *Result) error {
	p := res.Points
	type eyeIdx struct{ outer, inner, upper, lower int }
	idx := [2]eyeIdx{
		{RightEyeOuter, RightEyeInner, RightEyeUpper, RightEyeLower},
		{LeftEyeOuter, LeftEyeInner, LeftEyeUpper, LeftEyeLower},
	}
	in, err := m.iris.Float32Input("input_1:0", 2, irisSize, irisSize, 3)
	if err != nil {
		return err
	}
	var crops [2]square
	for e, ix := range idx {
		o, n := p[ix.outer], p[ix.inner]
		crops[e] = squareAround((o.X+n.X)/2, (o.Y+n.Y)/2, dist(o, n)*irisEnlarge)
		px := in[e*irisSize*irisSize*3 : (e+1)*irisSize*irisSize*3]
		mirror := e == 1
		imgutil.Sample(src, crops[e].rect(), irisSize, irisSize, func(i int, r, g, b float32) {
			if mirror {
				y, x := i/irisSize, i%irisSize
				i = y*irisSize + irisSize - 1 - x
			}
			px[3*i], px[3*i+1], px[3*i+2] = r/255, g/255, b/255
		})
	}
	if err := m.iris.Run(); err != nil {
		return err
	}
	out, _, err := m.iris.Float32Output("Identity:0")
	if err != nil {
		return err
	}
	if len(out) != 2*3*irisPoints {
		return fmt.Errorf("facemesh: iris output has %d values, want %d", len(out), 2*3*irisPoints)
	}
	for e, ix := range idx {
		c := out[e*3*irisPoints+3*71:] // iris centre: the first of the last 5 points
		x, y := float64(c[0]), float64(c[1])
		if e == 1 {
			x = irisSize - x
		}
		k := crops[e].side / irisSize
		iris := Point{crops[e].x + x*k, crops[e].y + y*k}
		o, n := p[ix.outer], p[ix.inner]
		width := dist(o, n)
		centre := Point{(o.X + n.X) / 2, (p[ix.upper].Y + p[ix.lower].Y) / 2}
		eye := Eye{
			Openness: dist(p[ix.upper], p[ix.lower]) / width,
			Iris:     iris,
			Gaze:     Point{(iris.X - centre.X) / (width / 2), (iris.Y - centre.Y) / (width / 2)},
		}
		if e == 0 {
			res.Right = eye
		} else {
			res.Left = eye
		}
	}
	return nil
}

// Close releases the models.
func (m *Mesher) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return errors.Join(m.mesh.Close(), m.iris.Close())
}
