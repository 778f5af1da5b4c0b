#!/usr/bin/env bash
# Cross-checks the repo's WER (services/transcribe/internal/wer) with NIST
# sclite (Debian's sctk) on the accuracy fixtures: the five LibriVox clips of
# pocketsphinx-testdata and the JFK sample. Both sides are normalised by the
# same code (transcribefile -normalize / -trn), so any difference is in the
# alignment and counting. Scores clipmesh (Silero chunks, as the service
# runs; and energy pauses) and Debian's pocketsphinx_continuous defaults.
#
#   bench/transcribe/sclite.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
lib=/usr/share/pocketsphinx/test/data/librivox
sclite=/usr/lib/sctk/bin/sclite
for f in "$sclite" "$lib/transcription" /usr/bin/pocketsphinx_continuous; do
  [ -e "$f" ] || { echo "missing $f (make deps installs sctk, pocketsphinx, pocketsphinx-testdata)" >&2; exit 1; }
done
jfk=$(ls "${CLIPMESH_MODELS_DIR:-$HOME/.cache/clipmesh/models}"/jfk-sample/jfk.wav)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd services/transcribe && go build -o "$work/tf" ./cmd/transcribefile)

# References: "<s> words </s> (id)" → "id<TAB>words", plus JFK.
{
  sed -E 's/<\/?s>//g; s/^ *(.*[^ ]) *\(([^()]+)\) *$/\2\t\1/' "$lib/transcription"
  printf 'jfk-1961\tAnd so, my fellow Americans, ask not what your country can do for you, ask what you can do for your country.\n'
} >"$work/ref.tsv"
"$work/tf" -normalize <"$work/ref.tsv" >"$work/ref.trn"

: >"$work/vad.trn"; : >"$work/energy.trn"; : >"$work/base.tsv"
while IFS=$'\t' read -r id _; do
  wav="$lib/$id.wav"; [ "$id" = jfk-1961 ] && wav=$jfk
  "$work/tf" -trn "$id" "$wav" >>"$work/vad.trn" 2>/dev/null
  "$work/tf" -vad=false -trn "$id" "$wav" >>"$work/energy.trn" 2>/dev/null
  printf '%s\t%s\n' "$id" "$(pocketsphinx_continuous -infile "$wav" -logfn /dev/null | tr '\n' ' ')" >>"$work/base.tsv"
done <"$work/ref.tsv"
"$work/tf" -normalize <"$work/base.tsv" >"$work/base.trn"

for h in vad energy base; do
  echo "== $h"
  "$sclite" -r "$work/ref.trn" trn -h "$work/$h.trn" trn "$h" -i spu_id -o sum stdout | grep -E 'Sum/Avg|SPKR|Corr'
done
