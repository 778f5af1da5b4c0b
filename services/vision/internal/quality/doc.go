// Package quality measures per-frame picture quality: sharpness (variance
// of the Laplacian, through package cv), colorfulness (Hasler and
// Süsstrunk 2003), RMS contrast, brightness, a noise estimate (Immerkær
// 1996: the mean absolute response to a Laplacian-difference kernel, which
// cancels image structure) and blockiness (mean absolute step across the
// 8×8 block grid divided by the mean step inside blocks; 1 means no
// blocking). Blockiness is only meaningful at the coded resolution.
package quality
