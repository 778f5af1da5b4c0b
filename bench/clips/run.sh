#!/usr/bin/env bash
# Render speed of a 30 s 9:16 captioned clip from a 720p source (the whole
# Render: ffprobe, one ffmpeg run with the reframing crop, burned-in word
# captions, H.264/AAC at the tiktok preset, thumbnail) as a multiple of real
# time, beside a plain ffmpeg cut-and-scale of the same range with the same
# encoder settings (the floor), interleaved in the same run. Two clips: one
# whose crop follows a moving subject (panning), one with a still crop.
# Prints each as × real time and the ratios to the floor by wall clock and
# by CPU time of the child processes (the steadier figure on a shared
# machine). Goal: ratio <= 1.3.
#
#   bench/clips/run.sh [ITERATIONS]      (default 3)
set -euo pipefail
cd "$(dirname "$0")/../../services/clips"
n=${1:-3}
command -v ffmpeg >/dev/null || { echo "missing ffmpeg (make deps)" >&2; exit 1; }
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) CPUs"
out=$(go test -run '^$' -bench RenderVsFloor -benchtime "${n}x" -timeout 60m ./internal/render)
echo "load average after:  $(cut -d' ' -f1-3 /proc/loadavg)"
line=$(grep '^BenchmarkRenderVsFloor' <<<"$out")
metric() { awk -v m="$1" '{for (i = 2; i < NF; i++) if ($(i+1) == m) print $i}' <<<"$line"; }
printf '%-34s %8s\n' "floor (ffmpeg cut + scale)" "$(metric x-realtime-floor)x real time"
printf '%-34s %8s\n' "clip, moving crop + captions" "$(metric x-realtime-clip)x real time"
printf '%-34s %8s\n' "clip, still crop + captions" "$(metric x-realtime-stillclip)x real time"
printf 'ratio to the floor, moving crop:   wall %s  cpu %s   (goal <= 1.3)\n' "$(metric ratio)" "$(metric ratio-cpu)"
printf 'ratio to the floor, still crop:    wall %s  cpu %s\n' "$(metric ratio-still)" "$(metric ratio-still-cpu)"
