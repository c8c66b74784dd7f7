#!/usr/bin/env bash
# A benchmark anyone can run: asyncfix against its peers and its own limits on
# a pinned corpus of real Python code.
#
#   bash bench/run.sh                 # 5 timed runs of each tool
#   RUNS=3 bash bench/run.sh          # fewer runs
#   REPLICAS=5 bash bench/run.sh      # also a 5x copy of the corpus, for memory
#
# What it does:
#   1. builds bench/corpus/tree from pinned sdists (Django's carries its test
#      suite), the async Django packages, SQLAlchemy, FastAPI and this
#      interpreter's standard library; the downloads are cached in
#      target/corpus/src, shared with scripts/corpus.sh;
#   2. installs the peers it compares with, pinned, into target/bench/venv
#      (ruff, ast-grep), and uses GNU time for peak memory;
#   3. times each tool RUNS times, interleaved round by round after one
#      untimed warm-up round (so every tool reads from the page cache), and
#      prints a Markdown table of the medians;
#   4. compares asyncfix check with a bare tree-sitter parse of the files it
#      must parse: those holding `async def` (only they can hold a site) and
#      the modules its index reads (`asyncfix index --files`), on the whole
#      tree and on each project alone (one `asyncfix check PROJECT` per
#      project, as a user runs it; on the whole tree asyncfix also resolves
#      imports across the projects, the standard library included).
#
# Rows:
#   asyncfix check / diff   target/release/asyncfix on the whole tree (check with --no-cache)
#   asyncfix check, warm    the same with its result cache, filled by the warm-up round
#   parse all               examples/parse_all: walk (as asyncfix walks), read, parse every .py
#   walk+read               examples/parse_all --read-only: walk and read every .py, parse nothing
#   walk+read, parse needed examples/parse_all --parse-only: read all, parse the files asyncfix must parse
#   parse needed files      examples/parse_all --files-from: parse only the files asyncfix must parse, no walk
#   ruff ASYNC              ruff check --select ASYNC (ruff's flake8-async rules), no cache, no config
#   ruff ASYNC, warm        the same with its cache, filled by the warm-up round
#   ast-grep                ast-grep scan with bench/orm-get-in-async.yml (`X.objects.get(...)` in async def)
#
# Environment:
#   ASYNCFIX    asyncfix binary to time (default: build target/release/asyncfix)
#   RUNS        timed runs per tool (default 5); the median is reported
#   REPLICAS    if > 1, also time each tool once on that many copies of the corpus
#   THREADS     worker threads for every tool (default: nproc): --jobs, --threads,
#               and RAYON_NUM_THREADS for ruff, which has no option for it
#   PYTHON      interpreter whose standard library joins the corpus (default: python3)
#   CACHE_DIR   download cache (default: target/corpus/src)
#   OUT         where outputs and the report go (default: bench/corpus/results)
set -Eeuo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BENCH=$ROOT/bench
CORPUS=$BENCH/corpus
TREE=$CORPUS/tree
CACHE_DIR=${CACHE_DIR:-$ROOT/target/corpus/src}
OUT=${OUT:-$CORPUS/results}
PYTHON=${PYTHON:-python3}
RUNS=${RUNS:-5}
REPLICAS=${REPLICAS:-1}
THREADS=${THREADS:-$(nproc)}
VENV=$ROOT/target/bench/venv

# Pinned so numbers compare across runs and machines.
DJANGO=Django==5.2.8
PACKAGES=(
    channels==4.3.2
    djangorestframework==3.18.3
    strawberry-graphql-django==0.93.0
    SQLAlchemy==2.1.9
    fastapi==0.165.0
)
RUFF=ruff==0.17.6
AST_GREP=ast-grep-cli==0.51.1

log() { printf '%s\n' "$*" >&2; }
trap 'log "run.sh: line $LINENO: command failed (exit $?)"' ERR
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)  # the tools run from $CORPUS

# --- the binaries -------------------------------------------------------------
if [[ -z ${ASYNCFIX:-} ]]; then
    log "building asyncfix and examples/parse_all (release)"
    (cd "$ROOT" && cargo build --release --quiet --bin asyncfix --example parse_all)
    ASYNCFIX=$ROOT/target/release/asyncfix
    ASYNCFIX_REV="$(git -C "$ROOT" rev-parse --short HEAD)$(git -C "$ROOT" diff --quiet HEAD -- src Cargo.toml Cargo.lock recipes || echo ' + uncommitted changes')"
else
    log "building examples/parse_all (release)"
    (cd "$ROOT" && cargo build --release --quiet --example parse_all)
    ASYNCFIX=$(cd "$(dirname "$ASYNCFIX")" && pwd)/$(basename "$ASYNCFIX")
    ASYNCFIX_REV=$ASYNCFIX
fi
PARSE_ALL=$ROOT/target/release/examples/parse_all

# --- the peers ------------------------------------------------------------------
# A virtualenv of our own: the real binaries, not a version manager's shims
# (a pyenv shim is a shell script that would add tens of milliseconds a run).
if [[ ! -x $VENV/bin/ruff || ! -x $VENV/bin/ast-grep ]] \
    || [[ $("$VENV/bin/ruff" --version) != "ruff ${RUFF#*==}" ]] \
    || [[ $("$VENV/bin/ast-grep" --version) != "ast-grep ${AST_GREP#*==}" ]]; then
    log "installing $RUFF and $AST_GREP into $VENV"
    "$PYTHON" -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check "$RUFF" "$AST_GREP" >&2
fi
RUFF_BIN=$VENV/bin/ruff
SG_BIN=$VENV/bin/ast-grep

TIME_BIN=/usr/bin/time
if ! "$TIME_BIN" -f %M true >/dev/null 2>&1; then
    if command -v apt-get >/dev/null && [[ $(id -u) == 0 ]]; then
        log "installing GNU time"
        apt-get install -y -qq time >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq time; } >&2
    fi
    "$TIME_BIN" -f %M true >/dev/null 2>&1 || { log "GNU time (/usr/bin/time) is needed for peak memory"; exit 2; }
fi

# --- the corpus -------------------------------------------------------------------
# Source distributions, as in scripts/corpus.sh (the same cache): Django's
# sdist holds its test suite, the largest body of async Django code there is.
# shellcheck source=scripts/fetch.sh
source "$ROOT/scripts/fetch.sh"
fetch() { fetch_sdist "$CACHE_DIR" "$1"; }

STDLIB=$("$PYTHON" -c 'import sysconfig; print(sysconfig.get_paths()["stdlib"])')
PYVER=$("$PYTHON" -c 'import platform; print(platform.python_version())')
# The tree is rebuilt when its recipe changes.
STAMP="$DJANGO ${PACKAGES[*]} stdlib-$PYVER markers-2"
if [[ ! -f $TREE/.stamp || $(<"$TREE/.stamp") != "$STAMP" ]]; then
    log "building $TREE"
    rm -rf "$TREE"
    mkdir -p "$TREE/packages" "$TREE/stdlib"
    for spec in "$DJANGO" "${PACKAGES[@]}"; do
        source_dir=$(fetch "$spec")
        cp -R "$source_dir" "$TREE/packages/"
    done
    # Only the Python sources: no installed packages, bytecode or compiled modules.
    tar -C "$STDLIB" --exclude=./site-packages --exclude=__pycache__ \
        --exclude=./lib-dynload --exclude='./config-*' -cf - . | tar -C "$TREE/stdlib" -xf -
    chmod -R u+w "$TREE"
    # Project markers, as a real project has at its top: asyncfix indexes from
    # the nearest marker above its target. Without one the tree would climb to
    # this repository's own .git, and the standard library to the whole tree.
    # (The sdists carry their own pyproject.toml.)
    printf '# bench/run.sh corpus root\n' >"$TREE/setup.cfg"
    printf '# bench/run.sh: the standard library as a project of its own\n' >"$TREE/stdlib/setup.cfg"
    printf '%s' "$STAMP" >"$TREE/.stamp"
fi

if ((REPLICAS > 1)); then
    REPLICATED=$CORPUS/tree-x$REPLICAS
    if [[ ! -f $REPLICATED/.stamp || $(<"$REPLICATED/.stamp") != "$STAMP" ]]; then
        log "building $REPLICATED"
        rm -rf "$REPLICATED"
        mkdir -p "$REPLICATED"
        for ((i = 1; i <= REPLICAS; i++)); do
            cp -R "$TREE" "$REPLICATED/copy$i"
            rm -f "$REPLICATED/copy$i/setup.cfg" "$REPLICATED/copy$i/.stamp"
        done
        printf '# bench/run.sh corpus root\n' >"$REPLICATED/setup.cfg"
        printf '%s' "$STAMP" >"$REPLICATED/.stamp"
    fi
fi

# --- the file lists -----------------------------------------------------------
# What asyncfix walks (parse_all walks the same way), and what it must parse:
# the files holding `async def` first on a line (the words may be split by
# white space or a line continuation) and the modules its index reads for them.
cd "$CORPUS"
"$PARSE_ALL" --list tree >"$OUT/files.all"
# needed_files TARGET: the files `asyncfix check TARGET` must parse, as paths under tree/
needed_files() {
    {
        # (grep exits 1 for the files that do not match)
        grep -F "$1/" "$OUT/files.all" | tr '\n' '\0' | { xargs -0 grep -lzP --null '(?m)^[ \t\f]*async[\s\\]+def\b' || true; } | tr '\0' '\n'
        "$ASYNCFIX" index --files "$1" | sed "s|^$CORPUS/||"
    } | sort -u
}
needed_files tree >"$OUT/files.async"
# bytes of the files in a list
list_bytes() { tr '\n' '\0' <"$1" | du -cb --files0-from=- | tail -n1 | cut -f1; }

# --- sanity: the ast-grep rule matches what it should ----------------------------
SAMPLE=$(mktemp -d)
trap 'rm -rf "$SAMPLE"' EXIT
cat >"$SAMPLE/views.py" <<'EOF'
async def view(request):
    return User.objects.get(pk=1)          # match

def sync_view(request):
    return User.objects.get(pk=2)          # no: not async

class Consumer:
    async def receive(self):
        if self.ready:
            await send(Model.objects.get(id=3))   # match

async def outer():
    def inner():
        return User.objects.get(pk=4)      # no: nearest function is sync
EOF
sample_hits=$("$SG_BIN" scan --rule "$BENCH/orm-get-in-async.yml" --json=stream "$SAMPLE" | grep -c '"ruleId"' || true)
if [[ $sample_hits != 2 ]]; then
    log "bench/orm-get-in-async.yml matched $sample_hits sites in the sample, expected 2"
    exit 1
fi

# --- the tools --------------------------------------------------------------------
# name|files list for the row|command (run from $CORPUS)
TOOLS=(
    "asyncfix check|all|$ASYNCFIX check --no-cache --jobs $THREADS --color never tree"
    "asyncfix check, warm cache|all|$ASYNCFIX check --cache-dir $OUT/asyncfix-cache --jobs $THREADS --color never tree"
    "asyncfix diff|all|$ASYNCFIX diff --jobs $THREADS --color never tree"
    "parse all (tree-sitter)|all|$PARSE_ALL --threads $THREADS tree"
    "walk+read|all|$PARSE_ALL --threads $THREADS --read-only tree"
    "walk+read, parse needed|all|$PARSE_ALL --threads $THREADS --parse-only $OUT/files.async tree"
    "parse needed files only|async|$PARSE_ALL --threads $THREADS --files-from $OUT/files.async"
    "ruff --select ASYNC|ruff|$RUFF_BIN check --isolated --no-cache --select ASYNC --exit-zero --output-format concise tree"
    "ruff --select ASYNC, warm cache|ruff|$RUFF_BIN check --isolated --cache-dir $OUT/ruff-cache --select ASYNC --exit-zero --output-format concise tree"
    "ast-grep scan|all|$SG_BIN scan --threads $THREADS --rule $BENCH/orm-get-in-async.yml tree"
)
# ruff has no --jobs; it sizes its pool from RAYON_NUM_THREADS.
export RAYON_NUM_THREADS=$THREADS

# What ruff looks at (it lints .pyi and notebooks too, and has its own excludes).
"$RUFF_BIN" check --isolated --no-cache --select ASYNC --show-files tree >"$OUT/files.ruff" 2>/dev/null || true
# files.ruff holds absolute paths; keep them as they are for du.

# run_once KEY RUN COMMAND: runs COMMAND (a word list) once, output in $OUT/KEY.*;
# from the second round on, appends "seconds peak_kb" to $OUT/KEY.samples.
run_once() {
    local key=$1 run=$2 command=$3 start end
    start=$EPOCHREALTIME
    # shellcheck disable=SC2086  # the command is a word list on purpose
    "$TIME_BIN" -f %M -o "$OUT/$key.rss" $command >"$OUT/$key.out" 2>"$OUT/$key.err" || true
    end=$EPOCHREALTIME
    if ((run > 0)); then
        printf '%s %s\n' "$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.4f", b - a }')" \
            "$(tail -n1 "$OUT/$key.rss")" >>"$OUT/$key.samples"
    fi
}
median() { sort -n | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
median_of() { cut -d' ' -f1 "$OUT/$1.samples" | median; }
# tool NAME: the key of the TOOLS row named NAME (`tool3`).
tool() {
    local index name
    for index in "${!TOOLS[@]}"; do
        IFS='|' read -r name _ <<<"${TOOLS[$index]}"
        [[ $name == "$1" ]] && { echo "tool$index"; return; }
    done
    log "no tool named $1"
    exit 1
}

# Each project on its own, as a user runs asyncfix on one project: its
# index then sees only that project's modules.
PROJECTS=(tree/packages/* tree/stdlib)
for project in "${PROJECTS[@]}"; do
    name=$(basename "$project")
    needed_files "$project" >"$OUT/files.async.$name"
done

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
log "timing ${#TOOLS[@]} commands on the whole tree and 2 on each of ${#PROJECTS[@]} projects, 1 warm-up + $RUNS timed rounds, $THREADS threads"
rm -f "$OUT"/*.samples
# The warm-up round fills both caches; the timed rounds find them warm.
rm -rf "$OUT/asyncfix-cache" "$OUT/ruff-cache"
for ((run = 0; run <= RUNS; run++)); do
    for index in "${!TOOLS[@]}"; do
        IFS='|' read -r _ _ command <<<"${TOOLS[$index]}"
        run_once "tool$index" "$run" "$command"
    done
    for project in "${PROJECTS[@]}"; do
        name=$(basename "$project")
        run_once "project.$name.check" "$run" "$ASYNCFIX check --no-cache --jobs $THREADS --color never $project"
        run_once "project.$name.parse" "$run" "$PARSE_ALL --threads $THREADS --files-from $OUT/files.async.$name"
    done
    ((run == 0)) || log "  round $run/$RUNS done"
done
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)

# --- the report ------------------------------------------------------------------

count_all=$(wc -l <"$OUT/files.all")
bytes_all=$(list_bytes "$OUT/files.all")
count_async=$(wc -l <"$OUT/files.async")
bytes_async=$(list_bytes "$OUT/files.async")
count_ruff=$(wc -l <"$OUT/files.ruff")
bytes_ruff=$(list_bytes "$OUT/files.ruff")

REPORT=$OUT/report.md
{
    echo "## asyncfix benchmark"
    echo
    echo "Machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), $(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo) RAM, $(uname -sr)"
    echo "Versions: $("$ASYNCFIX" --version) ($ASYNCFIX_REV), $("$RUFF_BIN" --version), $("$SG_BIN" --version), tree-sitter-python $(grep -A1 'name = "tree-sitter-python"' "$ROOT/Cargo.lock" | sed -n 's/version = "\(.*\)"/\1/p')"
    echo "Corpus: $DJANGO ${PACKAGES[*]}, Python $PYVER standard library"
    echo "Median of $RUNS runs after a warm-up (page cache warm), $THREADS threads. Peak RSS is the largest of the runs."
    echo "Load average before / after timing: $LOAD_BEFORE / $LOAD_AFTER (anything else running skews the numbers)."
    echo
    echo "| tool | files | MB | median wall s | files/s | MB/s | peak RSS MB | vs asyncfix check |"
    echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
    check_median=
    for index in "${!TOOLS[@]}"; do
        IFS='|' read -r name list command <<<"${TOOLS[$index]}"
        case $list in
            all) files=$count_all bytes=$bytes_all ;;
            async) files=$count_async bytes=$bytes_async ;;
            ruff) files=$count_ruff bytes=$bytes_ruff ;;
        esac
        wall=$(median_of "tool$index")
        rss=$(cut -d' ' -f2 "$OUT/tool$index.samples" | sort -n | tail -n1)
        [[ -z $check_median ]] && check_median=$wall
        awk -v name="$name" -v files="$files" -v bytes="$bytes" -v wall="$wall" -v rss="$rss" -v base="$check_median" 'BEGIN {
            mb = bytes / 1e6
            printf "| %s | %d | %.1f | %.3f | %.0f | %.1f | %.0f | %.2fx |\n", name, files, mb, wall, files / wall, mb / wall, rss / 1024, wall / base
        }'
        printf '%s\n' "$wall" >"$OUT/tool$index.median"
    done
    echo
    echo "files/MB: .py files asyncfix walks (ruff's row: what \`ruff --show-files\` lists)."
    echo "Files asyncfix must parse (holding \`async def\`, or read by its index): $count_async of $count_all ($(awk -v a="$bytes_async" 'BEGIN { printf "%.1f", a / 1e6 }') MB)."
    echo
    echo "### asyncfix check vs ruff"
    echo
    for pair in "asyncfix check|ruff --select ASYNC|cold, no cache" \
        "asyncfix check, warm cache|ruff --select ASYNC, warm cache|warm cache, nothing changed"; do
        IFS='|' read -r ours theirs label <<<"$pair"
        awk -v label="$label" -v c="$(<"$OUT/$(tool "$ours").median")" -v b="$(<"$OUT/$(tool "$theirs").median")" \
            'BEGIN { printf "- %s: asyncfix %.3f s / ruff %.3f s = **%.2fx**\n", label, c, b, c / b }'
    done
    echo
    echo "### asyncfix check vs a bare parse of the files it must parse"
    echo
    check=$(<"$OUT/tool0.median")
    for pair in "walk+read, parse needed|walk+read all, parse the needed files" \
        "parse needed files only|parse the needed files only (no walk)" "parse all (tree-sitter)|parse every file"; do
        IFS='|' read -r name label <<<"$pair"
        awk -v label="$label" -v c="$check" -v b="$(<"$OUT/$(tool "$name").median")" \
            'BEGIN { printf "- asyncfix check / %s: %.3f s / %.3f s = **%.2fx**\n", label, c, b, c / b }'
    done
    echo
    echo "Each project alone (\`asyncfix check PROJECT\` vs \`parse_all --files-from\` the files it must parse):"
    echo
    echo "| project | files | needed files | needed MB | check s | parse needed s | ratio |"
    echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"
    sum_check=0 sum_parse=0
    for project in "${PROJECTS[@]}"; do
        name=$(basename "$project")
        check=$(median_of "project.$name.check")
        parse=$(median_of "project.$name.parse")
        sum_check=$(awk -v a="$sum_check" -v b="$check" 'BEGIN { print a + b }')
        sum_parse=$(awk -v a="$sum_parse" -v b="$parse" 'BEGIN { print a + b }')
        awk -v name="$name" -v files="$(grep -cF "$project/" "$OUT/files.all")" \
            -v async="$(wc -l <"$OUT/files.async.$name")" -v bytes="$(list_bytes "$OUT/files.async.$name")" \
            -v c="$check" -v p="$parse" \
            'BEGIN { printf "| %s | %d | %d | %.1f | %.3f | %.3f | %s |\n", name, files, async, bytes / 1e6, c, p, async ? sprintf("%.1fx", c / p) : "-" }'
    done
    awk -v c="$sum_check" -v p="$sum_parse" 'BEGIN { printf "| **sum** | | | | %.3f | %.3f | %.1fx |\n", c, p, c / p }'
    echo
    echo "Findings (last run): asyncfix check: $(grep -Eo '^Found [0-9]+' "$OUT/tool0.out" | grep -Eo '[0-9]+' || echo 0) sites;" \
        "ruff ASYNC: $(grep -cE '^[^ ]+:[0-9]+:[0-9]+: ASYNC' "$OUT/$(tool "ruff --select ASYNC").out" || true) diagnostics;" \
        "ast-grep: $(grep -c '^warning\[orm-get-in-async\]' "$OUT/$(tool "ast-grep scan").out" || true) matches."
    echo "parse_all: $(tail -n1 "$OUT/$(tool "parse all (tree-sitter)").err")"
    echo
    echo "Commands (run from bench/corpus):"
    echo
    for index in "${!TOOLS[@]}"; do
        IFS='|' read -r name list command <<<"${TOOLS[$index]}"
        # shellcheck disable=SC2016  # the backticks are Markdown
        printf -- '- %s: `%s`\n' "$name" "${command//$ROOT\//../../}"
    done
} >"$REPORT"

# --- memory on the replicated corpus --------------------------------------------
if ((REPLICAS > 1)); then
    log "memory: one run of each tool on $REPLICAS copies"
    "$PARSE_ALL" --list "tree-x$REPLICAS" >"$OUT/files.replicated"
    # One untimed read of every copy, so the first tool timed does not pay
    # for the page cache.
    "$PARSE_ALL" --read-only "tree-x$REPLICAS" >/dev/null
    count_rep=$(wc -l <"$OUT/files.replicated")
    bytes_rep=$(list_bytes "$OUT/files.replicated")
    {
        echo
        echo "### $REPLICAS copies of the corpus ($count_rep files, $(awk -v b="$bytes_rep" 'BEGIN { printf "%.0f", b / 1e6 }') MB), one run each"
        echo
        echo "| tool | wall s | peak RSS MB |"
        echo "| --- | ---: | ---: |"
        for key in "asyncfix check" "asyncfix diff" "parse all (tree-sitter)" "ruff --select ASYNC" "ast-grep scan"; do
            index=$(tool "$key")
            index=${index#tool}
            IFS='|' read -r name list command <<<"${TOOLS[$index]}"
            command=${command% tree}" tree-x$REPLICAS"
            start=$EPOCHREALTIME
            # shellcheck disable=SC2086
            "$TIME_BIN" -f %M -o "$OUT/rep$index.rss" $command >/dev/null 2>"$OUT/rep$index.err" || true
            end=$EPOCHREALTIME
            awk -v name="$name" -v a="$start" -v b="$end" -v rss="$(tail -n1 "$OUT/rep$index.rss")" \
                'BEGIN { printf "| %s | %.2f | %.0f |\n", name, b - a, rss / 1024 }'
        done
    } >>"$REPORT"
fi

cat "$REPORT"
log "report: $REPORT"
