"""Shared helpers of the accuracy harness: wrapper recognition, byte
positions, and the aligner that compares a tree holding wrappers with the
same tree without them.

Python standard library only.
"""

import ast
import os
import re

# The wrappers the harness strips and recognises in asyncfix's output.
WRAPPERS = ("sync_to_async", "database_sync_to_async")
WRAPPER_MODULES = ("asgiref.sync", "channels.db")


def wrapper_names(tree):
    """Local names that mean a wrapper in this module: the two names
    themselves, and every alias they are imported under anywhere in the file
    (`from asgiref.sync import sync_to_async as s2a`)."""
    names = set(WRAPPERS)
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            for alias in node.names:
                if alias.name in WRAPPERS and alias.asname:
                    names.add(alias.asname)
    return names


def is_wrapper(func, names):
    """`sync_to_async`, an alias of it, or `anything.sync_to_async`."""
    if isinstance(func, ast.Name):
        return func.id in names
    if isinstance(func, ast.Attribute):
        return func.attr in WRAPPERS
    return False


def wrapper_call(node, names):
    """If NODE is `await W(F, **options)(ARGS)`, returns (outer call, W(...)
    call, F); else None. Keyword options of W (`thread_sensitive=...`) are
    allowed; exactly one positional argument, not starred."""
    if not isinstance(node, ast.Await):
        return None
    outer = node.value
    if not isinstance(outer, ast.Call) or not isinstance(outer.func, ast.Call):
        return None
    inner = outer.func
    if not is_wrapper(inner.func, names):
        return None
    if len(inner.args) != 1 or isinstance(inner.args[0], ast.Starred):
        return None
    if any(k.arg is None for k in inner.keywords):
        return None
    return outer, inner, inner.args[0]


def plain_lambda_body(func):
    """The body of `lambda: E` (no parameters at all), else None."""
    if not isinstance(func, ast.Lambda):
        return None
    a = func.args
    if a.posonlyargs or a.args or a.vararg or a.kwonlyargs or a.kwarg:
        return None
    return func.body


# --- positions ---------------------------------------------------------------

class Lines:
    """Byte offsets of a source text's lines, as `ast` counts them (lineno
    from 1, col_offset in UTF-8 bytes)."""

    def __init__(self, data: bytes):
        self.data = data
        self.starts = [0]
        for m in re.finditer(rb"\r\n|\n|\r", data):
            self.starts.append(m.end())

    def offset(self, lineno, col):
        return self.starts[lineno - 1] + col

    def span(self, node):
        return (self.offset(node.lineno, node.col_offset),
                self.offset(node.end_lineno, node.end_col_offset))

    def text(self, node):
        start, end = self.span(node)
        return self.data[start:end].decode("utf-8")

    def char_col(self, lineno, col):
        """0-based column in characters of a byte column."""
        start = self.starts[lineno - 1]
        return len(self.data[start:start + col].decode("utf-8", "replace"))


def node_span(node):
    return (node.lineno, node.col_offset, node.end_lineno, node.end_col_offset)


def covers(outer, inner):
    """Span OUTER (line, col, end_line, end_col) contains span INNER."""
    return outer[:2] <= inner[:2] and inner[2:] <= outer[2:]


def squash(text):
    """Whitespace collapsed: the key of a text in the judgements file."""
    return " ".join(text.split())


def dump(node):
    return ast.dump(node, include_attributes=False)


def parse(data, path="<file>"):
    return ast.parse(data, filename=path, type_comments=False)


def python_files(root):
    """Relative paths of the .py files under ROOT, skipping hidden folders
    (asyncfix's walker skips them too)."""
    out = []
    for d, dirs, files in os.walk(root):
        dirs[:] = sorted(x for x in dirs if not x.startswith(".") and x != "__pycache__")
        for f in sorted(files):
            if f.endswith(".py"):
                out.append(os.path.relpath(os.path.join(d, f), root))
    return out


def enclosing_function(parents, node):
    """The nearest function-like node around NODE (def, async def, lambda)."""
    cur = parents.get(id(node))
    while cur is not None and not isinstance(cur, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
        cur = parents.get(id(cur))
    return cur


def parent_map(tree):
    parents = {}
    for node in ast.walk(tree):
        for child in ast.iter_child_nodes(node):
            parents[id(child)] = node
    return parents


# --- the aligner -------------------------------------------------------------
#
# align(a, b) walks tree A (with wrappers: the original file, or asyncfix's
# output) and tree B (the stripped file) in step. Where they differ, A must
# hold a wrapper form whose unwrapped version is B's node there:
#
#   call     await W(F)(ARGS)                 <->  F(ARGS)
#   lambda   await W(lambda: E)()             <->  E
#   iterate  await W(list|bool|tuple)(X)      <->  X     (for x in X, if X:)
#   native   await X.aNAME(ARGS)              <->  X.NAME(ARGS)
#   async-for  async for / [... async for ...]  <->  for / [... for ...]
#
# Each match is an event ("wrap", b_node, form, a_node). Wrapper imports
# added or removed are ("import", a_node, b_node) events. Anything else is
# ("diff", a_node, b_node): a change the harness cannot explain.

ITERATE_FUNCS = {"list", "bool", "tuple", "len"}
STMT_LISTS = {"body", "orelse", "finalbody", "handlers", "cases"}


class Aligner:
    def __init__(self, names):
        self.names = names

    def align(self, a, b):
        events = []
        self._node(a, b, events)
        return events

    def _node(self, a, b, events):
        if type(a) is type(b):
            trial = []
            self._fields(a, b, trial)
            if not any(e[0] == "diff" for e in trial):
                events.extend(trial)
                return
            if isinstance(a, ast.Await) and self._forms(a, b, events):
                return
            events.extend(trial)
            return
        if isinstance(a, ast.Await) and self._forms(a, b, events):
            return
        if isinstance(a, ast.AsyncFor) and isinstance(b, ast.For):
            events.append(("wrap", b.iter, "async-for", a))
            for field in ("target", "iter", "body", "orelse"):
                self._value(getattr(a, field), getattr(b, field), events, field)
            return
        events.append(("diff", a, b))

    def _forms(self, a, b, events):
        """Tries each wrapper form of A against B; on success adds the
        events and returns True."""
        for attempt in (self._form_lambda, self._form_call, self._form_iterate, self._form_native):
            trial = []
            if attempt(a, b, trial) and not any(e[0] == "diff" for e in trial):
                events.extend(trial)
                return True
        return False

    def _form_call(self, a, b, trial):
        w = wrapper_call(a, self.names)
        if not w or not isinstance(b, ast.Call):
            return False
        outer, _inner, func = w
        if plain_lambda_body(func) is not None:
            return False
        trial.append(("wrap", b, "call", a))
        self._node(func, b.func, trial)
        self._value(outer.args, b.args, trial, "args")
        self._value(outer.keywords, b.keywords, trial, "keywords")
        return True

    def _form_lambda(self, a, b, trial):
        w = wrapper_call(a, self.names)
        if not w:
            return False
        outer, _inner, func = w
        body = plain_lambda_body(func)
        if body is None or outer.args or outer.keywords:
            return False
        trial.append(("wrap", b, "lambda", a))
        self._node(body, b, trial)
        return True

    def _form_iterate(self, a, b, trial):
        w = wrapper_call(a, self.names)
        if not w:
            return False
        outer, _inner, func = w
        if not (isinstance(func, ast.Name) and func.id in ITERATE_FUNCS):
            return False
        if len(outer.args) != 1 or outer.keywords:
            return False
        trial.append(("wrap", b, "iterate", a))
        self._node(outer.args[0], b, trial)
        return True

    def _form_native(self, a, b, trial):
        call = a.value
        if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute)
                and isinstance(b, ast.Call) and isinstance(b.func, ast.Attribute)):
            return False
        if call.func.attr != "a" + b.func.attr:
            return False
        trial.append(("wrap", b, "native", a))
        self._node(call.func.value, b.func.value, trial)
        self._value(call.args, b.args, trial, "args")
        self._value(call.keywords, b.keywords, trial, "keywords")
        return True

    def _fields(self, a, b, events):
        if isinstance(a, ast.ImportFrom):
            self._import_from(a, b, events)
            return
        if isinstance(a, ast.comprehension) and a.is_async and not b.is_async:
            events.append(("wrap", b.iter, "async-for", a))
            for field in ("target", "iter", "ifs"):
                self._value(getattr(a, field), getattr(b, field), events, field)
            return
        for field in a._fields:
            self._value(getattr(a, field, None), getattr(b, field, None), events, field)

    def _import_from(self, a, b, events):
        def names(node, drop):
            return [(x.name, x.asname) for x in node.names if not (drop and x.name in WRAPPERS)]
        if (a.module, a.level) != (b.module, b.level):
            events.append(("diff", a, b))
        elif names(a, False) == names(b, False):
            return
        elif names(a, True) == names(b, True):
            events.append(("import", a, b))
        else:
            events.append(("diff", a, b))

    def _value(self, va, vb, events, field):
        if isinstance(va, ast.AST) and isinstance(vb, ast.AST):
            self._node(va, vb, events)
        elif isinstance(va, list) and isinstance(vb, list):
            if len(va) == len(vb):
                for x, y in zip(va, vb):
                    self._value(x, y, events, field)
            elif field in STMT_LISTS:
                self._statements(va, vb, events)
            else:
                events.append(("diff", va, vb))
        elif va != vb:
            events.append(("diff", va, vb))

    def _statements(self, la, lb, events):
        """Statement lists of different lengths: wrapper imports added or
        removed, the rest paired up."""
        def wrapper_import(s):
            return isinstance(s, ast.ImportFrom) and all(x.name in WRAPPERS for x in s.names)
        for s in la:
            if wrapper_import(s):
                events.append(("import", s, None))
        for s in lb:
            if wrapper_import(s):
                events.append(("import", None, s))
        ra = [s for s in la if not wrapper_import(s)]
        rb = [s for s in lb if not wrapper_import(s)]
        if len(ra) != len(rb):
            events.append(("diff", la, lb))
            return
        for x, y in zip(ra, rb):
            self._node(x, y, events)
