#!/usr/bin/env bash
# Per-model latency and items/s (batch 1 and batched, 1 and 2 intra-op
# threads), session memory, and whole-pipeline frames/s for each way of
# spending the cores (workers x threads), on the models of the manifest.
#
#   bench/models/run.sh [SECONDS_PER_MEASUREMENT]     (default 1.5)
#
# Needs `clipmesh models fetch` first. Prints Markdown tables.
set -euo pipefail
cd "$(dirname "$0")/../.."
go run ./bench/models -seconds "${1:-1.5}"
