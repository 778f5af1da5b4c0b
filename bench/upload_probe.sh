#!/usr/bin/env bash
# Upload + probe through the whole mesh (REST multipart → gateway → jobs:
# spool, SHA-256, ffprobe, decode and tail checks, blob store, SQL) beside the
# floor: plain `ffprobe` on the same files, in the same run. Prints the mean
# time of each, their ratio, and the server's peak RSS.
#
#   bench/upload_probe.sh [N_FILES] [SECONDS] [SIZE]     (defaults: 8 60 1280x720)
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-8} secs=${2:-60} size=${3:-1280x720}
work=$(mktemp -d)
trap 'kill $(cat "$work/pid" 2>/dev/null) 2>/dev/null || true; rm -rf "$work"' EXIT
make -s build
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
grpc=$(free_port) http=$(free_port)
bin/clipmesh serve --data-dir "$work/data" --grpc-addr 127.0.0.1:$grpc --http-addr 127.0.0.1:$http --admin-addr= --log-level warn 2>"$work/serve.log" &
echo $! >"$work/pid"
for _ in $(seq 1 200); do curl -sf "127.0.0.1:$http/readyz" >/dev/null && break; sleep 0.05; done

echo "generating $n distinct ${secs}s ${size}p H.264/AAC files..." >&2
for i in $(seq 1 "$n"); do
  ffmpeg -nostdin -v error -y -f lavfi -i "testsrc2=s=$size:r=30:d=$secs" -f lavfi -i "sine=f=$((200 + i * 50)):d=$secs" \
    -vf "drawtext=text='$i':x=10:y=10:fontsize=48:fontcolor=white" -c:v libx264 -preset ultrafast -c:a aac -shortest "$work/in$i.mp4" 2>/dev/null ||
  ffmpeg -nostdin -v error -y -f lavfi -i "testsrc2=s=$size:r=30:d=$secs" -f lavfi -i "sine=f=$((200 + i * 50)):d=$secs" \
    -c:v libx264 -preset ultrafast -c:a aac -shortest "$work/in$i.mp4"
done
bytes=$(du -cb "$work"/in*.mp4 | tail -1 | cut -f1)

now() { date +%s.%N; }
t0=$(now)
for i in $(seq 1 "$n"); do ffprobe -v error -print_format json -show_format -show_streams "$work/in$i.mp4" >/dev/null; done
t1=$(now)
for i in $(seq 1 "$n"); do
  code=$(curl -s -o /dev/null -w '%{http_code}' -F "file=@$work/in$i.mp4" "127.0.0.1:$http/v1/videos")
  [ "$code" = 201 ] || { echo "upload $i: HTTP $code" >&2; exit 1; }
done
t2=$(now)
rss=$(awk '/VmHWM/ {print $2}' "/proc/$(cat "$work/pid")/status")
python3 - "$t0" "$t1" "$t2" "$n" "$bytes" "$rss" <<'PY'
import sys
t0, t1, t2, n, size, rss = map(float, sys.argv[1:])
ff, cm = (t1 - t0) / n, (t2 - t1) / n
print(f"files: {int(n)} x {size/n/1e6:.1f} MB")
print(f"ffprobe alone (floor):      {ff*1000:8.1f} ms/file")
print(f"clipmesh upload+probe REST: {cm*1000:8.1f} ms/file  ({size/n/cm/1e6:.0f} MB/s)")
print(f"ratio clipmesh/ffprobe:     {cm/ff:8.1f}x")
print(f"server peak RSS:            {rss/1024:8.1f} MiB")
PY
