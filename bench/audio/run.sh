#!/usr/bin/env bash
# Audio analysis of SECONDS of synthetic drums at BPM (known hit times) as a
# multiple of real time, beside `aubio tempo`, `aubio onset` and ffmpeg's
# ebur128 on the same file in the same run; tempo, beat and onset agreement
# with the truth for clipmesh and aubio; peak RSS of each process.
#
#   bench/audio/run.sh [SECONDS] [BPM]      (defaults: 600 124)
set -euo pipefail
cd "$(dirname "$0")/../.."
secs=${1:-600} bpm=${2:-124}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for tool in aubio ffmpeg /usr/bin/time; do
  command -v "$tool" >/dev/null || { echo "missing $tool (make deps installs aubio-tools, ffmpeg, time)" >&2; exit 1; }
done
(cd services/audio && go build -o "$work/audioanalyze" ./cmd/audioanalyze)
/usr/bin/python3 bench/audio/bench.py "$work" "$work/audioanalyze" "$secs" "$bpm"
