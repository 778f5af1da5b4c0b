// Package summary computes the aggregates of the detailed analytics:
// engagement average and peaks, information density, complexity and the
// audio quality score.
//
// # Engagement
//
// Avg is the mean of the per-second scores. Peaks are local maxima (a
// second at least as high as its neighbours) above mean + 1 standard
// deviation, highest first, at most MaxPeaks, at least PeakSeparation
// seconds apart (greedy by height; ties go to the earlier second).
//
// # Information density
//
// Words per minute is the number of transcript words over the duration
// in minutes; topics per minute is the number of distinct topics (case
// and surrounding spaces ignored) over the duration in minutes.
//
// # Complexity
//
// Scene rate is scenes per minute. Motion entropy is the Shannon entropy
// of the per-second motion energy in 10 equal-width bins between its
// minimum and maximum, divided by log2(10) so it lies in [0, 1] (0 for a
// constant motion, 1 for motion spread evenly over its range).
// Vocabulary richness is the moving-average type/token ratio (MATTR) over
// windows of 50 tokens, or the plain type/token ratio when there are fewer
// tokens; tokens are lower-cased words with the surrounding punctuation
// removed.
//
// # Audio quality
//
// quality_score = 0.4·snr + 0.2·dynamic_range + 0.4·loudness, in [0, 1]:
//
//	snr           = clamp((SNR dB − 10) / 30, 0, 1)           10 dB → 0, 40 dB or more → 1
//	dynamic_range = 1 inside [6, 12] LU, falling linearly to 0 at 0 LU and at 24 LU
//	loudness      = clamp(1 − |integrated LUFS − (−14)| / 12, 0, 1)
//
// −14 LUFS is the streaming platforms' loudness target; 6–12 LU of
// dynamic range is neither over-compressed nor too uneven for speech.
//
// A figure whose input is missing is zero and named in Summary.Missing.
package summary
