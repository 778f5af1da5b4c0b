// Package faces finds faces with BlazeFace (platform/ort/blazeface, the
// full-range "blazeface-back" model) on sampled frames and follows them
// across frames with greedy IoU matching into tracks. Tracks are cut at
// scene boundaries afterwards (Tracker.Finish), since the scene detector
// only decides at the end of the stream.
//
// Eyes are "visible" when both eye keypoints of a detection lie inside its
// box; the Haar eye cascade, eye contact and emotion are not done yet.
package faces
