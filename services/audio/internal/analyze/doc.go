// Package analyze runs the DSP analyses of an input's audio in one pass:
// ffmpeg decodes once into two streams, 48 kHz for loudness (the rate
// BS.1770 and ffmpeg's ebur128 filter measure at) and 22.05 kHz for the
// spectral and rhythm analyses (enough bandwidth for timbre and onsets at
// half the cost). The two streams are consumed concurrently, one goroutine
// each, so loudness and the spectral analyses use both cores of a small
// machine.
//
// A third stream at 16 kHz feeds voice activity (package voice) and the
// 100 ms levels behind the loud-burst and loudness-jump cues. Once decoding
// ends, the per-second series and the events (package events) are built
// from all of them. It is the domain entry point of the gRPC adapter.
package analyze
