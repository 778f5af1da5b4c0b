// Package faceres runs the HSE FaceRes face description model (manifest
// entry "human-faceres", converted from TF.js to ONNX by `clipmesh models
// fetch`): for each face crop an estimated age, a gender score and a
// 1024-value descriptor, whose cosine similarity tells whether two faces
// (in two shots) are the same person.
//
//	d, err := faceres.New(path, ort.Options{})
//	faces, err := d.Describe(frame, []image.Rectangle{faceBox}) // BlazeFace boxes
//	same := faceres.Similarity(faces[0].Descriptor, other) > faceres.SamePerson
//
// Crops are scaled to 224x224, RGB in 0..255, as human feeds the model; all
// faces of one call run as one batch.
package faceres
