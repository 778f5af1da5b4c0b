// Package server is the gRPC adapter of VisionService: it resolves a video
// id through the jobs service's VideoService, materializes the stored
// original, runs package analysis, streams progress as a fraction of
// frames, publishes each scene boundary on NATS (clipmesh.vision.v1.scene,
// SceneDetected, once the scene detector has decided: at the end of the
// decode), stores scene thumbnails in the blob store and converts the
// result. toStatus is its one error mapping.
package server
