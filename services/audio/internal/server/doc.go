// Package server is the audio service's gRPC adapter: it resolves the
// media of an AnalyzeAudio request to a local file (platform/mediasrc:
// VideoService.GetVideo checks the caller's tenant, and an audio track
// passed by reference must be derived from that video), runs the domain analysis (internal/analyze) with
// progress streamed to the caller, converts the result to its contract and
// maps domain errors to gRPC codes in one place (toStatus).
package server
