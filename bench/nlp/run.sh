#!/usr/bin/env bash
# The nlp analysis of a 1-hour transcript (720 segments, every analyser:
# language, sentiment, emotions, topics, keywords, hooks, chapters, and
# caller labels) beside govader alone (VADER sentiment only) on the same
# segments, in the same run: segments/s and their ratio, with 1 and 2
# concurrent transcripts on this machine's 2 cores.
#
#   bench/nlp/run.sh [SECONDS_PER_MEASUREMENT] [ROUNDS]     (defaults 2 3)
#
# Needs `clipmesh models fetch` (the AFINN lexicons) and wordnet-base.
# Prints a Markdown table.
set -euo pipefail
cd "$(dirname "$0")/../../services/nlp"
GOMAXPROCS=${GOMAXPROCS:-2} go run ./internal/nlpbench -seconds "${1:-2}" -rounds "${2:-3}"
