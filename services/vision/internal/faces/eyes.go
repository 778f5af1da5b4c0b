package faces

import (
	"fmt"
	"math"

	"github.com/clipmesh/clipmesh/platform/ort/blazeface"
	"github.com/clipmesh/clipmesh/services/vision/internal/cv"
)

// EyeCheck is the Haar eye cascade's verdict on one detection.
type EyeCheck int8

// Verdicts of EyeConfirmer.Check.
const (
	// EyesUnchecked: the face is too small (or no checker ran).
	EyesUnchecked EyeCheck = iota
	// EyesConfirmed: the cascade found an eye at each BlazeFace eye
	// keypoint.
	EyesConfirmed
	// EyesNotFound: it did not (eyes closed, covered, turned away, or a
	// false face).
	EyesNotFound
)

// MinEyeCheckWidth is the narrowest face box, in analysed pixels, whose
// eyes are checked: below it an eye spans fewer than ~8 pixels and the
// cascade's silence means nothing.
const MinEyeCheckWidth = 40

// eyeCropWidth is the width the face's upper part is scaled to: eyes then
// span ~30-40 px, well above the cascade's 20 px window.
const eyeCropWidth = 160

// EyeConfirmer checks BlazeFace's eye keypoints with OpenCV's Haar eye
// cascade. The cascade fires on open eyes and rarely on closed ones, so a
// confirmation is also an eyes-open cue. It is safe for concurrent use.
type EyeConfirmer struct {
	c *cv.Cascade
}

// NewEyeConfirmer loads the cascade at path (cv.DefaultEyeCascade when
// empty).
func NewEyeConfirmer(path string) (*EyeConfirmer, error) {
	if path == "" {
		path = cv.DefaultEyeCascade
	}
	c, err := cv.LoadCascade(path)
	if err != nil {
		return nil, err
	}
	return &EyeConfirmer{c: c}, nil
}

// Close releases the cascade.
func (e *EyeConfirmer) Close() error { return e.c.Close() }

// Check looks for eyes in the upper 60% of face f's box in a w×h gray
// frame and reports whether there is one at each eye keypoint.
func (e *EyeConfirmer) Check(gray []byte, w, h int, f blazeface.Face) (EyeCheck, error) {
	if f.Box.Max.X-f.Box.Min.X < MinEyeCheckWidth {
		return EyesUnchecked, nil
	}
	x0, y0 := max(0, int(math.Floor(f.Box.Min.X))), max(0, int(math.Floor(f.Box.Min.Y)))
	x1 := min(w, int(math.Ceil(f.Box.Max.X)))
	y1 := min(h, int(math.Ceil(f.Box.Min.Y+0.6*(f.Box.Max.Y-f.Box.Min.Y))))
	cw, ch := x1-x0, y1-y0
	if cw < MinEyeCheckWidth || ch < MinEyeCheckWidth/2 {
		return EyesUnchecked, nil
	}
	crop := make([]byte, cw*ch)
	for y := range ch {
		copy(crop[y*cw:(y+1)*cw], gray[(y0+y)*w+x0:(y0+y)*w+x1])
	}
	scale := float64(eyeCropWidth) / float64(cw)
	sw, sh := eyeCropWidth, max(1, int(math.Round(float64(ch)*scale)))
	big, err := cv.Resize(crop, cw, ch, 1, sw, sh)
	if err != nil {
		return EyesUnchecked, fmt.Errorf("eye check: %w", err)
	}
	rects, err := e.c.Detect(big, sw, sh, eyeCropWidth/8, 3)
	if err != nil {
		return EyesUnchecked, fmt.Errorf("eye check: %w", err)
	}
	used := make([]bool, len(rects))
	for _, k := range []int{blazeface.RightEye, blazeface.LeftEye} {
		p := f.Keypoints[k]
		px, py := (p.X-float64(x0))*scale, (p.Y-float64(y0))*scale
		found := false
		for i, r := range rects {
			// A quarter of slack around the box: the keypoint is the
			// eye's centre as BlazeFace sees it, the box the cascade's.
			mx, my := float64(r.Dx())/4, float64(r.Dy())/4
			if !used[i] && px >= float64(r.Min.X)-mx && px <= float64(r.Max.X)+mx &&
				py >= float64(r.Min.Y)-my && py <= float64(r.Max.Y)+my {
				used[i], found = true, true
				break
			}
		}
		if !found {
			return EyesNotFound, nil
		}
	}
	return EyesConfirmed, nil
}
