#!/usr/bin/env bash
# Runs two asyncfix binaries over the same trees and says whether every
# output is byte-identical: for a refactor that must not change behaviour.
#
#   bash scripts/same-output.sh OLD_BINARY NEW_BINARY [TREE...]
#
# Trees default to the fixture cases, each project fixture and, when
# scripts/corpus.sh left them (KEEP_SCRATCH=1, or CORPUS_TREES set), the
# corpus trees. For each tree: `check --output-format json`, `check`,
# `diff --unsafe-fixes`, `index` and `index --files`, each with its exit status.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
old=$(realpath "$1") new=$(realpath "$2")
shift 2
trees=("$@")
if [[ ${#trees[@]} -eq 0 ]]; then
    trees=("$ROOT/fixtures/cases")
    for project in "$ROOT"/fixtures/projects/*/input; do trees+=("$project"); done
    for tree in ${CORPUS_TREES:-}; do trees+=("$tree"); done
fi
out=$(mktemp -d "${TMPDIR:-/tmp}/same-output.XXXXXX")
status=0
for tree in "${trees[@]}"; do
    for which in old new; do
        binary=$old
        [[ $which == new ]] && binary=$new
        dir=$out/$which/$(printf '%s' "$tree" | tr '/' '_')
        mkdir -p "$dir"
        (
            cd "$tree" || exit 2
            "$binary" check . --output-format json --color never >"$dir/json" 2>&1; echo "exit $?" >>"$dir/json"
            "$binary" check . --unsafe-fixes --color never >"$dir/check" 2>&1; echo "exit $?" >>"$dir/check"
            "$binary" diff . --unsafe-fixes --color never >"$dir/diff" 2>&1; echo "exit $?" >>"$dir/diff"
            "$binary" index . >"$dir/index" 2>&1; echo "exit $?" >>"$dir/index"
            "$binary" index --files . >"$dir/index-files" 2>&1; echo "exit $?" >>"$dir/index-files"
        )
    done
    if diff -r "$out/old/$(printf '%s' "$tree" | tr '/' '_')" "$out/new/$(printf '%s' "$tree" | tr '/' '_')" >/dev/null; then
        printf 'same      %s\n' "$tree"
    else
        printf 'DIFFERENT %s (see %s)\n' "$tree" "$out"
        status=1
    fi
done
exit $status
