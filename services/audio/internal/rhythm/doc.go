// Package rhythm finds onsets, tempo, beats and rhythm regularity in a mono
// signal, consuming samples block by block.
//
// Onset strength is log-mel spectral flux: the mean over mel bands of the
// half-wave rectified increase in dB from one frame to the next (rises only,
// so decays do not count as events). It runs on its own STFT (1024-sample
// frames, 256-sample hop at 22050 Hz: one value every 11.6 ms) because onset
// and beat times need a finer hop than the timbre features of the spectral
// package. Only this envelope is kept (~5 MB for two hours); everything else
// is computed from it at Close:
//
//   - onsets: adaptive peak picking (local maximum over 30 ms before, above
//     the moving mean over ±100 ms plus a delta, at least 30 ms apart), as
//     librosa.onset.onset_detect;
//   - tempo: autocorrelation of the smoothed envelope, summed over the
//     first four multiples of each period (a comb, weighted 1/k, so a
//     backbeat whose accents repeat every two beats still reads at the
//     beat) and weighted by a log-Gaussian prior centred on 120 BPM (one octave wide) that settles
//     octave ambiguity towards common tempi, refined by parabolic
//     interpolation, and refined again from the tracked beats;
//   - beats: Ellis's (2007) dynamic programming tracker, which trades onset
//     strength against deviation from the tempo period;
//   - regularity: 1 minus the coefficient of variation of the inter-beat
//     intervals.
//
// An event is timed at the middle of the hop whose new samples produced the
// rise: frame k of a centred STFT first sees samples up to k*hop + size/2, so
// an onset detected in frame k happened in [k*hop + size/2 - hop, k*hop +
// size/2), and we report the middle of that hop (±5.8 ms at the defaults).
package rhythm
