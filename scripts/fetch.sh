# shellcheck shell=bash
# Sourced by scripts/corpus.sh, scripts/sa_accuracy.sh and bench/run.sh: downloads pinned source
# distributions from PyPI into a shared cache.
#
#   fetch_sdist CACHE_DIR SPEC   prints the folder SPEC (`Django==5.2.8`) is unpacked in
#
# Source distributions rather than wheels: Django's sdist carries its test
# suite (tests/async, tests/auth_tests, ...), the largest body of real async
# Django code there is; the wheels hold no site at all. A `.complete` marker
# makes an interrupted unpack count as missing, so it is fetched again.
# fetch_sdist.py takes the archive straight from the index (hash checked):
# `pip download` would build the sdist's build requirements first.
# Needs `log` from the sourcing script.
fetch_sdist() {
    local cache=$1 spec=$2
    local dest=$cache/${spec/==/-}
    if [[ -f $dest/.complete ]]; then
        printf '%s\n' "$dest"
        return
    fi
    log "downloading $spec"
    local tmp archive
    tmp=$(mktemp -d)
    "${PYTHON:-python3}" "$(dirname "${BASH_SOURCE[0]}")/fetch_sdist.py" "$spec" "$tmp" >/dev/null
    rm -rf "$dest"
    mkdir -p "$dest"
    for archive in "$tmp"/*; do
        case $archive in
            *.tar.gz) tar -xzf "$archive" -C "$dest" --strip-components=1 ;;
            *.zip) unzip -q "$archive" -d "$tmp/unzipped" && cp -R "$tmp"/unzipped/*/. "$dest" ;;
            *) log "unexpected download: $archive"; exit 2 ;;
        esac
    done
    rm -rf "$tmp"
    touch "$dest/.complete"
    printf '%s\n' "$dest"
}

# fetch_wheel CACHE_DIR SPEC: like fetch_sdist, for a package whose versions
# ship only wheels (pure-Python ones: a wheel is a zip of the import roots).
fetch_wheel() {
    local cache=$1 spec=$2
    local dest=$cache/${spec/==/-}-wheel
    if [[ -f $dest/.complete ]]; then
        printf '%s\n' "$dest"
        return
    fi
    log "downloading $spec (wheel)"
    local tmp wheel
    tmp=$(mktemp -d)
    pip download --quiet --disable-pip-version-check --no-deps --only-binary :all: -d "$tmp" "$spec" >&2
    rm -rf "$dest"
    mkdir -p "$dest"
    for wheel in "$tmp"/*.whl; do
        unzip -q "$wheel" -d "$dest"
    done
    rm -rf "$tmp"
    touch "$dest/.complete"
    printf '%s\n' "$dest"
}
