// Package server is the audio service's gRPC adapter: it resolves the
// media of an AnalyzeAudio request (through VideoService.GetVideo, which
// also checks the caller's tenant), makes it a local file
// (blobstore.Materialize), runs the domain analysis (internal/analyze) with
// progress streamed to the caller, converts the result to its contract and
// maps domain errors to gRPC codes in one place (toStatus).
package server
