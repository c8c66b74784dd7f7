#!/usr/bin/env bash
# Installs asyncfix as a user would and runs the installed command (issue 14,
# part 6): `pip install .` into a fresh virtualenv (target/wheel-venv) builds
# the wheel with maturin from PyPI; the installed `asyncfix check` on the demo
# project must exit 1 and print fixtures/projects/demo/check.txt; and
# `pre-commit try-repo . asyncfix-check --all-files` (pre-commit pinned) on a
# git copy of the demo must run the hook and fail on the demo's sites; and
# `cargo install --path .` into a scratch root must give the same command.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
demo=fixtures/projects/demo/input

# One cargo target folder for the wheel builds (pip's, then pre-commit's
# own `pip install`), apart from the test builds in target/release.
export CARGO_TARGET_DIR="$root/target/wheel-target"

rm -rf target/wheel-venv
python3 -m venv target/wheel-venv
target/wheel-venv/bin/pip install --quiet --disable-pip-version-check .
installed="$root/target/wheel-venv/bin/asyncfix"

status=0
(cd "$demo" && "$installed" check . --color never) >target/wheel-check.txt || status=$?
if [ "$status" -ne 1 ]; then
    echo "install_check: the installed asyncfix check exited $status on the demo, expected 1" >&2
    exit 1
fi
diff -u fixtures/projects/demo/check.txt target/wheel-check.txt
echo "install_check: pip install . gives a working asyncfix ($("$installed" --version))"

# `cargo install --path .`, reusing the wheel builds' target folder.
rm -rf target/cargo-root
cargo install --quiet --locked --path . --root target/cargo-root
status=0
(cd "$demo" && "$root/target/cargo-root/bin/asyncfix" check . --color never) >target/cargo-check.txt || status=$?
if [ "$status" -ne 1 ]; then
    echo "install_check: the cargo-installed asyncfix check exited $status on the demo, expected 1" >&2
    exit 1
fi
diff -u fixtures/projects/demo/check.txt target/cargo-check.txt
echo "install_check: cargo install --path . gives a working asyncfix"

if [ ! -x target/precommit-venv/bin/pre-commit ]; then
    python3 -m venv target/precommit-venv
    target/precommit-venv/bin/pip install --quiet --disable-pip-version-check 'pre-commit==4.7.0'
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp -R "$demo/." "$work/"
git -C "$work" init -q
git -C "$work" add -A
git -C "$work" -c user.name=asyncfix-ci -c user.email=ci@invalid commit -q -m demo
export PRE_COMMIT_HOME="$root/target/pre-commit-home"
status=0
(cd "$work" && "$root/target/precommit-venv/bin/pre-commit" try-repo "$root" asyncfix-check --all-files --color never) \
    >target/precommit.txt 2>&1 || status=$?
# The hook fails on the demo's sites: pre-commit exits 1 and shows them.
if [ "$status" -ne 1 ] \
    || ! grep -q '^asyncfix check\.*Failed$' target/precommit.txt \
    || ! grep -qF 'auth/mutation.py:18:16: DJ004 [*]' target/precommit.txt \
    || ! grep -qF 'Found 22 sites' target/precommit.txt; then
    echo "install_check: pre-commit try-repo exited $status; expected the asyncfix-check hook to fail on the demo:" >&2
    cat target/precommit.txt >&2
    exit 1
fi
echo "install_check: pre-commit try-repo . asyncfix-check ran the hook on the demo (failed on its 22 sites, as it should)"
