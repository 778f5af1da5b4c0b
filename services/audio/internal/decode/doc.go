// Package decode streams the audio of any media file as mono float32 PCM by
// running ffmpeg, so that a two-hour video is never held in memory: samples
// reach the caller block by block while ffmpeg is still decoding.
//
// One ffmpeg process can feed several consumers at different sample rates
// (for example 48 kHz for loudness, which BS.1770 and ffmpeg's ebur128 filter
// measure at 48 kHz, and 22.05 kHz for the spectral analysis), so the input is
// read and decoded once. Each output is written by ffmpeg to its own pipe and
// read by its own goroutine.
//
// Errors are typed so the service can map them: ErrNoAudio when the input is
// media but has no audio stream (a result, not a failure of the whole job),
// ErrInvalid with ffmpeg's or ffprobe's own reason when the input is not
// decodable, and the context's error when the caller cancelled (ffmpeg is
// killed at once).
package decode
