#!/usr/bin/env bash
# Times `asyncfix check` and `ruff check --select ASYNC` cold on the bench
# corpus in alternation, run after run, and prints both medians and their
# ratio with each pair's ratio. On a shared machine a slow spell then slows
# both tools of a pair alike, where bench/run.sh times each tool's runs in
# a block. Needs the corpus and ruff that `bash bench/run.sh` sets up.
#
# Usage: bash bench/alternate.sh [PAIRS] [ASYNCFIX_BINARY]
#   PAIRS           how many asyncfix/ruff pairs (default 12)
#   ASYNCFIX_BINARY defaults to target/release/asyncfix (built if missing)
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
CORPUS=$ROOT/bench/corpus
PAIRS=${1:-12}
ASYNCFIX=${2:-$ROOT/target/release/asyncfix}
RUFF=$ROOT/target/bench/venv/bin/ruff
THREADS=${THREADS:-$(nproc)}

[[ -d $CORPUS/tree && -x $RUFF ]] || { echo "run 'bash bench/run.sh' first (corpus and ruff)" >&2; exit 2; }
[[ -x $ASYNCFIX ]] || (cd "$ROOT" && cargo build --release --quiet --bin asyncfix)

times=$(mktemp)
trap 'rm -f "$times"' EXIT
cd "$CORPUS"
for _ in $(seq "$PAIRS"); do
    /usr/bin/time -a -o "$times" -f "asyncfix %e" \
        "$ASYNCFIX" check --no-cache --jobs "$THREADS" --color never tree >/dev/null 2>&1 || true
    RAYON_NUM_THREADS=$THREADS /usr/bin/time -a -o "$times" -f "ruff %e" \
        "$RUFF" check --isolated --no-cache --select ASYNC --exit-zero --output-format concise tree >/dev/null 2>&1
done

python3 - "$times" <<'PY'
import statistics, sys
runs = {"asyncfix": [], "ruff": []}
for line in open(sys.argv[1]):
    tool, _, seconds = line.partition(" ")
    if tool in runs:
        runs[tool].append(float(seconds))
ours, theirs = statistics.median(runs["asyncfix"]), statistics.median(runs["ruff"])
pairs = " ".join(f"{a / r:.2f}" for a, r in zip(runs["asyncfix"], runs["ruff"]))
print(f"asyncfix check {ours:.3f} s, ruff {theirs:.3f} s (medians of {len(runs['ruff'])}): {ours / theirs:.2f}x")
print(f"pair by pair: {pairs}")
PY
