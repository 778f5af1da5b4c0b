// Package motion measures movement with dense optical flow (Farnebäck,
// through package cv) on small gray frames: per analysed frame pair and per
// second the mean flow magnitude, the dominant direction, a motion-energy
// value, and a split into camera motion (the median flow vector over the
// whole frame: a pan or tilt moves everything) and object motion (the mean
// magnitude of what is left after removing it).
//
// Velocities are in frame widths per second, so figures do not depend on
// the analysis size or the sample step; directions are degrees in image
// coordinates: 0 is rightwards, 90 downwards, 180 leftwards, 270 upwards.
package motion
