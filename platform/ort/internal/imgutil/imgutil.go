package imgutil

import (
	"image"
	"image/draw"
	"math"
)

// RGBA returns img as an *image.RGBA whose origin is img's, converting
// (and allocating) only when it is another type. buf, when it has the right
// size, is reused for the conversion.
func RGBA(img image.Image, buf *image.RGBA) *image.RGBA {
	if r, ok := img.(*image.RGBA); ok {
		return r
	}
	b := img.Bounds()
	if buf == nil || buf.Rect != b {
		buf = image.NewRGBA(b)
	}
	draw.Draw(buf, b, img, b.Min, draw.Src)
	return buf
}

// Rect is a rectangle in pixel coordinates of an image (float, so crops
// can be any size and position; it may extend past the image).
type Rect struct{ X0, Y0, X1, Y1 float64 }

// FromRectangle converts an image.Rectangle.
func FromRectangle(r image.Rectangle) Rect {
	return Rect{float64(r.Min.X), float64(r.Min.Y), float64(r.Max.X), float64(r.Max.Y)}
}

// Sample resamples the region src of img onto a w x h grid and calls set
// for each output pixel (row-major index i = y*w + x) with its red, green
// and blue in [0, 255]. Each output pixel averages the source pixels under
// it (area filter: no aliasing when shrinking) and interpolates bilinearly
// when enlarging (or shrinking by less than 1.5). Outside the image counts
// as black.
func Sample(img *image.RGBA, src Rect, w, h int, set func(i int, r, g, b float32)) {
	sx := (src.X1 - src.X0) / float64(w)
	sy := (src.Y1 - src.Y0) / float64(h)
	bnd := img.Rect
	at := func(x, y int) (float32, float32, float32) {
		if x < bnd.Min.X || y < bnd.Min.Y || x >= bnd.Max.X || y >= bnd.Max.Y {
			return 0, 0, 0
		}
		o := img.PixOffset(x, y)
		p := img.Pix[o : o+3 : o+3]
		return float32(p[0]), float32(p[1]), float32(p[2])
	}
	for oy := range h {
		y0 := src.Y0 + float64(oy)*sy
		for ox := range w {
			x0 := src.X0 + float64(ox)*sx
			var r, g, b float32
			if sx > 1.5 || sy > 1.5 {
				// Area average over the footprint [x0, x0+sx) x [y0, y0+sy).
				ix0, ix1 := int(math.Floor(x0)), int(math.Ceil(x0+sx))
				iy0, iy1 := int(math.Floor(y0)), int(math.Ceil(y0+sy))
				var n float32
				for y := iy0; y < iy1; y++ {
					for x := ix0; x < ix1; x++ {
						pr, pg, pb := at(x, y)
						r, g, b, n = r+pr, g+pg, b+pb, n+1
					}
				}
				r, g, b = r/n, g/n, b/n
			} else {
				// Bilinear at the footprint's centre; a centre outside the
				// image is black, neighbours past the edge repeat the edge.
				cx, cy := x0+sx/2, y0+sy/2
				if cx >= float64(bnd.Min.X) && cx < float64(bnd.Max.X) && cy >= float64(bnd.Min.Y) && cy < float64(bnd.Max.Y) {
					fx, fy := math.Floor(cx-0.5), math.Floor(cy-0.5)
					ax, ay := float32(cx-0.5-fx), float32(cy-0.5-fy)
					xa, xb := clamp(int(fx), bnd.Min.X, bnd.Max.X-1), clamp(int(fx)+1, bnd.Min.X, bnd.Max.X-1)
					ya, yb := clamp(int(fy), bnd.Min.Y, bnd.Max.Y-1), clamp(int(fy)+1, bnd.Min.Y, bnd.Max.Y-1)
					r00, g00, b00 := at(xa, ya)
					r10, g10, b10 := at(xb, ya)
					r01, g01, b01 := at(xa, yb)
					r11, g11, b11 := at(xb, yb)
					lerp := func(a, b, c, d float32) float32 {
						return (a*(1-ax)+b*ax)*(1-ay) + (c*(1-ax)+d*ax)*ay
					}
					r, g, b = lerp(r00, r10, r01, r11), lerp(g00, g10, g01, g11), lerp(b00, b10, b01, b11)
				}
			}
			set(oy*w+ox, r, g, b)
		}
	}
}

func clamp(v, lo, hi int) int { return max(lo, min(hi, v)) }
