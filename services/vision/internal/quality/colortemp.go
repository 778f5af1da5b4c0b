package quality

import "math"

// Colour temperature: sRGB pixels are linearised (IEC 61966-2-1), turned
// into CIE 1931 XYZ (D65 white, the sRGB matrix) and pooled; the pooled
// chromaticity (x, y) gives the correlated colour temperature by McCamy's
// cubic (1992). Near-black pixels (every channel below blackLevel) carry
// quantisation and sensor noise rather than the light's colour, and
// clipped pixels (any channel at or above clipLevel) have lost it, so
// neither counts.
const (
	blackLevel = 16
	clipLevel  = 250
	// McCamy's cubic is accurate to a few kelvin between ~2800 K and
	// ~6500 K on the Planckian locus and degrades beyond; below its
	// minimum (n = −1.28, ~1620 K) it turns back up, so n is held there,
	// and the result is capped at MaxColorTemperature on the blue side.
	mccamyMinN = -1.28
	// MinColorTemperature and MaxColorTemperature bound the estimate.
	MinColorTemperature = 1620.0
	MaxColorTemperature = 25000.0
)

// srgbLinear maps an 8-bit sRGB value to linear light in [0, 1].
var srgbLinear = func() (t [256]float64) {
	for i := range t {
		c := float64(i) / 255
		if c <= 0.04045 {
			t[i] = c / 12.92
		} else {
			t[i] = math.Pow((c+0.055)/1.055, 2.4)
		}
	}
	return t
}()

// XYZ is a CIE 1931 tristimulus value (Y = 1 is white).
type XYZ [3]float64

// FrameXYZ returns the sum of the usable pixels' XYZ divided by the number
// of pixels (unusable ones count as black), so averaging it over frames
// pools their light in proportion to the usable pixels, and its
// chromaticity is that of the frame's usable light.
func FrameXYZ(rgb []byte) XYZ {
	n := len(rgb) / 3
	if n == 0 {
		return XYZ{}
	}
	var sr, sg, sb float64
	for i := range n {
		r, g, b := rgb[3*i], rgb[3*i+1], rgb[3*i+2]
		hi := max(r, g, b)
		if hi < blackLevel || hi >= clipLevel {
			continue
		}
		sr += srgbLinear[r]
		sg += srgbLinear[g]
		sb += srgbLinear[b]
	}
	// Linear sRGB → XYZ is linear, so the sums can be converted once.
	k := 1 / float64(n)
	sr, sg, sb = sr*k, sg*k, sb*k
	return XYZ{
		0.4124564*sr + 0.3575761*sg + 0.1804375*sb,
		0.2126729*sr + 0.7151522*sg + 0.0721750*sb,
		0.0193339*sr + 0.1191920*sg + 0.9503041*sb,
	}
}

// ColorTemperature returns the correlated colour temperature in kelvin of
// the light c by McCamy's formula, n = (x − 0.3320)/(0.1858 − y),
// CCT = 449n³ + 3525n² + 6823.3n + 5520.33, bounded to
// [MinColorTemperature, MaxColorTemperature]; 0 when c holds no light.
// For strongly coloured light far from the Planckian locus (greens,
// magentas) the value says how warm or cool it is rather than naming a
// light source. Chromaticities bluer than McCamy's epicentre
// (y ≤ 0.1858 with x < 0.3320) get the maximum.
func ColorTemperature(c XYZ) float64 {
	s := c[0] + c[1] + c[2]
	if s < 1e-9 {
		return 0
	}
	x, y := c[0]/s, c[1]/s
	if y <= 0.1858+1e-6 {
		if x < 0.3320 {
			return MaxColorTemperature
		}
		return MinColorTemperature
	}
	n := max((x-0.3320)/(0.1858-y), mccamyMinN)
	cct := ((449*n+3525)*n+6823.3)*n + 5520.33
	return math.Min(MaxColorTemperature, math.Max(MinColorTemperature, cct))
}
