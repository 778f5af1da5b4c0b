package cv

import (
	"errors"
	"fmt"
	"image"

	"gocv.io/x/gocv"
)

// ErrSize is returned when a buffer does not match the width, height and
// channel count it is described with.
var ErrSize = errors.New("cv: buffer size does not match the image dimensions")

// Version is the OpenCV version gocv is linked against, e.g. "4.6.0".
func Version() string { return gocv.OpenCVVersion() }

// matFrom copies pix (w×h×ch bytes) into a new 8-bit Mat the caller closes.
func matFrom(pix []byte, w, h, ch int) (gocv.Mat, error) {
	if w <= 0 || h <= 0 || len(pix) != w*h*ch {
		return gocv.Mat{}, fmt.Errorf("%w: %d bytes for %dx%dx%d", ErrSize, len(pix), w, h, ch)
	}
	t := gocv.MatTypeCV8UC1
	if ch == 3 {
		t = gocv.MatTypeCV8UC3
	}
	m := gocv.NewMatWithSize(h, w, t)
	copy(m.DataPtrUint8(), pix)
	return m, nil
}

// GaussianBlur returns a blurred copy of pix (ch = 1 or 3) with a square
// kernel of odd size k and standard deviation sigma (0: derived from k).
func GaussianBlur(pix []byte, w, h, ch, k int, sigma float64) ([]byte, error) {
	src, err := matFrom(pix, w, h, ch)
	if err != nil {
		return nil, err
	}
	defer src.Close()
	dst := gocv.NewMat()
	defer dst.Close()
	gocv.GaussianBlur(src, &dst, image.Pt(k, k), sigma, sigma, gocv.BorderReflect101)
	return dst.ToBytes(), nil
}

// LaplacianVariance returns the variance of the 3×3 Laplacian of a gray
// image: the classic focus measure (higher is sharper).
func LaplacianVariance(gray []byte, w, h int) (float64, error) {
	src, err := matFrom(gray, w, h, 1)
	if err != nil {
		return 0, err
	}
	defer src.Close()
	lap := gocv.NewMat()
	defer lap.Close()
	gocv.Laplacian(src, &lap, gocv.MatTypeCV64F, 1, 1, 0, gocv.BorderReflect101)
	mean, std := gocv.NewMat(), gocv.NewMat()
	defer mean.Close()
	defer std.Close()
	gocv.MeanStdDev(lap, &mean, &std)
	s := std.GetDoubleAt(0, 0)
	return s * s, nil
}

// Canny returns the Canny edge map of a gray image (255 on edges, 0
// elsewhere) with hysteresis thresholds lo and hi.
func Canny(gray []byte, w, h int, lo, hi float32) ([]byte, error) {
	src, err := matFrom(gray, w, h, 1)
	if err != nil {
		return nil, err
	}
	defer src.Close()
	dst := gocv.NewMat()
	defer dst.Close()
	gocv.Canny(src, &dst, lo, hi)
	return dst.ToBytes(), nil
}

// RGBToHSV converts packed RGB24 to packed 8-bit HSV in OpenCV's ranges:
// H in [0, 180), S and V in [0, 256).
func RGBToHSV(rgb []byte, w, h int) ([]byte, error) {
	src, err := matFrom(rgb, w, h, 3)
	if err != nil {
		return nil, err
	}
	defer src.Close()
	dst := gocv.NewMat()
	defer dst.Close()
	gocv.CvtColor(src, &dst, gocv.ColorRGBToHSV)
	return dst.ToBytes(), nil
}

// Resize scales pix (ch = 1 or 3) to dw×dh with area interpolation.
func Resize(pix []byte, w, h, ch, dw, dh int) ([]byte, error) {
	src, err := matFrom(pix, w, h, ch)
	if err != nil {
		return nil, err
	}
	defer src.Close()
	dst := gocv.NewMat()
	defer dst.Close()
	gocv.Resize(src, &dst, image.Pt(dw, dh), 0, 0, gocv.InterpolationArea)
	return dst.ToBytes(), nil
}

// Flow is a dense optical-flow field: for pixel (x, y) the displacement from
// the previous image to the next is (DX[i], DY[i]) with i = y*W+x, in pixels.
type Flow struct {
	W, H   int
	DX, DY []float32
}

// FarnebackOptions are OpenCV's calcOpticalFlowFarneback parameters.
type FarnebackOptions struct {
	PyrScale   float64
	Levels     int
	WinSize    int
	Iterations int
	PolyN      int
	PolySigma  float64
}

// DefaultFarneback are the parameters of OpenCV's own sample (pyramid 0.5,
// 3 levels, 15 px window, 3 iterations, polyN 5, sigma 1.2), suited to
// frames of 100–300 px.
var DefaultFarneback = FarnebackOptions{PyrScale: 0.5, Levels: 3, WinSize: 15, Iterations: 3, PolyN: 5, PolySigma: 1.2}

// Farneback computes dense optical flow between two gray images of the same
// size with Gunnar Farnebäck's algorithm.
func Farneback(prev, next []byte, w, h int, o FarnebackOptions) (Flow, error) {
	a, err := matFrom(prev, w, h, 1)
	if err != nil {
		return Flow{}, err
	}
	defer a.Close()
	b, err := matFrom(next, w, h, 1)
	if err != nil {
		return Flow{}, err
	}
	defer b.Close()
	flow := gocv.NewMat()
	defer flow.Close()
	gocv.CalcOpticalFlowFarneback(a, b, &flow, o.PyrScale, o.Levels, o.WinSize, o.Iterations, o.PolyN, o.PolySigma, 0)
	data, err := flow.DataPtrFloat32()
	if err != nil {
		return Flow{}, fmt.Errorf("cv: farneback: %w", err)
	}
	if len(data) != 2*w*h {
		return Flow{}, fmt.Errorf("cv: farneback returned %d values for %dx%d", len(data), w, h)
	}
	f := Flow{W: w, H: h, DX: make([]float32, w*h), DY: make([]float32, w*h)}
	for i := range f.DX {
		f.DX[i], f.DY[i] = data[2*i], data[2*i+1]
	}
	return f, nil
}

// Capture reads the frames of a video file with OpenCV's VideoCapture (its
// FFmpeg backend). The vision service decodes with ffmpeg over a pipe
// instead (faster, see package frames); Capture exists to measure that.
type Capture struct {
	vc  *gocv.VideoCapture
	mat gocv.Mat
}

// OpenCapture opens path with VideoCapture.
func OpenCapture(path string) (*Capture, error) {
	vc, err := gocv.VideoCaptureFile(path)
	if err != nil {
		return nil, fmt.Errorf("cv: open %s: %w", path, err)
	}
	if !vc.IsOpened() {
		vc.Close()
		return nil, fmt.Errorf("cv: open %s: not opened", path)
	}
	return &Capture{vc: vc, mat: gocv.NewMat()}, nil
}

// Read decodes the next frame and returns it as packed BGR24 (OpenCV's
// order) scaled to dw×dh when both are positive, or at its native size; ok
// is false at the end of the stream.
func (c *Capture) Read(dw, dh int) (bgr []byte, w, h int, ok bool) {
	if !c.vc.Read(&c.mat) || c.mat.Empty() {
		return nil, 0, 0, false
	}
	if dw > 0 && dh > 0 {
		small := gocv.NewMat()
		defer small.Close()
		gocv.Resize(c.mat, &small, image.Pt(dw, dh), 0, 0, gocv.InterpolationArea)
		return small.ToBytes(), dw, dh, true
	}
	return c.mat.ToBytes(), c.mat.Cols(), c.mat.Rows(), true
}

// Close releases the capture.
func (c *Capture) Close() error {
	c.mat.Close()
	return c.vc.Close()
}
