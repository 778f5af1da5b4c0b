#!/usr/bin/env bash
# Speech recognition of SECONDS of real speech (the five LibriVox clips of
# pocketsphinx-testdata and the JFK sample, repeated with 1 s pauses) as a
# real-time factor, beside Debian's pocketsphinx_continuous (its defaults)
# on the same file in the same run: clipmesh with chunk parallelism on (one
# decoder per core) and off (one decoder), with Silero chunks (the service's
# way) and energy pauses; WER of each against the repeated references
# (scored by sclite, normalised by the repo's code); peak RSS of each
# process (/usr/bin/time).
#
#   bench/transcribe/run.sh [SECONDS]      (default 600)
set -euo pipefail
cd "$(dirname "$0")/../.."
secs=${1:-600}
lib=/usr/share/pocketsphinx/test/data/librivox
sclite=/usr/lib/sctk/bin/sclite
for f in "$sclite" "$lib/transcription" /usr/bin/pocketsphinx_continuous /usr/bin/time /usr/bin/python3; do
  [ -e "$f" ] || { echo "missing $f (make deps installs sctk, pocketsphinx, pocketsphinx-testdata, time)" >&2; exit 1; }
done
jfk=$(ls "${CLIPMESH_MODELS_DIR:-$HOME/.cache/clipmesh/models}"/jfk-sample/jfk.wav)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd services/transcribe && go build -o "$work/tf" ./cmd/transcribefile)

# The long file and its reference.
/usr/bin/python3 - "$lib" "$jfk" "$secs" "$work" <<'PY'
import re, sys, wave
lib, jfk, secs, work = sys.argv[1], sys.argv[2], float(sys.argv[3]), sys.argv[4]
clips = []
for line in open(lib + "/transcription"):
    m = re.match(r"^(.*)\(([^()]+)\)\s*$", line)
    if m:
        clips.append((lib + "/" + m.group(2) + ".wav", re.sub(r"</?s>", "", m.group(1)).strip()))
clips.append((jfk, "And so, my fellow Americans, ask not what your country can do for you, ask what you can do for your country."))
pcm = {p: wave.open(p).readframes(10**9) for p, _ in clips}
pause = b"\0\0" * 16000
out, ref = b"", []
while len(out) < secs * 32000:
    for p, text in clips:
        out += pcm[p] + pause
        ref.append(text)
w = wave.open(work + "/speech.wav", "wb")
w.setnchannels(1); w.setsampwidth(2); w.setframerate(16000); w.writeframes(out)
w.close()
open(work + "/ref.tsv", "w").write("bench-1\t" + " ".join(ref) + "\n")
print("audio: %.1f s (%d utterances)" % (len(out) / 32000, len(ref)))
PY
"$work/tf" -normalize <"$work/ref.tsv" >"$work/ref.trn"
audio=$(/usr/bin/python3 -c "import wave,sys; w=wave.open(sys.argv[1]); print(w.getnframes()/w.getframerate())" "$work/speech.wav")

# measure NAME CMD...: wall seconds, CPU seconds, peak RSS; stdout to NAME.out
measure() {
  local name=$1; shift
  /usr/bin/time -f '%e %U %S %M' -o "$work/$name.time" "$@" >"$work/$name.out" 2>"$work/$name.err"
}
echo "cores: $(nproc); load before: $(cut -d' ' -f1-3 /proc/loadavg)"
measure baseline pocketsphinx_continuous -infile "$work/speech.wav" -logfn /dev/null
measure vad-par "$work/tf" -trn bench-1 "$work/speech.wav"
measure vad-seq "$work/tf" -parallel 1 -trn bench-1 "$work/speech.wav"
measure energy-par "$work/tf" -vad=false -trn bench-1 "$work/speech.wav"
printf 'bench-1\t%s\n' "$(tr '\n' ' ' <"$work/baseline.out")" | "$work/tf" -normalize >"$work/baseline.trn"
for n in vad-par vad-seq energy-par; do cp "$work/$n.out" "$work/$n.trn"; done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"

printf '%-12s %8s %8s %8s %9s %8s %10s\n' run wall_s cpu_s RTF rss_MB WER vs_baseline
read -r bwall _ < "$work/baseline.time"
for n in baseline vad-par vad-seq energy-par; do
  read -r wall user sys rss < "$work/$n.time"
  werr=$("$sclite" -r "$work/ref.trn" trn -h "$work/$n.trn" trn "$n" -i spu_id -o sum stdout | awk -F'|' '/Sum\/Avg/ {split($4, a, " "); print a[5]/100}')
  /usr/bin/python3 -c "import sys; w,u,s,r,b,a,e=map(float,sys.argv[2:9]); print('%-12s %8.1f %8.1f %8.3f %9.0f %8.3f %9.2fx' % (sys.argv[1], w, u+s, w/a, r/1024, e, b/w))" \
    "$n" "$wall" "$user" "$sys" "$rss" "$bwall" "$audio" "$werr"
done
echo "RTF = wall / audio seconds; vs_baseline = baseline wall / run wall (above 1: faster than pocketsphinx_continuous)"
