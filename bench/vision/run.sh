#!/usr/bin/env bash
# Vision analysis of a 1-minute 720p30 H.264 fixture with known hard cuts,
# in the same run as its peers on the same file:
#   - `ffmpeg -f null` decode of the file (the floor),
#   - clipmesh's whole vision analysis (scenes, motion, quality, subject,
#     faces + eye cascade, thumbnails) as a multiple of real time and of the
#     floor, with peak RSS,
#   - cut detection alone: clipmesh's detector beside ffmpeg's scene filter
#     (select='gt(scene,T)'), time and F1 against the known cuts (±1 frame).
# PySceneDetect is not compared: python3-scenedetect is not in Debian 12.
#
#   bench/vision/run.sh            (the fixture is cached in ~/.cache/clipmesh/bench)
set -euo pipefail
cd "$(dirname "$0")/../.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for tool in ffmpeg /usr/bin/time /usr/bin/python3; do
  command -v "$tool" >/dev/null || { echo "missing $tool" >&2; exit 1; }
done
cache=${XDG_CACHE_HOME:-$HOME/.cache}/clipmesh/bench
mkdir -p "$cache"
fixture=$cache/vision-720p30-v1.mp4
truth=$cache/vision-720p30-v1.json
if [ ! -s "$fixture" ] || [ ! -s "$truth" ]; then
  echo "generating the 60 s 720p30 fixture (once)..." >&2
  /usr/bin/python3 bench/vision/fixture.py "$fixture.tmp.mp4" "$truth"
  mv "$fixture.tmp.mp4" "$fixture"
fi
(cd services/vision && go build -o "$work/visionanalyze" ./cmd/visionanalyze)
/usr/bin/python3 bench/vision/bench.py "$work" "$work/visionanalyze" "$fixture" "$truth"
