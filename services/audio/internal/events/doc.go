// Package events turns the per-second and per-100 ms measurements of an
// analysis into a segmentation of the timeline and engagement cues. Every
// rule is a fixed threshold on a measured quantity, so results are
// reproducible and explainable.
//
// Segmentation, one label per second of audio, consecutive equal labels
// merged (the last second may be partial):
//
//  1. silence: the second's RMS level is below SilenceDB (-50 dBFS);
//  2. speech: otherwise, when its mean voice-activity probability is at
//     least 0.5 (Silero's threshold; the energy fallback's pseudo-probability
//     when the model is missing);
//  3. music: otherwise, when it is tonal (mean spectral flatness below
//     MusicFlatness, 0.15: harmonic sound, not noise), or when the whole
//     input is rhythmic (tempo confidence at least 0.3 and rhythm regularity
//     at least 0.7) and the second holds an onset;
//  4. noise: anything else.
//
// Cues:
//
//   - loud burst: a run of 100 ms blocks each at least BurstDB (12 dB)
//     above the median of the 3 s before the run and above -35 dBFS, at
//     most 3 s long; strength is the largest excess / 30 dB;
//   - loudness jump: the median level of the next 1 s differs from the
//     median of the previous 2 s by at least JumpDB (10 dB), one of the two
//     above -40 dBFS; of the changes within 2 s of each other, the one with
//     the largest change of mean level (1 s after vs 2 s before) is kept;
//     strength is |change| / 30 dB; the event spans the next second; value
//     is the signed change;
//   - applause/laughter-like: a run of seconds that are broadband noise
//     (flatness at least 0.3), not quiet (at least -40 dBFS) and dense in
//     onsets (at least 3 per second); strength is
//     min(1, flatness/0.6) * min(1, onsets per second / 8).
//
// Strengths are clamped to [0, 1].
package events
