// Package facemesh runs MediaPipe's face mesh (468 points) and iris models
// (manifest entries "human-facemesh" and "human-iris", converted from TF.js
// to ONNX by `clipmesh models fetch`) on a face found by a detector, and
// turns the eye points into what editing needs: how open each eye is and
// whether the person looks at the camera.
//
//	m, err := facemesh.New(meshPath, irisPath, ort.Options{})
//	res, err := m.Analyze(frame, faceBox) // a BlazeFace box
//	res.Presence          // is there a face at all (filters detector false positives)
//	res.Right.Openness    // lid gap / eye width: ~0.3 open, < 0.1 closed
//	res.EyeContact        // frontal head and both irises centred
//
// The mesh sees a square 1.5 times the detector's box; each eye is cropped
// around the mesh's eye corners for the iris model (both eyes in one
// batch, the left one mirrored).
package facemesh
