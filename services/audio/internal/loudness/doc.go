// Package loudness measures loudness as EBU R128 defines it (ITU-R
// BS.1770-4 and EBU Tech 3341/3342), plus the level statistics the
// engagement timeline uses: dynamic range, crest factor and an SNR estimate.
// It consumes interleaved samples block by block and keeps only two energy values
// (K-weighted and plain) per 100 ms, so two hours cost ~1.2 MB.
//
//   - K-weighting: the two BS.1770 biquads (high shelf + RLB high-pass),
//     with coefficients derived from their analogue prototypes for the
//     actual sample rate (the libebur128 method), so any rate is measured
//     correctly, not only 48 kHz.
//   - Integrated loudness: 400 ms blocks with 75% overlap, absolute gate at
//     -70 LUFS, relative gate 10 LU below the mean of the blocks above it.
//   - Short-term loudness: 3 s windows every 100 ms.
//   - Loudness range (LRA, Tech 3342): short-term values gated at -70 LUFS
//     and 20 LU below their mean, 95th minus 10th percentile.
//   - True peak: 4x oversampling through a 48-tap polyphase FIR (BS.1770-4
//     Annex 2's structure; our own Kaiser-windowed sinc), maximum of the
//     interpolated and the original samples, per channel. A 32-sample chunk
//     whose samples (and the previous chunk's) are too small for any
//     interpolated value to beat the peak so far skips the filter: exact,
//     and most of the signal once the loudest passage has been met.
//   - Dynamic range: the 95th minus the 5th percentile of short-term
//     loudness above the absolute gate (how far loud passages stand above
//     quiet ones, in LU); the crest factor (true peak over RMS) is reported
//     beside it.
//   - SNR: mean power of the active 100 ms blocks over the noise floor,
//     the mean power of the quietest 10% of blocks.
//
// Channels: mono, stereo and 5.1 are measured per channel and summed with
// BS.1770's weights (LFE excluded, surrounds +1.5 dB), as ffmpeg's ebur128
// does; the decoder remixes other layouts to one of these. A mono downmix
// of a stereo source whose channels are equal would read 3 LU low. A
// silent or empty input gives the floors below, never
// NaN or Inf.
package loudness
