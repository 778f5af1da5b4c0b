// Package e2e holds clipmesh's end-to-end tests: they build the real
// clipmesh binary once (TestMain runs `go build ./cmd/clipmesh` from the
// repository root) and drive it as separate processes, the way a user or a
// deployment does.
//
// What they cover:
//
//   - `clipmesh serve` on free loopback ports: readiness, graceful shutdown
//     on SIGTERM (exit 0 within the shutdown timeout), gRPC reflection listing
//     every service, /healthz, /readyz, /metrics, /openapi.json and pprof on
//     the admin port.
//   - The REST gateway: a streamed multipart upload of a generated fixture
//     video, idempotent re-upload, reading the probe back over REST and gRPC,
//     bad media answered 400 without losing what is stored, jobs (POST
//     /v1/jobs and the seed path /analyze/advanced) followed to success by
//     polling and by the newline-delimited :watch stream.
//   - `clipmesh analyze`, against a running server and with the mesh started
//     in its own process.
//   - API keys: `clipmesh keys create`, a server bound beyond loopback that
//     requires keys over REST and gRPC and keeps tenants apart, and the
//     refusal to bind beyond loopback with no key at all.
//   - `clipmesh version`.
//
// The tests need ffmpeg and ffprobe (the fixtures are generated with them,
// and the server probes uploads with ffprobe) and run on Unix only: each
// child process gets its own process group so a failed test kills all of it.
// They are slow by unit-test standards (10-20 s with a warm build cache), so
// `go test -short` skips them, and then nothing is built.
//
// Run them with:
//
//	go test -race -count=1 ./e2e/
package e2e
