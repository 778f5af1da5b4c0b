// Package blazeface runs MediaPipe's BlazeFace face detectors (manifest
// entries "blazeface-front", 128x128 for faces near the camera, and
// "blazeface-back", 256x256 for smaller faces) on images, and decodes their
// raw outputs as MediaPipe does: SSD anchors, sigmoid scores, a score
// threshold and weighted non-maximum suppression.
package blazeface
