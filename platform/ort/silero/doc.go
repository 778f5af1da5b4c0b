// Package silero runs the Silero VAD v5 voice activity model (manifest entry
// "silero-vad-v5") over 16 kHz mono audio, one 512-sample frame (32 ms) at a
// time, and turns the per-frame speech probabilities into speech segments
// the way Silero's own get_speech_timestamps does.
package silero
