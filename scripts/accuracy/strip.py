"""Strips the awaited wrapper sites of a source tree, in place.

    python3 strip.py PACKAGE ROOT MANIFEST

Every `await W(F)(ARGS)` becomes `F(ARGS)` and every `await W(lambda: E)()`
becomes `E`, where W is `sync_to_async`, `database_sync_to_async`, an alias
either is imported under, or `anything.sync_to_async` (keyword options of W
such as `thread_sensitive=` are dropped with it). Only sites inside an
`async def` are stripped (where the wrapper runs on the event loop); a
lambda with parameters is left alone. Everything else stays byte for byte,
but for the parentheses the new expression needs: `(await W(f)()).attr`
becomes `f().attr`, `await W(lambda: a or b)() + 1` becomes `(a or b) + 1`.
Each rewrite is checked: the file must parse to the tree that has the
wrapper node replaced by the unwrapped one.

A wrapper import that the stripping leaves unused is removed (the whole
statement when it was its only name). Finally the stripped file must
parse, and aligning it with the original must show exactly the recorded
sites and import changes; any other difference is a harness error.

Appends one JSON line per site to MANIFEST (score.py adds each site's
category: visible, helper, other or unjudged).
"""

import ast
import json
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import (  # noqa: E402
    WRAPPERS, Aligner, Lines, dump, enclosing_function, node_span, parent_map,
    parse, plain_lambda_body, python_files, squash, wrapper_call, wrapper_names,
)


class HarnessError(Exception):
    pass


# --- which sites show the ORM ------------------------------------------------
#
# "visible": the database access can be read off the stripped expression
# itself. Each rule is a regular expression over the stripped text (whitespace
# collapsed); the first that matches names the reason.

INSTANCE_EXCLUDED = re.compile(r"serializer|form|session", re.I)

VISIBLE_RULES = [
    # A manager: Model.objects, get_user_model().objects, _default_manager.
    ("manager", re.compile(r"\.objects\b|\b_default_manager\b|\b_base_manager\b")),
    # A QuerySet being built in the expression (the wrapper runs it).
    ("queryset", re.compile(
        r"\.(all|filter|exclude|select_related|prefetch_related|annotate|values|values_list"
        r"|order_by|distinct|only|defer|using|select_for_update|none)\(")),
    # A variable named as a QuerySet, evaluated.
    ("queryset-variable", re.compile(
        r"\b(qs|queryset|\w+_qs|\w+_queryset)\.(get|count|exists|first|last|latest|earliest"
        r"|aggregate|update|delete|in_bulk|iterator|contains)\("
        r"|^(list|len|bool|tuple|sorted|set)\((qs|queryset|\w+_qs|\w+_queryset)\)$")),
    # A related manager: obj.relation.add(...) / remove / clear / set.
    ("related-manager", re.compile(r"^[\w.]+\.\w+\.(add|remove|clear|set)\(")),
    # django.core.cache.
    ("cache", re.compile(r"\bcaches?\s*[.\[]")),
    # django.contrib.auth and django.shortcuts helpers that query.
    ("auth", re.compile(
        r"(^|[^.\w])(authenticate|login|logout|get_user|update_session_auth_hash"
        r"|get_object_or_404|get_list_or_404)\(")),
    # JWT tokens backed by the blacklist tables.
    ("jwt", re.compile(r"\b(RefreshToken|SlidingToken)\b|\.(blacklist|check_blacklist)\(")),
]
# A model instance method on a plain dotted receiver that is not `self` or
# `cls` (whose class the text does not show) nor named as a serializer, a
# form or a session store (APIs whose queries are inside).
INSTANCE_RULE = re.compile(r"^([\w.]+)\.(save|delete|refresh_from_db|full_clean|validate_unique)\(")


def visible_rule(text):
    """The name of the first visibility rule TEXT matches, or None."""
    text = squash(text)
    for name, pattern in VISIBLE_RULES:
        if pattern.search(text):
            return name
    m = INSTANCE_RULE.match(text)
    if m and m.group(1) not in ("self", "cls") and not INSTANCE_EXCLUDED.search(m.group(1).rsplit(".", 1)[-1]):
        return "instance"
    return None


# --- stripping ---------------------------------------------------------------

def replace_child(parent, old, new):
    """Puts NEW where OLD is in PARENT; returns a function that undoes it."""
    for field, value in ast.iter_fields(parent):
        if value is old:
            setattr(parent, field, new)
            return lambda: setattr(parent, field, old)
        if isinstance(value, list):
            for i, item in enumerate(value):
                if item is old:
                    value[i] = new
                    return lambda: value.__setitem__(i, old)
    raise HarnessError("node not found in its parent")


def is_primary(node):
    return isinstance(node, (ast.Name, ast.Attribute, ast.Call, ast.Subscript, ast.Constant))


def enclosing_parens(data, start, end):
    """Offsets (open, close_end) of a `(` right before START and a `)` right
    after END, with only whitespace between; None when there are none."""
    i = start - 1
    while i >= 0 and data[i:i + 1] in (b" ", b"\t", b"\n", b"\r", b"\f"):
        i -= 1
    j = end
    while j < len(data) and data[j:j + 1] in (b" ", b"\t", b"\n", b"\r", b"\f"):
        j += 1
    if i >= 0 and data[i:i + 1] == b"(" and data[j:j + 1] == b")":
        return i, j + 1
    return None


def find_sites(tree, names):
    parents = parent_map(tree)
    sites = []
    for node in ast.walk(tree):
        w = wrapper_call(node, names)
        if not w:
            continue
        if not isinstance(enclosing_function(parents, node), ast.AsyncFunctionDef):
            continue
        outer, inner, func = w
        if isinstance(func, ast.Lambda):
            body = plain_lambda_body(func)
            if body is None or outer.args or outer.keywords:
                continue  # a lambda with parameters: left alone
        sites.append((node, parents))
    sites.sort(key=lambda s: (s[0].lineno, s[0].col_offset), reverse=True)
    return sites


def strip_one(data, tree, node, parents, names, path):
    """Returns (new data, record) for the site NODE."""
    lines = Lines(data)
    outer, inner, func = wrapper_call(node, names)
    start, end = lines.span(node)
    body = plain_lambda_body(func)
    if body is not None:
        form = "lambda"
        new_node = body
        text = lines.text(body)
    else:
        form = "call"
        new_node = ast.Call(func=func, args=outer.args, keywords=outer.keywords)
        func_text = lines.text(func)
        if not is_primary(func):
            func_text = "(" + func_text + ")"
        # The argument list exactly as written: from the end of W(...) to the end.
        text = func_text + data[lines.span(inner)[1]:lines.span(outer)[1]].decode("utf-8")

    parent = parents[id(node)]
    undo = replace_child(parent, node, new_node)
    wanted = dump(tree)
    undo()

    encoded = text.encode("utf-8")
    candidates = []
    # `(await W(f)()).attr`: the parentheses were there for `await`; the
    # unwrapped call does not need them.
    if (isinstance(parent, (ast.Attribute, ast.Subscript)) and parent.value is node) or \
            (isinstance(parent, ast.Call) and parent.func is node):
        around = enclosing_parens(data, start, end)
        if around:
            candidates.append(("unparenthesized", data[:around[0]] + encoded + data[around[1]:], around[0]))
    candidates.append(("bare", data[:start] + encoded + data[end:], start))
    candidates.append(("parenthesized", data[:start] + b"(" + encoded + b")" + data[end:], start))
    for how, new_data, at in candidates:
        try:
            new_tree = parse(new_data, path)
        except SyntaxError:
            continue
        if dump(new_tree) == wanted:
            stripped = new_data[at:at + len(encoded) + (2 if how == "parenthesized" else 0)]
            return new_data, {
                "orig_line": node.lineno,
                "orig_col": lines.char_col(node.lineno, node.col_offset),
                "orig_pos": [node.lineno, node.col_offset],
                "wrapper": ast.unparse(inner.func),
                "form": form,
                "options": [k.arg for k in inner.keywords],
                "original": data[start:end].decode("utf-8"),
                "stripped": stripped.decode("utf-8"),
                "parens": how,
            }
    raise HarnessError(f"{path}:{node.lineno}: no rewrite of the site parses to the unwrapped tree")


def used_names(tree):
    return [n.id for n in ast.walk(tree) if isinstance(n, ast.Name)]


def all_exports(tree):
    """Strings in a module-level `__all__`."""
    out = set()
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets):
            for c in ast.walk(node.value):
                if isinstance(c, ast.Constant) and isinstance(c.value, str):
                    out.add(c.value)
    return out


def remove_unused_import(data, tree, original_tree, path):
    """Removes one wrapper import that stripping left unused; returns the new
    data, or None when there is none."""
    before = used_names(original_tree)
    after = used_names(tree)
    exported = all_exports(tree)
    parents = parent_map(tree)
    lines = Lines(data)
    for node in sorted((n for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)),
                       key=lambda n: (n.lineno, n.col_offset), reverse=True):
        for i, alias in enumerate(node.names):
            local = alias.asname or alias.name
            if alias.name not in WRAPPERS or local not in before or local in after or local in exported:
                continue
            if len(node.names) > 1:
                if i < len(node.names) - 1:
                    cut = (lines.span(alias)[0], lines.span(node.names[i + 1])[0])
                else:
                    cut = (lines.span(node.names[i - 1])[1], lines.span(alias)[1])
                return data[:cut[0]] + data[cut[1]:]
            start, end = lines.span(node)
            parent = parents[id(node)]
            block = next(v for f, v in ast.iter_fields(parent) if isinstance(v, list) and node in v)
            line_start = lines.starts[node.lineno - 1]
            line_end = lines.starts[node.end_lineno] if node.end_lineno < len(lines.starts) else len(data)
            rest = data[end:line_end]
            alone = not data[line_start:start].strip() and (not rest.strip() or rest.strip().startswith(b"#"))
            if alone and len(block) > 1:
                return data[:line_start] + data[line_end:]
            return data[:start] + b"pass" + data[end:]
    return None


def strip_file(data, path):
    """Returns (stripped data, records) for one file."""
    original_tree = parse(data, path)
    names = wrapper_names(original_tree)
    records = []
    while True:
        tree = parse(data, path)
        sites = find_sites(tree, names)
        if not sites:
            break
        node, parents = sites[0]
        data, record = strip_one(data, tree, node, parents, names, path)
        records.append(record)
    if not records:
        return data, records
    while True:
        tree = parse(data, path)
        new = remove_unused_import(data, tree, original_tree, path)
        if new is None:
            break
        data = new

    # The check: stripped parses, and differs from the original at the
    # recorded sites and wrapper imports only.
    try:
        stripped_tree = parse(data, path)
    except SyntaxError as err:
        raise HarnessError(f"{path}: stripped file does not parse: {err}")
    compile(data, path, "exec", dont_inherit=True)
    events = Aligner(names).align(original_tree, stripped_tree)
    diffs = [e for e in events if e[0] == "diff"]
    if diffs:
        raise HarnessError(f"{path}: stripped file differs from the original beyond the sites: {diffs[0][1]!r}")
    wraps = {(e[3].lineno, e[3].col_offset): e[1] for e in events if e[0] == "wrap"}
    recorded = {tuple(r["orig_pos"]) for r in records}
    if set(wraps) != recorded:
        raise HarnessError(f"{path}: aligning found sites {sorted(wraps)}, stripping recorded {sorted(recorded)}")
    lines = Lines(data)
    for r in records:
        b = wraps[tuple(r["orig_pos"])]
        r["span"] = list(node_span(b))
        r["line"] = b.lineno
        r["col"] = lines.char_col(b.lineno, b.col_offset) + 1
        r["end_line"] = b.end_lineno
        r["end_col"] = lines.char_col(b.end_lineno, b.end_col_offset) + 1
        r["text"] = lines.text(b)
    records.sort(key=lambda r: r["span"])
    return data, records


def main():
    package, root, manifest = sys.argv[1:4]
    count = files = skipped = 0
    with open(manifest, "a", encoding="utf-8") as out:
        for rel in python_files(root):
            path = os.path.join(root, rel)
            with open(path, "rb") as handle:
                data = handle.read()
            if not any(w.encode() in data for w in WRAPPERS):
                continue
            try:
                new, records = strip_file(data, rel)
            except SyntaxError as err:
                print(f"strip: {package}/{rel}: does not parse on this Python, skipped ({err.msg})", file=sys.stderr)
                skipped += 1
                continue
            if not records:
                continue
            with open(path, "wb") as handle:
                handle.write(new)
            files += 1
            for r in records:
                count += 1
                r.update(package=package, file=rel, visible_rule=visible_rule(r["text"]))
                out.write(json.dumps(r, ensure_ascii=False) + "\n")
    print(f"strip: {package}: {count} sites in {files} files" + (f", {skipped} files skipped" if skipped else ""),
          file=sys.stderr)


if __name__ == "__main__":
    try:
        main()
    except HarnessError as err:
        print(f"strip: harness error: {err}", file=sys.stderr)
        sys.exit(3)
