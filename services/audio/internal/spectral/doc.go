// Package spectral computes frame-wise spectral features of a mono signal
// with a short-time Fourier transform (gonum's dsp/fourier real FFT, Hann
// window), consuming samples block by block so a long input is never held in
// memory.
//
// Per frame (default 2048 samples, hop 512 at 22050 Hz: 93 ms windows every
// 23 ms, the usual music-information-retrieval setting) it reports RMS,
// zero-crossing rate, spectral centroid, bandwidth, 85% rolloff, flatness and
// flux, the dominant frequency (peak bin refined by parabolic interpolation),
// a YIN pitch (f0) estimate for speech (on a 2× decimated copy of the frame
// when the rate allows: f0 lies far below the halved Nyquist frequency, and
// every FFT halves), and the frame's power in Slaney-style
// mel bands (the same filterbank as librosa's default, so figures compare).
// Frames are centred: frame k is centred on sample k*hop, as librosa's
// center=True, so frame times line up with sample times.
//
// Only aggregates are kept: per-window series (default one point per second,
// for the engagement timeline), a downsampled mel spectrogram for plots and
// whole-signal summaries. Callers that need every frame (the rhythm package,
// for instance) receive them through Analyzer.OnFrame.
package spectral
