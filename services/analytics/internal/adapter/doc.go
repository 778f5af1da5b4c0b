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
//     and largest_face_fraction → faces and face size, and the face tracks'
//     eyes_visible_fraction (both eyes inside a frontal box) → eye contact,
//     only when the face detector ran (its producer is not a fallback);
//     the scene starts after the first → cut rhythm; per second
//     (clamp(log10(1+sharpness)/3) + clamp(contrast/0.3) +
//     clamp(colorfulness/100)) / 3 → visual quality. Vision reports no
//     facial emotions, so face_emotion stays missing.
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
// scene's sound): brightness is the mean luma, saturation
// clamp(colorfulness/110) (Hasler and Süsstrunk call 109 "extremely
// colourful"), motion 1 − e^(−√energy / 0.05) (√energy is the RMS flow
// speed in frame widths per second: a subject crossing a small part of the
// frame is ~0.02, a fast pan 0.3 or more), and audio energy
// mood.EnergyFromLUFS of the energy-mean RMS level of the scene's seconds.
// Vision measures no colour temperature, so warmth is never evidence.
package adapter
