#!/usr/bin/env bash
# Collaboration edit-to-delivery latency (p50/p99/max) with 10, 100 and 1000
# concurrent WebSocket clients on loopback, against core NATS fan-out to the
# same number of subscribers as the peer, and the ops/s one project
# sustains. Two collab replicas and two gateways share one SQLite database
# and one embedded NATS (see main.go).
#
#   bench/collab/run.sh [EDITS] [INTERVAL]     (default 200 edits, every 50ms)
#
# More flags: go run ./bench/collab -h (e.g. -db postgres://… for PostgreSQL).
set -euo pipefail
cd "$(dirname "$0")/../.."
go run ./bench/collab -clients 10,100,1000 -edits "${1:-200}" -interval "${2:-50ms}"
