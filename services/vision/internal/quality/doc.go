// Package quality measures per-frame picture quality: sharpness (variance
// of the Laplacian, through package cv), colorfulness (Hasler and
// Süsstrunk 2003), RMS contrast, brightness, a noise estimate (Immerkær
// 1996: the mean absolute response to a Laplacian-difference kernel, which
// cancels image structure) and blockiness (mean absolute step across the
// 8×8 block grid divided by the mean step inside blocks; 1 means no
// blocking) and the correlated colour temperature. Blockiness is only
// meaningful at the coded resolution.
//
// Colour temperature: the pixels that are neither near-black (every channel
// below 16) nor clipped (any channel at 250 or more) are linearised (sRGB
// transfer curve), converted to CIE 1931 XYZ with the sRGB/D65 matrix and
// summed; the chromaticity (x, y) of that light gives the correlated colour
// temperature by McCamy's cubic (1992), bounded to 1620–25000 K. Means
// (per second, per scene via Result.Span, per video) pool the light of
// their frames and take its temperature, so a dark frame weighs less than a
// bright one and black frames not at all. Neutral grey reads D65,
// ~6500 K; orange light reads lower, blue light higher. McCamy is accurate
// to a few kelvin between ~2800 and ~6500 K on the Planckian locus; for
// strongly coloured, off-locus light the number ranks warm against cool
// rather than naming a light source.
package quality
