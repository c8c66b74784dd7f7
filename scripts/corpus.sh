#!/usr/bin/env bash
# Runs asyncfix over real code it was not written against (Django, the Python
# standard library and the async Django packages whose patterns it targets)
# and checks the invariants the README promises:
#   - no crash: exit 0, 1 or 2, and stderr holds only documented per-file errors;
#   - every file `fix` wrote still compiles with CPython;
#   - a second `fix` changes nothing;
#   - files without the bytes `async` (and everything that is not a .py file)
#     stay byte for byte.
# Prints a summary table and exits non-zero if any invariant fails.
#
# Environment:
#   CORPUS_DIR    download cache (default: target/corpus); outputs go to $CORPUS_DIR/results
#   ASYNCFIX      binary to test (default: build and use target/release/asyncfix)
#   PYTHON        interpreter for stdlib and compile() (default: python3)
#   KEEP_SCRATCH  set to 1 to keep the scratch copies (path printed at the end)
set -Eeuo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
CORPUS_DIR=${CORPUS_DIR:-$ROOT/target/corpus}
PYTHON=${PYTHON:-python3}
RESULTS=$CORPUS_DIR/results

# Pinned so numbers compare across runs; each version checked with `pip index versions`.
DJANGO=Django==5.2.8
PACKAGES=(
    channels==4.3.2
    djangorestframework==3.18.3
    strawberry-graphql-django==0.93.0
    django-ninja==1.7.1
    djangorestframework-simplejwt==5.5.1
    django-ninja-jwt==5.4.5
)
# Async Django packages whose authors wrapped their calls by hand (the
# accuracy harness's): only the migration to native async runs on them.
ASYNC_APPS=(
    djangochannelsrestframework==1.3.0
    django-socio-grpc==0.25.0
    django-ninja-extra==0.31.7
    openwisp-controller==1.3.2
)

log() { printf '%s\n' "$*" >&2; }
# set -e stops silently; say where.
trap 'log "corpus.sh: line $LINENO: command failed (exit $?)"' ERR

# --- the binary -------------------------------------------------------------
if [[ -z ${ASYNCFIX:-} ]]; then
    log "building asyncfix (release)"
    (cd "$ROOT" && cargo build --release --quiet)
    ASYNCFIX=$ROOT/target/release/asyncfix
fi

# --- downloads --------------------------------------------------------------
# shellcheck source=scripts/fetch.sh
source "$ROOT/scripts/fetch.sh"
fetch() { fetch_sdist "$CORPUS_DIR/src" "$1"; }

SCRATCH=$(mktemp -d "${TMPDIR:-/tmp}/asyncfix-corpus.XXXXXX")
if [[ ${KEEP_SCRATCH:-0} != 1 ]]; then
    trap 'rm -rf "$SCRATCH"' EXIT
fi
mkdir -p "$RESULTS"

# Each corpus is laid out as $SCRATCH/{orig,pass1,pass2}/NAME. The scratch
# folder is outside any git work tree, so no .gitignore hides files from the
# walker, and asyncfix runs from $SCRATCH/<pass> so reported paths read NAME/...
stage() { mkdir -p "$SCRATCH/orig/$1"; }

# (Assigned first: a failed `$(fetch)` inside a cp argument would not stop set -e.)
stage django
source_dir=$(fetch "$DJANGO")
cp -R "$source_dir"/. "$SCRATCH/orig/django"

stage packages
for spec in "${PACKAGES[@]}"; do
    source_dir=$(fetch "$spec")
    cp -R "$source_dir" "$SCRATCH/orig/packages/"
done

stage async-apps
for spec in "${ASYNC_APPS[@]}"; do
    source_dir=$(fetch "$spec")
    cp -R "$source_dir" "$SCRATCH/orig/async-apps/"
done

stage stdlib
STDLIB=$("$PYTHON" -c 'import sysconfig; print(sysconfig.get_paths()["stdlib"])')
# Only the Python sources matter: leave out installed packages, bytecode and
# the compiled extension and libpython folders (large, and no .py inside).
tar -C "$STDLIB" --exclude=./site-packages --exclude=__pycache__ \
    --exclude=./lib-dynload --exclude='./config-*' -cf - . | tar -C "$SCRATCH/orig/stdlib" -xf -

# A read-only file would be an expected per-file error, not what we test.
chmod -R u+w "$SCRATCH/orig"
mkdir -p "$SCRATCH/pass1" "$SCRATCH/pass2"

# --- helpers ----------------------------------------------------------------
# Stderr lines that asyncfix documents as per-file outcomes; anything else
# (a panic, a warning that fixes did not settle) is a failure.
ALLOWED_STDERR='^asyncfix: (.+: [0-9]+:[0-9]+: (syntax error|not valid UTF-8); file left untouched|.+: parsing was cancelled; file left untouched|[0-9]+ files? could not be processed\.)$'

# run_tool NAME STEP DIR ARGS...: runs `asyncfix ARGS` from DIR, saves its
# output as $RESULTS/NAME.STEP.{out,err}, sets RC and ELAPSED, and records
# any crash.
run_tool() {
    local name=$1 step=$2 dir=$3
    shift 3
    local out=$RESULTS/$name.$step.out err=$RESULTS/$name.$step.err start
    start=$EPOCHREALTIME
    RC=0
    (cd "$dir" && "$ASYNCFIX" "$@" --no-cache --color never >"$out" 2>"$err") || RC=$?
    ELAPSED=$(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.2f", b - a }')
    if grep -q panicked "$err"; then
        fail "$step: panic, exit $RC ($(grep -m1 panicked "$err"))"
        return
    fi
    case $RC in
        0 | 1) ;;
        2)  # Exit 2 is fine only when some file really could not be read or decoded.
            grep -q 'not valid UTF-8' "$err" || fail "$step: exit 2 without a file that is not UTF-8" ;;
        *) fail "$step: exit $RC" ;;
    esac
    local unexpected
    unexpected=$(grep -Ev "$ALLOWED_STDERR" "$err" || true)
    if [[ -n $unexpected ]]; then
        fail "$step: unexpected stderr: $(head -n3 <<<"$unexpected" | tr '\n' ' ')"
    fi
}

FAILURES=()
fail() { FAILURES+=("$CURRENT: $*"); }

# compare_trees ORIG NEW CHANGED_LIST: lists the files that differ, and checks
# that only .py files holding `async` changed, that no file appeared or
# vanished (a leftover temporary file), and that each changed file compiles.
# A changed file whose original does not compile on this interpreter either
# is reported as a note, not a failure.
compare_trees() {
    "$PYTHON" - "$@" <<'EOF'
import os, sys
orig, new, listing = sys.argv[1:4]

def files(root):
    return {os.path.relpath(os.path.join(d, f), root)
            for d, _, names in os.walk(root) for f in names}

def read(path):
    with open(path, "rb") as handle:
        return handle.read()

def compiles(source, path):
    try:
        compile(source, path, "exec", dont_inherit=True)
        return None
    except (SyntaxError, ValueError) as err:
        return f"{type(err).__name__}: {err}"

before, after = files(orig), files(new)
problems = [f"file vanished: {p}" for p in sorted(before - after)]
problems += [f"file appeared: {p}" for p in sorted(after - before)]
changed = []
for path in sorted(before & after):
    old_bytes, new_bytes = read(os.path.join(orig, path)), read(os.path.join(new, path))
    if old_bytes == new_bytes:
        continue
    changed.append(path)
    if not path.endswith(".py") or b"async" not in old_bytes:
        problems.append(f"changed a file without `async`: {path}")
        continue
    error = compiles(new_bytes, path)
    if error:
        if compiles(old_bytes, path):
            print(f"note: {path} does not compile before or after fix on this Python", file=sys.stderr)
        else:
            problems.append(f"no longer compiles: {path}: {error}")
with open(listing, "w") as out:
    out.writelines(p + "\n" for p in changed)
for problem in problems:
    print(problem)
sys.exit(1 if problems else 0)
EOF
}

# --- the runs ---------------------------------------------------------------
ROWS=()
for name in django stdlib packages; do
    CURRENT=$name
    before=${#FAILURES[@]}
    log "== $name"
    cp -R "$SCRATCH/orig/$name" "$SCRATCH/pass1/"

    # Count what the walker sees: .py files outside hidden folders.
    files=$(cd "$SCRATCH/orig" && find "$name" -name '*.py' -not -path '*/.*' | wc -l)
    async_files=$(cd "$SCRATCH/orig" && { find "$name" -name '*.py' -not -path '*/.*' -exec grep -l async {} + || true; } | wc -l)

    run_tool "$name" check "$SCRATCH/orig" check "$name"
    check_seconds=$ELAPSED
    codes=$RC
    sites=$(grep -Eo '^Found [0-9]+' "$RESULTS/$name.check.out" | grep -Eo '[0-9]+' || echo 0)

    # Parsing only what can matter (the modules async code reaches, the
    # function bodies something names) must find exactly what parsing
    # everything finds. Only the closing line may differ: a syntax error
    # inside a body the check leaves out is seen by the full parse alone
    # (the standard library's test_compile.py, which tree-sitter rejects).
    run_tool "$name" check-full "$SCRATCH/orig" check "$name" --full-index --full-parse
    # `check` parses only the bodies a site can depend on: a syntax error in
    # another one (test_compile.py) is seen by the full parse alone.
    same_sites() { sed -E 's/; [0-9]+ files? skipped: syntax error \(listed above\)\.$/./' "$1"; }
    if ! cmp -s <(same_sites "$RESULTS/$name.check.out") <(same_sites "$RESULTS/$name.check-full.out"); then
        fail "check --full-index --full-parse differs from check (see $RESULTS/$name.check-full.out)"
    fi

    run_tool "$name" fix1 "$SCRATCH/pass1" fix "$name"
    fix_seconds=$ELAPSED
    codes+=/$RC
    summary=$(grep -E '^Fixed ' "$RESULTS/$name.fix1.out" || echo "Fixed ? sites")
    fixed=$(sed -E 's/^Fixed ([0-9?]+) sites?.*/\1/' <<<"$summary")
    left=$(grep -Eo '[0-9]+ sites? left' <<<"$summary" | grep -Eo '^[0-9]+' || echo 0)

    # Keep the whole rewrite for review.
    (cd "$SCRATCH" && diff -ruN "orig/$name" "pass1/$name") >"$RESULTS/$name.fix.diff" || true
    compare_rc=0
    problems=$(compare_trees "$SCRATCH/orig/$name" "$SCRATCH/pass1/$name" "$RESULTS/$name.changed" \
        2>"$RESULTS/$name.compare.notes") || compare_rc=$?
    while IFS= read -r problem; do
        [[ -n $problem ]] && fail "$problem"
    done <<<"$problems"
    # A non-zero exit with nothing printed is the checker itself failing.
    if ((compare_rc != 0)) && [[ -z $problems ]]; then
        fail "comparing the trees failed (see $RESULTS/$name.compare.notes)"
    fi
    changed=$(wc -l <"$RESULTS/$name.changed")

    # Idempotence: fix the fixed tree again; nothing may change.
    cp -R "$SCRATCH/pass1/$name" "$SCRATCH/pass2/"
    run_tool "$name" fix2 "$SCRATCH/pass2" fix "$name"
    codes+=/$RC
    if ! (cd "$SCRATCH" && diff -r "pass1/$name" "pass2/$name" >"$RESULTS/$name.idempotence.diff"); then
        fail "second fix changed $(grep -c '^diff -r' "$RESULTS/$name.idempotence.diff" || true) files (see $RESULTS/$name.idempotence.diff)"
    fi

    held=ok
    ((${#FAILURES[@]} > before)) && held="FAIL ($((${#FAILURES[@]} - before)))"
    ROWS+=("$name|$files|$async_files|$sites|$fixed|$left|$changed|$check_seconds|$fix_seconds|$codes|$held")
done

# --- migration to native async --------------------------------------------------
# `fix --style native --select DJ110` on the original code: the awaited
# wrappers its authors wrote around calls with a native twin become the twin.
# The same invariants: every changed file compiles, a second run changes
# nothing; and a count of the rewrites by twin, for the README.
MIGRATIONS=()
mkdir -p "$SCRATCH/migrate1" "$SCRATCH/migrate2"
for name in django packages async-apps; do
    CURRENT="$name (migration)"
    migrate=(--style native --select DJ110)
    cp -R "$SCRATCH/orig/$name" "$SCRATCH/migrate1/"
    run_tool "$name" migrate-check "$SCRATCH/orig" check "$name" "${migrate[@]}" --output-format json
    run_tool "$name" migrate1 "$SCRATCH/migrate1" fix "$name" "${migrate[@]}"
    (cd "$SCRATCH" && diff -ruN "orig/$name" "migrate1/$name") >"$RESULTS/$name.migrate.diff" || true
    problems=$(compare_trees "$SCRATCH/orig/$name" "$SCRATCH/migrate1/$name" "$RESULTS/$name.migrate.changed" \
        2>>"$RESULTS/$name.compare.notes") || true
    while IFS= read -r problem; do
        [[ -n $problem ]] && fail "$problem"
    done <<<"$problems"
    cp -R "$SCRATCH/migrate1/$name" "$SCRATCH/migrate2/"
    run_tool "$name" migrate2 "$SCRATCH/migrate2" fix "$name" "${migrate[@]}"
    if ! (cd "$SCRATCH" && diff -r "migrate1/$name" "migrate2/$name" >"$RESULTS/$name.migrate-idempotence.diff"); then
        fail "a second migration changed files (see $RESULTS/$name.migrate-idempotence.diff)"
    fi
    counts=$("$PYTHON" "$ROOT/scripts/count_twins.py" "$RESULTS/$name.migrate-check.out")
    MIGRATIONS+=("$name: $counts")
done

# --- report -----------------------------------------------------------------
echo
echo "$("$ASYNCFIX" --version) on $("$PYTHON" --version), stdlib at $STDLIB"
fmt='%-9s %6s %6s %6s %6s %5s %8s %8s %6s %-6s  %s\n'
# shellcheck disable=SC2059  # the format is ours
printf "$fmt" corpus files async sites fixed left changed check_s fix_s exits invariants
for row in "${ROWS[@]}"; do
    IFS='|' read -r -a cols <<<"$row"
    # shellcheck disable=SC2059
    printf "$fmt" "${cols[@]}"
done
echo
echo "files: .py files walked; async: files holding 'async'; sites: found by check;"
echo "fixed/left: fix's summary; changed: files fix wrote;"
echo "exits: exit status of check / fix / second fix."
echo
echo "Migration to native async (fix --style native --select DJ110), rewrites by twin:"
printf '  %s\n' "${MIGRATIONS[@]}"
echo "Outputs: $RESULTS"
[[ ${KEEP_SCRATCH:-0} == 1 ]] && echo "Scratch: $SCRATCH"

if ((${#FAILURES[@]} > 0)); then
    echo
    echo "Invariant failures:"
    printf '  %s\n' "${FAILURES[@]}"
    exit 1
fi
echo "All invariants held."
