// Package mood infers the visual mood of each scene (calm, energetic,
// tense, joyful, sad) from its colour temperature and saturation,
// brightness, motion, the faces' emotions and the audio energy, and
// returns the evidence behind it.
//
// # Rule table
//
// Each available feature is first centred to [-1, 1] (the "signal"):
//
//	warmth      = clamp((6500 K − colour temperature) / 3500, −1, 1)  (+1 warm/orange, −1 cool/blue)
//	saturation  = 2·saturation − 1      (input in [0, 1])
//	brightness  = 2·brightness − 1      (input in [0, 1], mean luma / 255)
//	motion      = 2·motion − 1          (input in [0, 1], 1 = fast)
//	audio       = 2·audio energy − 1    (input in [0, 1]; see EnergyFromLUFS)
//	happy, sad, tension (angry + fear), surprise, neutral
//	            = 2·probability − 1     (mean face emotion probabilities)
//
// and each mood's score is the sum of coefficient × signal over the
// available features (a missing feature contributes nothing):
//
//	feature      calm  energetic  tense  joyful   sad
//	warmth      -0.25    0.25     -0.5    0.5    -0.5
//	saturation  -0.25    0.5     -0.25    0.75   -0.5
//	brightness    0      0.5      -0.5    0.75   -0.5
//	motion       -1      1         0.5    0.25   -0.25
//	audio        -1      1         0.5    0.25   -0.25
//	happy         0      0         -0.5   1.5    -0.5
//	sad           0     -0.5       0     -0.5     1.5
//	tension       0      0         1.5   -0.5     0
//	surprise      0      0.5       0.5    0       0
//	neutral       0.5    0         0      0       0
//
// Warm light (tungsten, sunset, skin-toned, orange: below 6500 K) leans
// joyful and, less, energetic; cool light (shade, blue hour, bluish
// grading: above 6500 K) leans sad and tense and, less, calm; the signal is
// saturated at 3000 K and 10000 K, so the whole warmth row moves a score by
// at most 0.5. The evidence lists the measured kelvin as the warmth value.
//
// Calm is about stillness and quiet, not darkness: a dark, still, quiet
// scene is calm; sadness needs cool, desaturated, dim images or sad faces.
// The mood is the highest score (ties go to the table's order), and its
// confidence the softmax probability of that score among the five.
package mood
