#!/usr/bin/env bash
# Batch throughput of the whole pipeline (probe → audio track → vision ∥
# audio ∥ transcribe → nlp → analytics → clips) on this machine: N distinct
# one-minute videos with speech, submitted as one batch of media-root paths
# to `clipmesh serve`, beside the floor in the same run (ffmpeg decoding the
# same files once, all of them, on the same cores) and the seed's claim
# (10 videos/minute, under 2 GB per video).
#
# Prints videos/minute, the ratio to ffmpeg's decode, the peak RSS of the
# server with its child processes (sampled every 200 ms), the most jobs in
# flight at once, and that peak divided by them; and each stage's outcome
# counts, so a stage skipped because its service is missing shows.
#
#   bench/batch/run.sh [N_VIDEOS] [SECONDS] [WORKERS] [SIZE]   (defaults: 20 60 2 1280x720)
set -euo pipefail
cd "$(dirname "$0")/../.."
n=${1:-20} secs=${2:-60} workers=${3:-2} size=${4:-1280x720}
work=$(mktemp -d)
trap 'kill $(cat "$work/pid" 2>/dev/null) 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT
make -s build
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

mkdir -p "$work/media"
echo "generating $n distinct ${secs}s ${size} H.264/AAC videos with speech..." >&2
lines=(
  "Welcome back to the channel. Today we test a new camera in the mountains."
  "This is the most important part of the video, so please stay until the end."
  "The weather changed quickly, and the light was beautiful for a few minutes."
  "Here is a simple trick that saves you hours of editing every single week."
  "We measured everything twice, and the results surprised the whole team."
)
for i in $(seq 1 "$n"); do
  espeak-ng -w "$work/s$i.wav" -s $((140 + i % 5 * 10)) "${lines[$((i % 5))]} ${lines[$(((i + 2) % 5))]} Video number $i." 2>/dev/null
  # Scene changes every 12 s (hue jumps), a moving box, speech looped under
  # a quiet tone: enough for every modality to find something.
  ffmpeg -nostdin -v error -y -f lavfi -i "testsrc2=s=$size:r=30:d=$secs" \
    -stream_loop -1 -i "$work/s$i.wav" -f lavfi -i "sine=f=$((180 + i * 20)):d=$secs" \
    -filter_complex "[0:v]hue=h='$((i * 17)) + 60*floor(t/12)',drawbox=x='mod(t*80,iw-120)':y=200:w=120:h=120:color=red@0.8:t=fill[v];[1:a][2:a]amix=inputs=2:weights=1 0.1,aresample=44100[a]" \
    -map "[v]" -map "[a]" -t "$secs" -c:v libx264 -preset veryfast -pix_fmt yuv420p -c:a aac -b:a 96k "$work/media/v$i.mp4"
done

now() { date +%s.%N; }
echo "floor: ffmpeg decoding every file, $workers at a time..." >&2
f0=$(now)
ls "$work"/media/*.mp4 | xargs -P "$workers" -I{} ffmpeg -nostdin -v error -i {} -f null - 
f1=$(now)

grpc=$(free_port) http=$(free_port)
bin/clipmesh serve --data-dir "$work/data" --grpc-addr 127.0.0.1:$grpc --http-addr 127.0.0.1:$http --admin-addr= \
  --log-level warn --jobs-workers "$workers" --jobs-media-root "$work/media" --jobs-cache off 2>"$work/serve.log" &
echo $! >"$work/pid"
for _ in $(seq 1 600); do curl -sf "127.0.0.1:$http/readyz" >/dev/null && break; sleep 0.1; done
curl -sf "127.0.0.1:$http/readyz" >/dev/null || { echo "server not ready:" >&2; tail -20 "$work/serve.log" >&2; exit 1; }

items=$(python3 -c "import json,sys; print(json.dumps({'items':[{'path':f'v{i}.mp4'} for i in range(1,int(sys.argv[1])+1)], 'options': {'language':'en','includeThumbnails':True,'clips':{'count':2,'aspectRatios':['9:16']}}}))" "$n")
t0=$(now)
batch=$(curl -sf -X POST -H 'content-type: application/json' -d "$items" "127.0.0.1:$http/v1/batches")
id=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["batch"]["id"])' <<<"$batch")
echo "batch $id submitted; sampling RSS until it is done..." >&2
/usr/bin/python3 - "$(cat "$work/pid")" "127.0.0.1:$http" "$id" "$t0" "$n" "$secs" "$f0" "$f1" "$workers" <<'PY'
import json, os, sys, time, urllib.request
pid, addr, bid, t0, n, secs, f0, f1, workers = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4]), int(sys.argv[5]), float(sys.argv[6]), float(sys.argv[7]), float(sys.argv[8]), int(sys.argv[9])

def tree(root):
    kids = {}
    for p in os.listdir("/proc"):
        if p.isdigit():
            try:
                with open(f"/proc/{p}/stat") as f:
                    ppid = f.read().rsplit(")", 1)[1].split()[1]
                kids.setdefault(ppid, []).append(p)
            except OSError:
                pass
    out, todo = [], [root]
    while todo:
        p = todo.pop()
        out.append(p)
        todo += kids.get(p, [])
    return out

def rss(p):
    try:
        with open(f"/proc/{p}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0

peak, peak_inflight, peak_per_job, last = 0, 0, 0, 0
batch = None
while True:
    total = sum(rss(p) for p in tree(pid))
    if time.time() - last > 1:
        with urllib.request.urlopen(f"http://{addr}/v1/batches/{bid}") as r:
            batch = json.load(r)["batch"]
        last = time.time()
    running = batch.get("counts", {}).get("JOB_STATE_RUNNING", 0)
    peak = max(peak, total)
    peak_inflight = max(peak_inflight, running)
    if running:
        peak_per_job = max(peak_per_job, total / running)
    if batch.get("done"):
        break
    time.sleep(0.2)
t1 = time.time()
stages = {}
for jid in batch["jobIds"]:
    with urllib.request.urlopen(f"http://{addr}/v1/jobs/{jid}") as r:
        job = json.load(r)["job"]
    for s in job.get("stages", []):
        k = (s["name"], s["state"].replace("STAGE_STATE_", "").lower())
        stages.setdefault(k, []).append(s.get("reason", ""))
wall = t1 - t0
vpm = n / (wall / 60)
floor = n / ((f1 - f0) / 60)
print(f"videos: {n} x {secs:.0f} s, {workers} workers, {os.cpu_count()} CPUs")
print(f"jobs by state:               {batch['counts']}")
print(f"wall time:                   {wall:8.1f} s")
print(f"throughput:                  {vpm:8.2f} videos/min   (seed claims 10; ratio {vpm/10:.2f})")
print(f"floor, ffmpeg decode only:   {floor:8.2f} videos/min   (pipeline/floor {vpm/floor:.3f})")
print(f"peak RSS, server + children: {peak/2**20:8.0f} MiB")
print(f"most jobs in flight:         {peak_inflight:8d}")
print(f"peak RSS per job in flight:  {peak_per_job/2**20:8.0f} MiB      (seed claims < 2048 MiB per video)")
print("stage outcomes:")
for (name, state), reasons in sorted(stages.items()):
    why = sorted(set(r for r in reasons if r))
    print(f"  {name:14s} {state:8s} {len(reasons):3d}" + (f"   {why[0][:90]}" if why else ""))
PY
