// Package gateway is clipmesh's REST/JSON front: one http.Handler that
// translates HTTP to gRPC for every service of the mesh.
//
// It is a library, not a program, because two binaries serve it: the
// all-in-one clipmesh binary points it at its own gRPC port over loopback,
// and the standalone gateway points it at the mesh. Both pass New a
// grpc.ClientConnInterface, so the gateway never knows where services run.
//
// What it serves:
//
//   - Every google.api.http binding of the protos, through a grpc-gateway
//     runtime.ServeMux. JSON is protojson with lowerCamel field names (the
//     names the OpenAPI document uses) and without zero-valued fields; unknown
//     input fields are ignored so that an older server accepts a newer
//     client's request (deploy skew). Errors keep grpc-gateway's shape
//     {"code":..,"message":..,"details":[]} and its standard gRPC→HTTP status
//     table, always with every field present so clients can rely on it.
//   - POST /v1/videos, a multipart upload (field "file") streamed part by part
//     to VideoService.Upload in 1 MiB chunks. It is hand-written because a
//     client-streaming RPC has no JSON mapping, and a video of several GiB
//     must never sit in memory or on the gateway's disk.
//   - GET /v1/jobs/{job_id}:watch and /v1/batches/{batch_id}:watch as
//     Server-Sent Events when the client sends Accept: text/event-stream
//     (sse.go); without it the generated newline-delimited JSON binding
//     answers, as before.
//   - GET /v1/collaborate and the seed's /collaborate, a WebSocket carrying
//     CollabService.Session, JSON frames both ways (collab.go). The user is
//     the authenticated caller; a user_id in a frame is ignored.
//   - GET /openapi.json, the merged OpenAPI v2 document (package openapi).
//
// Headers become gRPC metadata the services read: Authorization as
// "authorization" (the API key the platform/auth package checks),
// Idempotency-Key as "idempotency-key" and X-Request-Id as "x-request-id".
// No other client header can set an unprefixed metadata key, so a client
// cannot forge the keys the mesh trusts between its own services.
// On the routes browsers open without headers (the :watch streams and the
// WebSocket), ?access_token= is moved into Authorization before anything
// else sees the request, and stripped from the URL.
//
// Around the mux: request body limits (a JSON body is small; an upload has
// its own, larger limit; an oversize upload is 400 like any bad file, any other
// oversize body 413, both naming the limit), CORS when
// origins are configured, a recover that logs a panic and answers 500
// "internal error", and OpenTelemetry (otelhttp), whose span is named after
// the matched route, e.g. "GET /v1/videos/{video_id}".
package gateway
