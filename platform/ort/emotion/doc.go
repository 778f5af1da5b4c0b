// Package emotion runs the mini-Xception facial expression model (FER2013,
// manifest entry "human-emotion", converted from TF.js to ONNX by
// `clipmesh models fetch`): a face crop in, the probabilities of seven
// expressions out.
//
//	path, err := models.Path(dir, emotion.ModelName)
//	c, err := emotion.New(path, ort.Options{})
//	scores, err := c.Classify(frame, []image.Rectangle{faceBox}) // BlazeFace boxes
//	top, p := scores[0].Top() // emotion.Happy, 0.99
//
// The crop is turned grey (ITU-R 601 weights) and scaled to 64x64 and
// [-1, 1] as the model was trained; all faces of one call run as one batch.
package emotion
