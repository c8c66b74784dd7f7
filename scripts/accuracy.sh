#!/usr/bin/env bash
# Measures asyncfix's recall and precision on real code whose authors wrapped
# their synchronous calls by hand.
#
# For each pinned package (Django 5.2.8 with its test suite and async Django
# packages from PyPI) it strips every awaited `sync_to_async(...)(...)` /
# `database_sync_to_async(...)(...)` inside `async def` back to the plain
# call (scripts/accuracy/strip.py, which records each site in a manifest),
# runs `asyncfix fix` (and `fix --unsafe-fixes`) on the whole stripped tree,
# and scores which sites came back wrapped and which wrappers are extra
# (scripts/accuracy/score.py). Sites and extras that no rule can decide are
# judged by hand in scripts/accuracy/judgements.tsv.
#
# Prints a table per package and in total; full lists of misses, extras and
# unfixed findings go to $ACCURACY_DIR/results/*.txt. Exits non-zero only on
# a harness error, a file that no longer parses after fix, or a second fix
# that changes something; never on low recall.
#
# Environment:
#   ACCURACY_DIR  outputs (default: target/accuracy); results in $ACCURACY_DIR/results
#   CACHE_DIR     download cache, shared with scripts/corpus.sh (default: target/corpus/src)
#   ASYNCFIX      binary to measure (default: build and use target/release/asyncfix)
#   PYTHON        interpreter for the harness (default: python3; standard library only)
#   KEEP_SCRATCH  set to 1 to keep the scratch trees (path printed at the end)
set -Eeuo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
ACCURACY_DIR=${ACCURACY_DIR:-$ROOT/target/accuracy}
CACHE_DIR=${CACHE_DIR:-$ROOT/target/corpus/src}
PYTHON=${PYTHON:-python3}
RESULTS=$ACCURACY_DIR/results
HERE=$ROOT/scripts/accuracy

# Pinned so figures compare across runs. NAME=SPEC; NAME keys judgements.tsv.
# Chosen for the number of awaited wrapper sites their authors wrote (in
# parentheses), and for variety: Django's own a* methods and tests, Channels
# consumers and their tests, DRF-style async views, gRPC services, GraphQL.
PACKAGES=(
    django=Django==5.2.8                                       # (87)
    djangochannelsrestframework=djangochannelsrestframework==1.3.0  # (112)
    django-socio-grpc=django-socio-grpc==0.25.0                # (36)
    django-ninja-extra=django-ninja-extra==0.31.7              # (21)
    adrf=adrf==0.1.14                                          # (11)
    strawberry-graphql-django=strawberry-graphql-django==0.93.0  # (7)
    channels=channels==4.3.2                                   # (2)
    # Reusable apps tested as applications are: Channels consumers of their
    # own models, exercised by async tests that create rows by hand.
    openwisp-controller=openwisp-controller==1.3.2             # (32)
    django-loci=django-loci==1.3                               # (21)
)

# What a package imports its helpers and models from, as a virtualenv would
# hold it: unpacked into a site-packages folder the runs name with
# --site-packages (the index reads them; they are never checked).
declare -A DEPENDENCIES=(
    [openwisp-controller]="openwisp-users==1.3.2 django-loci==1.3"
)

log() { printf '%s\n' "$*" >&2; }
trap 'log "accuracy.sh: line $LINENO: command failed (exit $?)"' ERR
START=$EPOCHREALTIME

# --- the binary -------------------------------------------------------------
if [[ -z ${ASYNCFIX:-} ]]; then
    log "building asyncfix (release)"
    (cd "$ROOT" && cargo build --release --quiet)
    ASYNCFIX=$ROOT/target/release/asyncfix
fi

# --- downloads and the stripped trees -----------------------------------------
# shellcheck source=scripts/fetch.sh
source "$ROOT/scripts/fetch.sh"

# Outside any git work tree, so no .gitignore hides files from the walker.
WORK=$(mktemp -d "${TMPDIR:-/tmp}/asyncfix-accuracy.XXXXXX")
if [[ ${KEEP_SCRATCH:-0} != 1 ]]; then
    trap 'rm -rf "$WORK"' EXIT
fi
rm -rf "$RESULTS"
mkdir -p "$RESULTS/runs" "$WORK/stripped" "$WORK/check"
MANIFEST=$WORK/manifest.jsonl
: >"$MANIFEST"

NAMES=()
for entry in "${PACKAGES[@]}"; do
    name=${entry%%=*}
    spec=${entry#*=}
    NAMES+=("$name")
    source_dir=$(fetch_sdist "$CACHE_DIR" "$spec")
    cp -R "$source_dir" "$WORK/stripped/$name"
    rm -f "$WORK/stripped/$name/.complete"
    chmod -R u+w "$WORK/stripped/$name"
    "$PYTHON" "$HERE/strip.py" "$name" "$WORK/stripped/$name" "$MANIFEST"
    mkdir -p "$WORK/site/$name"
    for dependency in ${DEPENDENCIES[$name]:-}; do
        dependency_dir=$(fetch_sdist "$CACHE_DIR" "$dependency")
        # Its top-level packages, as pip installs them.
        for package in "$dependency_dir"/*/__init__.py; do
            cp -R "$(dirname "$package")" "$WORK/site/$name/"
        done
    done
done

# --- asyncfix on each stripped tree -----------------------------------------------
FAILURES=()
# run_tool DIR OUT ARGS...: asyncfix ARGS from DIR; exit 0 and 1 are outcomes,
# 2 only for a file that is not UTF-8; anything else, or a panic, fails.
run_tool() {
    local dir=$1 out=$2 rc=0
    shift 2
    (cd "$dir" && "$ASYNCFIX" "$@" --no-cache --color never >"$out" 2>"$out.err") || rc=$?
    if grep -q panicked "$out.err" || ((rc > 2)) || { ((rc == 2)) && ! grep -q 'not valid UTF-8' "$out.err"; }; then
        FAILURES+=("asyncfix $* in $dir: exit $rc, $(head -c 300 "$out.err")")
    fi
}

for mode in default unsafe; do
    flags=()
    [[ $mode == unsafe ]] && flags=(--unsafe-fixes)
    for name in "${NAMES[@]}"; do
        log "== $name: fix ${flags[*]}"
        mkdir -p "$WORK/$mode" "$WORK/$mode-again"
        cp -R "$WORK/stripped/$name" "$WORK/$mode/"
        # Wrappers, as the authors wrote them: the packages' own Django
        # requirements would otherwise make some fixes native.
        site=(--site-packages "$WORK/site/$name" --style wrap)
        # Run from the package's root, so the project index sees all of it.
        run_tool "$WORK/$mode/$name" "$RESULTS/runs/$name.$mode.fix.txt" fix . "${flags[@]}" "${site[@]}"
        cp -R "$WORK/$mode/$name" "$WORK/$mode-again/"
        run_tool "$WORK/$mode-again/$name" "$RESULTS/runs/$name.$mode.fix-again.txt" fix . "${flags[@]}" "${site[@]}"
        run_tool "$WORK/stripped/$name" "$WORK/check/$name.$mode.json" check . --output-format json "${flags[@]}" "${site[@]}"
        (cd "$WORK" && diff -ruN "stripped/$name" "$mode/$name") >"$RESULTS/runs/$name.$mode.diff" || true
    done
done

# --- score --------------------------------------------------------------------------
echo
# The measured code: the last commit that changed what goes into the binary.
echo "$("$ASYNCFIX" --version), sources at $(git -C "$ROOT" log -1 --format=%h -- src recipes Cargo.toml Cargo.lock)" \
    "(tree at $(git -C "$ROOT" rev-parse --short HEAD)), $("$PYTHON" --version)"
score_rc=0
"$PYTHON" "$HERE/score.py" "$WORK" "$RESULTS" "$MANIFEST" "$HERE/judgements.tsv" "${NAMES[@]}" || score_rc=$?
echo
echo "Lists: $RESULTS/{misses,extras,not-fixed,sites,causes,unjudged}.txt"
[[ ${KEEP_SCRATCH:-0} == 1 ]] && echo "Scratch: $WORK"
echo "Took $(awk -v a="$START" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.0f", b - a }') s."
if ((${#FAILURES[@]} > 0)); then
    echo "Harness failures:"
    printf '  %s\n' "${FAILURES[@]}"
    exit 1
fi
exit "$score_rc"
