// Package voice finds speech in 16 kHz mono audio. Its preferred engine is
// Silero VAD v5 run by ONNX Runtime (platform/ort/silero), both from the
// models cache (`clipmesh models fetch`). When either is missing it falls
// back to an energy detector, and says so: the Result's Producer is marked
// Fallback with a Note that names the missing model and the command that
// installs it.
//
// The energy fallback measures each 32 ms frame's RMS level, takes the
// noise floor as the 10th percentile of the frame levels, and maps each
// frame to a pseudo-probability with a logistic curve centred at
// max(floor+12 dB, -50 dBFS); the probabilities then go through the same
// hysteresis segmentation as Silero's (with a 300 ms minimum silence,
// since energy dips inside words). It cannot tell speech from music or
// noise: any sustained sound above the floor counts.
package voice
