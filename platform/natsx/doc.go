// Package natsx is the one NATS connection every clipmesh service uses.
//
// Events (scene boundaries, job progress, collaboration edits) travel over core
// NATS, and work that must survive a crash (jobs, batch items, renders) goes
// through JetStream with acks and redelivery. Both need the same thing from the
// process: one connection, configured once, that either joins an external NATS
// deployment or, for the all-in-one binary and for tests, runs its own
// nats-server with JetStream inside the process. Keeping that choice here means
// service code never knows which one it got; it only sees a *nats.Conn and a
// jetstream.JetStream.
//
// Embedded mode runs nats-server without a socket by default
// (server.Options.DontListen with nats.InProcessServer), so a local run opens
// no ports and needs no free port; Options.ListenAddr opens a TCP listener only
// when separately run services must join the all-in-one's NATS.
//
// Messages are protobuf, and the helpers Publish, PublishJS and ContextFrom carry
// the OpenTelemetry trace context in NATS headers, so a trace that starts at the
// gateway continues through every consumer of an event.
package natsx
