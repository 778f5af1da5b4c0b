// Package analyze runs the DSP analyses of an input's audio in one pass:
// ffmpeg decodes once into two streams, 48 kHz for loudness (the rate
// BS.1770 and ffmpeg's ebur128 filter measure at) and 22.05 kHz for the
// spectral and rhythm analyses (enough bandwidth for timbre and onsets at
// half the cost). The two streams are consumed concurrently, one goroutine
// each, so loudness and the spectral analyses use both cores of a small
// machine.
//
// It is the domain entry point the gRPC adapter will call; voice activity
// and audio events (issue 5) will join it here.
package analyze
