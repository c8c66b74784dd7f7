"""Shared helpers of the SQLAlchemy accuracy harness (scripts/sa_accuracy.sh):
the package's Python files, its ORM relationship declarations, byte
positions as `ast` counts them, and asyncfix's JSON output.

Python standard library only.
"""

import ast
import json
import os
import re
import subprocess
import sys
from pathlib import Path

# Positions are counted as the Django harness counts them.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "accuracy"))
import common as accuracy_common  # noqa: E402

# Eager loader options. `contains_eager` fills the relationship from a JOIN
# the statement already has; renaming it to `lazyload` leaves it unloaded
# just the same, so it is mutated like the others.
LOADERS = ("selectinload", "joinedload", "subqueryload", "immediateload", "contains_eager")
# `relationship(lazy=...)` values under which leaving the option out queries
# nothing: the eager ones load the relationship with its parent, `noload`
# reads an empty collection or None.
EAGER_STRATEGIES = {"selectin", "joined", "subquery", "immediate", False, "noload"}


def python_files(root):
    """Every .py file under ROOT (relative paths, sorted), skipping the
    folders a walker would never check."""
    out = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in ("__pycache__", ".git", "node_modules"))
        for name in sorted(files):
            if name.endswith(".py"):
                out.append(os.path.relpath(os.path.join(folder, name), root))
    return out


_PARSED = {}


def parse(path):
    """(bytes, tree) or (bytes, None) when the file does not parse. Kept
    until clear_parsed() (keyed by path, size and mtime, so an edited file
    is read again): the relationships, the same-function cases and the
    caller cases each read every file."""
    st = os.stat(path)
    key = (os.path.abspath(path), st.st_size, st.st_mtime_ns)
    if key in _PARSED:
        return _PARSED[key]
    with open(path, "rb") as f:
        data = f.read()
    try:
        out = data, ast.parse(data, filename=path)
    except (SyntaxError, ValueError):
        out = data, None
    _PARSED[key] = out
    return out


def clear_parsed():
    _PARSED.clear()


def call_name(call):
    """`f` of `f(...)` or `x.f(...)`, else None."""
    func = call.func
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return None


# --- positions ---------------------------------------------------------------

class Lines(accuracy_common.Lines):
    """Byte offsets of a source text's lines, as `ast` counts them (the
    Django harness's), and whole lines by number."""

    def line(self, lineno):
        """The text of line LINENO, without its end of line."""
        start = self.starts[lineno - 1]
        end = self.starts[lineno] if lineno < len(self.starts) else len(self.data)
        return self.data[start:end].rstrip(b"\r\n").decode("utf-8", "replace")

    def byte_col(self, lineno, char_col):
        """A 0-based character column as a byte column."""
        return len(self.line(lineno)[:char_col].encode("utf-8"))


# --- the models ----------------------------------------------------------------

def _lazy_value(call):
    """The `lazy=` of a relationship()/backref() call: a string, a bool, or
    "?" for something computed; "select" when absent."""
    for k in call.keywords:
        if k.arg == "lazy":
            if isinstance(k.value, ast.Constant):
                return k.value.value
            return "?"
    return "select"


def _is_relationship(node):
    return isinstance(node, ast.Call) and call_name(node) in ("relationship", "relation")


def relationships(root, files):
    """{(class name, attribute): lazy} for every relationship the package
    declares: `x = relationship(...)`, `x: Mapped[...] = relationship(...)`,
    `@declared_attr def x(cls): return relationship(...)`, and the other side
    of `backref="x"` / `backref=backref("x", lazy=...)`."""
    rels = {}
    for rel in files:
        _, tree = parse(os.path.join(root, rel))
        if tree is None:
            continue
        for cls in ast.walk(tree):
            if not isinstance(cls, ast.ClassDef):
                continue
            for stmt in cls.body:
                value, names = None, []
                if isinstance(stmt, ast.Assign):
                    value = stmt.value
                    names = [t.id for t in stmt.targets if isinstance(t, ast.Name)]
                elif isinstance(stmt, ast.AnnAssign) and stmt.value is not None:
                    value = stmt.value
                    names = [stmt.target.id] if isinstance(stmt.target, ast.Name) else []
                elif isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    for sub in ast.walk(stmt):
                        if isinstance(sub, ast.Return) and _is_relationship(sub.value):
                            value, names = sub.value, [stmt.name]
                            break
                if not _is_relationship(value):
                    continue
                for name in names:
                    rels[(cls.name, name)] = _lazy_value(value)
                target = value.args[0] if value.args else None
                target_name = None
                if isinstance(target, ast.Constant) and isinstance(target.value, str):
                    target_name = target.value.rsplit(".", 1)[-1]
                elif isinstance(target, ast.Name):
                    target_name = target.id
                for k in value.keywords:
                    if k.arg != "backref" or target_name is None:
                        continue
                    if isinstance(k.value, ast.Constant) and isinstance(k.value.value, str):
                        rels[(target_name, k.value.value)] = "select"
                    elif isinstance(k.value, ast.Call) and k.value.args and isinstance(k.value.args[0], ast.Constant):
                        rels[(target_name, k.value.args[0].value)] = _lazy_value(k.value)
    return rels


def declared_eager(rels, cls, attr):
    """True when the relationship CLS.ATTR (or, for an unknown class, every
    relationship named ATTR) is declared with an eager (or `noload`) `lazy=`
    strategy."""
    if cls is not None and (cls, attr) in rels:
        return rels[(cls, attr)] in EAGER_STRATEGIES
    same = [lazy for (c, a), lazy in rels.items() if a == attr]
    return bool(same) and all(lazy in EAGER_STRATEGIES for lazy in same)


# --- asyncfix ------------------------------------------------------------------

class HarnessError(Exception):
    pass


def run_check(asyncfix, cwd, select, target="."):
    """`asyncfix check --select SELECT --output-format json TARGET` from CWD:
    the list of sites. Exit 0 and 1 are outcomes; 2 only for a file that is
    not UTF-8 (asyncfix still reports the rest); anything else, or a panic,
    is a harness error."""
    proc = subprocess.run(
        [asyncfix, "check", "--select", select, "--output-format", "json", "--color", "never", target],
        cwd=cwd, capture_output=True, text=True,
    )
    err = proc.stderr
    if "panicked" in err or proc.returncode > 2 or (proc.returncode == 2 and "not valid UTF-8" not in err):
        raise HarnessError(f"asyncfix check in {cwd}: exit {proc.returncode}: {err[:500]}")
    try:
        sites = json.loads(proc.stdout) if proc.stdout.strip() else []
    except json.JSONDecodeError as e:
        raise HarnessError(f"asyncfix check in {cwd}: output is not JSON ({e}): {proc.stdout[:300]}")
    for s in sites:
        s["path"] = os.path.normpath(s["path"])
    return sites


def site_expr(site):
    """The expression a SA001/SA002 message quotes: `user.role_profiles`."""
    m = re.match(r"`([^`]*)`", site.get("message", ""))
    return m.group(1) if m else ""
