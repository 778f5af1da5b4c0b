package imgutil

import (
	"image"
	"image/color"
	"math"
	"testing"
)

func TestSample(t *testing.T) {
	// 4x2 image: left half black, right half white, offset origin.
	img := image.NewRGBA(image.Rect(10, 20, 14, 22))
	for y := 20; y < 22; y++ {
		for x := 12; x < 14; x++ {
			img.Set(x, y, color.White)
		}
	}
	get := func(src Rect, w, h int) []float32 {
		out := make([]float32, w*h)
		Sample(img, src, w, h, func(i int, r, g, b float32) {
			if r != g || g != b {
				t.Fatalf("grey image gave %v %v %v", r, g, b)
			}
			out[i] = r
		})
		return out
	}
	// Shrinking 4x2 to 2x1 averages each half.
	if got := get(FromRectangle(img.Rect), 2, 1); got[0] != 0 || got[1] != 255 {
		t.Errorf("area average: %v, want [0 255]", got)
	}
	// Shrinking to 1x1 averages everything.
	if got := get(FromRectangle(img.Rect), 1, 1); got[0] != 127.5 {
		t.Errorf("1x1: %v, want 127.5", got)
	}
	// Same size is the identity.
	if got := get(FromRectangle(img.Rect), 4, 2); got[1] != 0 || got[2] != 255 {
		t.Errorf("identity: %v", got)
	}
	// Enlarging interpolates across the edge, monotonically.
	got := get(Rect{10, 20, 14, 21}, 8, 1)
	for i := 1; i < len(got); i++ {
		if got[i] < got[i-1] {
			t.Errorf("enlarged edge not monotonic: %v", got)
		}
	}
	if got[0] != 0 || got[7] != 255 || got[3] <= 0 || got[4] >= 255 {
		t.Errorf("enlarged edge: %v", got)
	}
	// Outside the image is black.
	if got := get(Rect{0, 0, 4, 2}, 2, 1); math.Abs(float64(got[0]+got[1])) != 0 {
		t.Errorf("outside: %v, want black", got)
	}
}

func TestRGBA(t *testing.T) {
	rgba := image.NewRGBA(image.Rect(0, 0, 2, 2))
	if RGBA(rgba, nil) != rgba {
		t.Error("an *image.RGBA was copied")
	}
	gray := image.NewGray(image.Rect(5, 5, 7, 7))
	gray.SetGray(6, 6, color.Gray{200})
	buf := RGBA(gray, nil)
	if buf.Rect != gray.Rect || buf.RGBAAt(6, 6).R != 200 {
		t.Errorf("conversion: %v %v", buf.Rect, buf.RGBAAt(6, 6))
	}
	if again := RGBA(gray, buf); again != buf {
		t.Error("buffer of the right size not reused")
	}
}
