// Package moments finds candidate clips in a video and ranks them for
// virality.
//
// # Candidates
//
// A candidate starts at a boundary start (a sentence start, a scene cut or
// 0) and ends at a boundary end (a sentence end, a scene cut or the end of
// the video), and lasts between Options.MinLength and Options.MaxLength
// (15–60 s by default). Without sentences or cuts, a 5 s grid stands in
// for the boundaries so a video without transcript or scenes still gets
// moments.
//
// # Score
//
// Each candidate gets five features in [0, 1], combined with
// Options.Weights (defaults in parentheses) into a score in [0, 1]:
//
//   - hook (0.30): how strongly the first Options.HookSeconds (3 s) grab:
//     the mean engagement over them, averaged with the strongest hook
//     phrase over them when Input.Hooks is given.
//   - completeness (0.20): 0.5 when the candidate starts at a sentence
//     start, plus 0.5 when it ends at a sentence end, so a whole thought
//     scores 1. A start is at a sentence start when one begins within
//     Options.Tolerance (0.25 s) before it or Options.Lead (1 s) after it
//     and the start cuts through no sentence (a cut in the pause before a
//     sentence keeps the thought whole); an end likewise, mirrored.
//   - peak (0.15): the highest engagement inside.
//   - mean (0.25): the mean engagement inside.
//   - pacing (0.10): 1 minus the longest dead stretch (no sentence and no
//     cut) over the candidate's length; without sentences only the cuts
//     break the dead stretch.
//
// Engagement is min-max rescaled over the whole video first, so the
// features use the range of the video's own scores. The ranking is greedy:
// candidates sorted by score (ties: earlier start, then shorter), each
// kept when it overlaps none already kept, until Options.TopN.
package moments
