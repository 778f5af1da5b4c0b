package cv

import (
	"errors"
	"fmt"
	"image"
	"os"
	"sync"

	"gocv.io/x/gocv"
)

// DefaultEyeCascade is OpenCV's frontal eye Haar cascade as Debian's
// opencv-data package installs it.
const DefaultEyeCascade = "/usr/share/opencv4/haarcascades/haarcascade_eye.xml"

// ErrNoCascade is wrapped when a cascade file is missing or unreadable.
var ErrNoCascade = errors.New("cv: cascade not loadable")

// Cascade is a Haar/LBP cascade classifier. It is safe for concurrent use
// (calls run one at a time: an OpenCV classifier is not reentrant).
type Cascade struct {
	mu sync.Mutex
	c  gocv.CascadeClassifier
}

// LoadCascade loads the cascade XML at path.
func LoadCascade(path string) (*Cascade, error) {
	// OpenCV only says "false": check the file first for a useful message.
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("%w: %w (Debian package opencv-data)", ErrNoCascade, err)
	}
	c := gocv.NewCascadeClassifier()
	if !c.Load(path) {
		_ = c.Close()
		return nil, fmt.Errorf("%w: OpenCV cannot read %s", ErrNoCascade, path)
	}
	return &Cascade{c: c}, nil
}

// Detect returns the objects found in a gray image (after histogram
// equalisation, as OpenCV's cascades were trained), at least minSize
// pixels wide, scanning scales 10% apart and keeping detections that at
// least minNeighbors overlapping windows agree on.
func (c *Cascade) Detect(gray []byte, w, h, minSize, minNeighbors int) ([]image.Rectangle, error) {
	src, err := matFrom(gray, w, h, 1)
	if err != nil {
		return nil, err
	}
	defer src.Close()
	eq := gocv.NewMat()
	defer eq.Close()
	gocv.EqualizeHist(src, &eq)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.c == (gocv.CascadeClassifier{}) {
		return nil, errors.New("cv: cascade closed")
	}
	return c.c.DetectMultiScaleWithParams(eq, 1.1, minNeighbors, 0, image.Pt(minSize, minSize), image.Pt(w, h)), nil
}

// Close releases the classifier; later Detect calls fail.
func (c *Cascade) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.c == (gocv.CascadeClassifier{}) {
		return nil
	}
	err := c.c.Close()
	c.c = gocv.CascadeClassifier{}
	return err
}
