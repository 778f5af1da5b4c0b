// Package adapter converts between the analytics protos and the domain
// packages: the modality results of a FuseRequest (video probe, vision,
// audio, transcript, text analysis) become the inputs of package
// engagement, moments, mood and summary, and their results become the
// FuseResponse and the GetDetailedResponse.
//
// # From the modalities
//
//   - Audio (when has_audio and a per-second series): rms_dbfs → loudness
//     and its change; speech_probability → speech presence; pitch_hz and
//     onset_strength → excitement; the loud-burst, loudness-jump and
//     applause/laughter events → audio events.
//   - Vision (when it has per-second stats): motion_energy → motion; faces
//     and largest_face_fraction → faces and face size, only when the face
//     detector ran (its producer is not a fallback); eye contact per second
//     is the share of a face's sampled detections the face mesh saw looking
//     at the camera (the highest over the faces), or, for a track without
//     mesh samples, its eyes_visible_fraction (both eye keypoints inside a
//     frontal box) over its range; face emotion per second is the highest
//     probability of a non-neutral expression among the sampled detections
//     (missing when no detection carries an expression); the scene starts
//     after the first → cut rhythm; per second
//     (clamp(log10(1+sharpness)/3) + clamp(contrast/0.3) +
//     clamp(colorfulness/100)) / 3 → visual quality.
//   - Transcript: the words (segments without word times spread their
//     words evenly) → speech rate (and speech presence without audio); the
//     segments are the sentences moments align to.
//   - Text analysis: per segment max(|compound|, emotion intensity) →
//     sentiment; the segment hook scores → hooks (and the hook feature of
//     moments); segment topics → topics.
//
// # Scene mood
//
// Each vision scene (or, without scenes, the whole video) becomes a
// mood.Scene from the seconds wholly inside it after the one it starts in
// (the second holding a cut carries the flow across the cut and the other
// scene's sound): colour temperature is the scene's own (vision pools the
// light of exactly the scene's sampled frames, so a cut second does not
// matter; the whole video's mean without scenes), or, when vision gave none,
// the mean of those seconds' temperatures (0 means unmeasured and is
// skipped); brightness is the mean luma, saturation
// clamp(colorfulness/110) (Hasler and Süsstrunk call 109 "extremely
// colourful"), motion 1 − e^(−√energy / 0.05) (√energy is the RMS flow
// speed in frame widths per second: a subject crossing a small part of the
// frame is ~0.02, a fast pan 0.3 or more), and audio energy
// mood.EnergyFromLUFS of the energy-mean RMS level of the scene's seconds,
// and the faces' emotions the mean expression probabilities of the face
// tracks overlapping the scene, weighted by their detections (disgust counts
// with anger as tension). A scene without a measured colour temperature
// (e.g. all black or clipped, or an older vision result) has no warmth
// evidence.
//
// # Emotions
//
// The detailed emotions come from the faces (the same weighted mean over
// every track), the words (nlp's whole-text distribution) and the scene
// moods (weighted by scene length); the dominant one is the first source
// available in that order.
package adapter
