// Package scenes finds shot boundaries in a stream of small decoded frames:
// hard cuts and gradual transitions (fades to and from black, dissolves).
//
// Every frame (analysed at the full native rate on a small downscale, so
// cuts are frame-accurate) is reduced to a handful of features: an HSV
// histogram (hue over chromatic pixels only, plus saturation and value),
// a dilated Canny edge map and the mean and spread of luma. The
// frame-to-frame score is a weighted sum of the histogram distance
// (1 − intersection) and the edge change ratio (Zabih et al.).
//
//   - A hard cut at frame t is a local peak of the score above an adaptive
//     threshold: the median of the previous Window scores plus K times their
//     median absolute deviation (with a floor), so a shot full of noise or
//     motion raises its own bar and a slow pan never crosses it.
//   - A fade is read off the mean-luma trajectory: a run of black frames
//     entered by a monotonic fall (fade out) or left by a monotonic rise
//     (fade in). Frames inside a fade never count as cuts.
//   - A dissolve uses the twin-comparison idea (Zhang et al.): a run of
//     scores above a lower threshold whose first and last frames differ by
//     as much as a cut does.
//
// Detector.Add is a frames.Sink; Detector.Finish decides. Everything a
// decision needs is a few numbers per frame, so memory is O(frames) small.
package scenes
