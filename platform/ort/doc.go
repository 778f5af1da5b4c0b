// Package ort is clipmesh's thin wrapper over ONNX Runtime
// (github.com/yalue/onnxruntime_go): it loads the runtime library once per
// process, opens sessions with the thread counts and execution provider a
// deployment asks for, and keeps each session's tensors allocated between
// calls so a model that runs every 32 ms (voice activity) or every frame
// (faces) does not allocate per inference.
//
// The runtime library is the manifest entry "onnxruntime" of package models;
// `clipmesh models fetch` installs it. The model runners built on this
// package live in subpackages, each a small API over plain Go types (image
// in, Go values out; no OpenCV): silero (voice activity), blazeface (faces
// and their keypoints), emotion (facial expression), facemesh (468-point
// mesh and irises: eye openness, gaze, eye contact), faceres (age, gender,
// a descriptor to recognise the same person across shots), nanodet (COCO
// objects and people) and ppocr (on-screen text). Sessions take their threads and
// graph optimisation level from Options or the CLIPMESH_ORT_* variables;
// bench/models measured that one intra-op thread per session, with
// parallelism across sessions, is best on a 2-core machine.
//
// A Session reports the execution provider that really runs it (Provider),
// so results can say what produced them: asking for CUDA on a machine
// without it logs why and runs on the CPU, it never fails or hides it.
package ort
