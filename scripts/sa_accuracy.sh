#!/usr/bin/env bash
# Measures asyncfix's SQLAlchemy asyncio rules, SA001
# (sqlalchemy-lazy-load-in-async) and SA002
# (sqlalchemy-expired-attribute-in-async), on real FastAPI / SQLAlchemy
# asyncio application code from PyPI.
#
# For each pinned package it copies the application's source root into a
# scratch tree and
#   1. runs `asyncfix check --select SA001,SA002 --output-format json` on it
#      untouched: every report goes to results/untouched.txt with the verdict
#      scripts/sa_accuracy/judgements.tsv gives it (genuine / false-positive,
#      judged by hand from the code around it); unjudged ones are counted and
#      listed in results/unjudged.txt;
#   2. measures SA001's recall by mutation: every eager load inside an
#      `async def` (selectinload / joinedload / subqueryload / immediateload /
#      contains_eager, each link of a chain, and `refresh(obj, [names])`)
#      that the same function then uses (reads `x.rel`) is disabled alone
#      (`selectinload(A.b)` -> `lazyload(A.b)`, `refresh(obj, ["b"])` ->
#      `refresh(obj)`), `asyncfix check --select SA001` runs on the whole
#      mutated tree, and the case is found when a new SA001 lands on that
#      read (scripts/sa_accuracy/cases.py finds the cases,
#      scripts/sa_accuracy/harness.py runs and scores them). Found and missed
#      cases go to results/sa001-found.txt and results/sa001-misses.txt; the
#      options that are no case, with why, to results/options-skipped.txt;
#      scripts/sa_accuracy/miss_causes.tsv classifies known misses by cause
#      (and takes cases whose read is another object's out of the count:
#      results/sa001-excluded.txt);
#   3. measures it across a call too ("caller" cases,
#      scripts/sa_accuracy/callers.py): every eager load inside a function F,
#      `def` or `async def`, that returns what it loads (the statement, its
#      result, the objects: `return res.scalars().all()`, `return stmt`,
#      `return await cls.get(db, id, options=[...])`, the object of
#      `refresh(obj, [names])`, the `yield` of an @asynccontextmanager), read
#      in an `async def` of the package that calls F (`F(...)`, `mod.F(...)`,
#      `obj.F(...)`, `Cls.F(...)`; ambiguous names skipped) on the variable
#      holding F's result (`x = await F(...)`, `for x in await F(...)`, a
#      statement F built and the caller ran, `async with F(...) as x`, and
#      down the option's chain: `for p in team.players: p.stats`). The same
#      mutation; found when SA001 lands on that read in the caller. Misses go
#      to results/sa001-misses.txt marked `[caller]`; the options that are no
#      caller case, with why, to results/caller-options-skipped.txt.
#      MAX_CASES applies to each kind apart.
# and prints a table per package and in total for each kind, and both. Exits non-zero only on a
# harness error (download, crash, a mutation that does not parse, a malformed
# judgement file); never on low figures.
#
# Environment:
#   ASYNCFIX      binary to measure (default: target/release/asyncfix; built
#                 with `cargo build --release` only if missing)
#   CACHE_DIR     download cache, shared with scripts/corpus.sh (default: target/corpus/src)
#   SA_ACCURACY_DIR  outputs (default: target/sa-accuracy); results in $SA_ACCURACY_DIR/results
#   PYTHON        interpreter for the harness (default: python3; standard library only)
#   MAX_CASES     mutation cases per package and kind (same-function, caller) at most,
#                 sampled by hash past it (default: 150)
#   KEEP_SCRATCH  set to 1 to keep the scratch trees (path printed at the end)
set -Eeuo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
SA_ACCURACY_DIR=${SA_ACCURACY_DIR:-$ROOT/target/sa-accuracy}
CACHE_DIR=${CACHE_DIR:-$ROOT/target/corpus/src}
PYTHON=${PYTHON:-python3}
MAX_CASES=${MAX_CASES:-150}
RESULTS=$SA_ACCURACY_DIR/results
HERE=$ROOT/scripts/sa_accuracy

# Pinned so figures compare across runs. NAME=SPEC=SOURCE ROOT (inside the
# unpacked distribution); NAME keys judgements.tsv and miss_causes.tsv. SPEC
# may end in `:wheel` for a package that ships no source distribution.
# Chosen for the eager loads their async code writes (eager options and
# refresh(obj, [names]) inside `async def`, in parentheses), all FastAPI (or
# Strawberry on FastAPI) servers on AsyncSession with relationship() models:
PACKAGES=(
    # GPU orchestration server: background pipelines and services that lock
    # rows and load them with joinedload/selectinload chains (255).
    dstack=dstack==0.22.5=src/dstack
    # LLM tracing server: GraphQL mutations, OAuth2 routers, dataloaders (41).
    arize-phoenix=arize-phoenix==20.26.1=src/phoenix
    # Data labelling server: handlers that pass `options=[selectinload(...)]`
    # to model class methods, contexts that refresh with names (149).
    argilla-server=argilla-server==2.8.0=src/argilla_server
    # Knowledge-graph server: users, tenants, roles and ACLs (14).
    cognee=cognee==1.6.5=cognee
)

log() { printf '%s\n' "$*" >&2; }
trap 'log "sa_accuracy.sh: line $LINENO: command failed (exit $?)"' ERR
START=$EPOCHREALTIME

# --- the binary -------------------------------------------------------------
if [[ -z ${ASYNCFIX:-} ]]; then
    ASYNCFIX=$ROOT/target/release/asyncfix
    if [[ ! -x $ASYNCFIX ]]; then
        log "building asyncfix (release)"
        (cd "$ROOT" && cargo build --release --quiet)
    fi
fi
[[ -x $ASYNCFIX ]] || { log "no asyncfix binary at $ASYNCFIX"; exit 2; }

# --- downloads --------------------------------------------------------------------
# shellcheck source=scripts/fetch.sh
source "$ROOT/scripts/fetch.sh"

# Outside any git work tree, so no .gitignore hides files from the walker.
WORK=$(mktemp -d "${TMPDIR:-/tmp}/asyncfix-sa-accuracy.XXXXXX")
if [[ ${KEEP_SCRATCH:-0} != 1 ]]; then
    trap 'rm -rf "$WORK"' EXIT
fi
rm -rf "$RESULTS"
mkdir -p "$RESULTS" "$WORK/trees"

TREES=()
for entry in "${PACKAGES[@]}"; do
    name=${entry%%=*}
    rest=${entry#*=}
    spec=${rest%=*}
    source_root=${rest##*=}
    if [[ $spec == *:wheel ]]; then
        dist=$(fetch_wheel "$CACHE_DIR" "${spec%:wheel}")
    else
        dist=$(fetch_sdist "$CACHE_DIR" "$spec")
    fi
    [[ -d $dist/$source_root ]] || { log "$spec has no $source_root"; exit 2; }
    # The package's import root alone: WORK/trees/NAME/<package>, so the
    # project index resolves its absolute imports and paths read
    # `<package>/...`.
    mkdir -p "$WORK/trees/$name"
    cp -R "$dist/$source_root" "$WORK/trees/$name/"
    chmod -R u+w "$WORK/trees/$name"
    TREES+=("$name=$WORK/trees/$name")
done

# --- untouched run, mutation run, table ----------------------------------------------
echo "$("$ASYNCFIX" --version), sources at $(git -C "$ROOT" log -1 --format=%h -- src recipes Cargo.toml Cargo.lock)" \
    "(tree at $(git -C "$ROOT" rev-parse --short HEAD), binary built $(date -r "$ASYNCFIX" '+%F %T')), $("$PYTHON" --version)"
rc=0
(cd "$HERE" && PYTHONDONTWRITEBYTECODE=1 "$PYTHON" harness.py --asyncfix "$ASYNCFIX" --results "$RESULTS" --max-cases "$MAX_CASES" "${TREES[@]}") || rc=$?
echo
echo "Lists: $RESULTS/{untouched,unjudged,sa001-found,sa001-misses,sa001-excluded,options-skipped,caller-options-skipped}.txt"
[[ ${KEEP_SCRATCH:-0} == 1 ]] && echo "Scratch: $WORK"
echo "Took $(awk -v a="$START" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.0f", b - a }') s."
exit "$rc"
