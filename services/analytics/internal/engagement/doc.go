// Package engagement scores every second of a video from explicit,
// documented factors fused across modalities (audio, vision, transcript and
// text analysis), so a user can see why a second scores high.
//
// # Factors
//
// Each [Factor] is a raw per-second series built from the [Input]:
//
//   - speech_presence: the audio's voice-activity probability, or, without
//     audio, the share of the second covered by transcript words.
//   - speech_rate: transcript words per second (a word counts in the second
//     holding its midpoint).
//   - loudness: the second's RMS level in dBFS, floored at -80 dB.
//   - loudness_change: the absolute change of that level from the previous
//     second.
//   - excitement: pitch and energy excitement, the mean of the voiced pitch
//     relative to the video's median voiced pitch (0 when unvoiced) and the
//     onset strength relative to its video median.
//   - audio_events: the summed strength of the loud bursts, loudness jumps
//     and applause/laughter-like events overlapping the second.
//   - faces: faces on screen; face_size: the largest face's share of the
//     frame (close-ups score high); eye_contact: the probability a face
//     looks at the camera; face_emotion: the intensity of the strongest
//     non-neutral facial emotion.
//   - motion: the motion energy.
//   - cut_rhythm: scene cuts within the centred 5 s window around the second.
//   - sentiment: the sentiment/emotion strength (|compound|) of the text
//     spans overlapping the second.
//   - hooks: the strength of hook phrases (questions, numbers, strong
//     claims) overlapping the second.
//   - visual_quality: the frame quality score.
//
// A modality left nil in the [Input] (or a nil series inside one) is
// missing: its factors are dropped, the remaining weights are renormalised
// to sum to 1, and the [Timeline] names the factors used and missing.
//
// # Normalisation
//
// Factors have different units, so each raw series is normalised per video
// with a robust logistic: z = (x − median) / s, n = 1 / (1 + e^(−z)), where
// s is IQR/1.349 (the standard deviation of a normal with that IQR); when
// the IQR is 0 (more than half the seconds share one value, as in a mostly
// silent video) s falls back to 1.4826·MAD and then to the standard
// deviation. A constant series carries no information and normalises to 0.5
// everywhere. A second at the video's median of a factor therefore scores
// 0.5 for it, an outlier above it approaches 1, and one extreme value
// cannot squash the rest of the series as min-max scaling would.
//
// # Smoothing
//
// The normalised factor series are smoothed with a 3-second centred moving
// average (the first and last seconds average their two available
// seconds) before weighting, so one noisy second does not make a peak.
// Because the fusion is linear, the score is the sum of the listed
// contributions, and equals the smoothed unsmoothed score.
//
// # Weights
//
// [Weights] holds one weight per factor; [DefaultWeights] documents the
// defaults and [Weights.Validate] rejects negative, NaN or infinite
// weights and an all-zero set, naming the bad key.
package engagement
