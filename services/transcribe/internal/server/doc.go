// Package server is the gRPC face of the transcribe service: it resolves a
// request's media (platform/mediasrc), decodes it (media), finds speech
// (vad), runs the recognizer (engine), identifies the language of the text
// when the engine cannot, stores transcripts (store), renders them
// (captions) and aligns uploaded subtitles (align); it maps domain errors
// to gRPC codes in one place (toStatus).
package server
