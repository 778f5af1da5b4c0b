// Package nanodet runs the NanoDet-m object detector (COCO, 80 classes;
// manifest entry "human-nanodet", converted from TF.js to ONNX by
// `clipmesh models fetch`) on Go images: people and objects with boxes, so
// reframing can follow a person when no face is visible.
//
//	d, err := nanodet.New(path, ort.Options{})
//	objs, err := d.Detect(frame) // best first, boxes in frame pixels
//	for _, o := range objs { if o.Class == nanodet.Person { ... } }
//
// The frame is stretched to 416x416 and normalised as NanoDet was trained
// (BGR, ImageNet-style mean and std in 0..255); boxes are decoded from the
// 11-bin distance distributions of the three strides (8, 16, 32) and
// filtered by per-class non-maximum suppression.
package nanodet
