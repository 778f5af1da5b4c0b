// Package platform is the shared plumbing every clipmesh service uses: its
// sub-packages hold config, logging, telemetry, health, metrics, NATS, the
// blob store, SQL storage and identity, one place for each concern.
package platform
