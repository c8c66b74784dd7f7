"""Finds the mutation cases of the recall run: eager loads an `async def`
asks for and then uses.

A case is one eager-loader link inside an `async def` --
`selectinload(X.rel)`, `orm.joinedload(X.rel)`, each link of
`selectinload(A.b).selectinload(B.c)` or `joinedload(A.b).joinedload(B.c)`,
`subqueryload`, `immediateload`, `contains_eager`, wherever the option is
written (`.options(...)`, `options=[...]` handed to a helper, a list in a
variable) -- or one `await <session>.refresh(obj, [names])` /
`refresh(obj, attribute_names=[...])`, when the same function, after it,
reads the relationship's name as an attribute (`something.rel`: not called,
not assigned to, not on a class name such as `Team.players`).

Its mutation disables that one option and nothing else: the loader's name
becomes `lazyload` (`selectinload(Team.players)` -> `lazyload(Team.players)`,
`.selectinload(B.c)` -> `.lazyload(B.c)`), and refresh loses its names
(`refresh(obj, ["rel"])` -> `refresh(obj)`, which reloads columns only and
leaves a lazy relationship unloaded).

Cases whose relationship is declared eager (`relationship(lazy="selectin")`)
or `lazy="noload"` are kept apart: without the option the declaration loads
it anyway (or reads it empty, querying nothing), so the mutation would test
only whether asyncfix knows that `lazyload()` overrides a declaration, which
no one writes.

Run alone (`python3 cases.py TREE`) it prints the cases of TREE.

Python standard library only.
"""

import ast
import os
import sys
from collections import defaultdict

from sacommon import LOADERS, Lines, call_name, declared_eager, parse, python_files, relationships

REFRESH_NAMES = "attribute_names"


def _functions(tree):
    """Every `async def` of TREE with the nodes that belong to it: its body,
    less nested functions and classes (they are functions of their own)."""
    out = []

    def visit(node, owner):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
                if isinstance(child, ast.AsyncFunctionDef):
                    nodes = []
                    out.append((child, nodes))
                    visit(child, nodes)
                elif isinstance(child, ast.Lambda) and owner is not None:
                    # A lambda runs where it is written often enough
                    # (`key=lambda r: r.rel`): its reads belong to the function.
                    owner.append(child)
                    visit(child, owner)
                else:
                    visit(child, None)
            else:
                if owner is not None:
                    owner.append(child)
                visit(child, owner)

    visit(tree, None)
    return out


def _relationship_arg(arg):
    """(class name or None, relationship name) of a loader's argument:
    `X.rel`, `X.rel.of_type(Y)`, `alias.rel`; None for a string, `*`, a
    variable..."""
    if isinstance(arg, ast.Call) and isinstance(arg.func, ast.Attribute) and arg.func.attr in ("of_type", "and_"):
        arg = arg.func.value
    if isinstance(arg, ast.Attribute):
        # `X.rel`, or `models.X.rel` through a module.
        owner = arg.value.id if isinstance(arg.value, ast.Name) else (
            arg.value.attr if isinstance(arg.value, ast.Attribute) else None)
        return owner, arg.attr
    return None


def _class_like(name):
    return name[:1].isupper()


def _reads(nodes, attr, after):
    """Instance reads `something.ATTR` among NODES, after the position AFTER
    (lineno, col): loads, not the callee of a call, not on a class name."""
    callees = {id(n.func) for n in nodes if isinstance(n, ast.Call)}
    out = []
    for n in nodes:
        if not isinstance(n, ast.Attribute) or n.attr != attr or not isinstance(n.ctx, ast.Load):
            continue
        if id(n) in callees:
            continue
        if isinstance(n.value, ast.Name) and _class_like(n.value.id):
            continue
        if (n.lineno, n.col_offset) < after:
            continue
        out.append(n)
    return out


def _name_span(call):
    """(start, end) as ((line, byte col), (line, byte col)) of the name of
    the function CALL calls: `selectinload` in `selectinload(...)`,
    `orm.selectinload(...)` and `x.selectinload(...)`."""
    func = call.func
    if isinstance(func, ast.Name):
        return (func.lineno, func.col_offset), (func.end_lineno, func.end_col_offset)
    end = (func.end_lineno, func.end_col_offset)
    return (end[0], end[1] - len(func.attr)), end


def _refresh_names(call):
    """(the names node, its span to delete, [names]) of a refresh call that
    gives attribute names, else None. The span runs from the end of the
    argument before it to the end of the names, so `refresh(obj, ["a"])`
    becomes `refresh(obj)`."""
    if not isinstance(call.func, ast.Attribute) or call.func.attr != "refresh":
        return None
    items = sorted(list(call.args) + list(call.keywords), key=lambda n: (n.lineno, n.col_offset))
    target = None
    if len(call.args) >= 2:
        target = call.args[1]
        node = target
    else:
        for k in call.keywords:
            if k.arg == REFRESH_NAMES:
                target, node = k.value, k
    if target is None:
        return None
    index = items.index(node)
    if index == 0:
        return None
    prev = items[index - 1]
    names = []
    if isinstance(target, (ast.List, ast.Tuple, ast.Set)):
        names = [e.value for e in target.elts if isinstance(e, ast.Constant) and isinstance(e.value, str)]
    span = ((prev.end_lineno, prev.end_col_offset), (target.end_lineno, target.end_col_offset))
    return target, span, names


def find_cases(root, files=None):
    """(cases, skipped, counts) for the tree at ROOT. Each case is a dict:
    file, function, func_start, func_end, kind, loader, option_line,
    option_col (1-based character column), rels, reads {rel: [lines]} and
    edits [(((line, byte col), (line, byte col)), replacement bytes, the
    bytes expected there or None)]. SKIPPED lists candidate options left
    out, with why.

    Links of one function that load the same `X.rel` (a query that asks for
    it twice, `joinedload(P.job).joinedload(J.instance)` beside
    `joinedload(P.job).joinedload(J.project)`) make one case that disables
    them all: disabling one would leave the relationship loaded."""
    files = files if files is not None else python_files(root)
    rels = relationships(root, files)
    cases, skipped = [], []
    counts = {"files": len(files), "async_functions": 0, "options": 0}
    for rel in files:
        data, tree = parse(os.path.join(root, rel))
        if tree is None:
            continue
        lines = Lines(data)
        for func, nodes in _functions(tree):
            counts["async_functions"] += 1
            # Every link of the function, by the relationship it loads.
            links = defaultdict(list)
            for call in nodes:
                if isinstance(call, ast.Call) and call_name(call) in LOADERS and call.args:
                    target = _relationship_arg(call.args[0])
                    if target is not None and target[0] is not None:
                        links[target].append(call)
            done = set()
            for call in nodes:
                if not isinstance(call, ast.Call):
                    continue
                name = call_name(call)
                base = {
                    "file": rel, "function": func.name, "func_start": func.lineno,
                    "func_end": func.end_lineno, "option_line": call.lineno,
                }
                if name in LOADERS:
                    counts["options"] += 1
                    start, end = _name_span(call)
                    case = dict(base, kind="loader", loader=name,
                                option_line=start[0], option_col=lines.char_col(*start) + 1,
                                option_text=lines.line(start[0]).strip())
                    target = _relationship_arg(call.args[0]) if call.args else None
                    if target is None:
                        skipped.append(dict(case, why="argument is not `X.rel`"))
                        continue
                    owner, attr = target
                    case.update(owner=owner, rel=attr)
                    if target in done:
                        skipped.append(dict(case, why=f"`{owner}.{attr}` loaded again: part of the case above"))
                        continue
                    after = (call.end_lineno, call.end_col_offset)
                    reads = _reads(nodes, attr, after)
                    if not reads:
                        skipped.append(dict(case, why=f"no read of `.{attr}` after it"))
                        continue
                    if declared_eager(rels, owner, attr):
                        skipped.append(dict(case, why=f"`{owner}.{attr}` declared with an eager or noload lazy= strategy"))
                        continue
                    same = links.get(target, [call]) if owner is not None else [call]
                    done.add(target)
                    edits = []
                    for link in same:
                        s_, e_ = _name_span(link)
                        edits.append(((s_, e_), b"lazyload", call_name(link).encode()))
                    case.update(rels=[attr], reads={attr: sorted({r.lineno for r in reads})}, edits=edits,
                                also=[link.lineno for link in same if link is not call])
                    cases.append(case)
                elif name == "refresh":
                    found = _refresh_names(call)
                    if found is None:
                        continue
                    counts["options"] += 1
                    _, span, names = found
                    case = dict(base, kind="refresh", loader="refresh",
                                option_col=lines.char_col(call.lineno, call.col_offset) + 1,
                                option_text=lines.line(call.lineno).strip())
                    after = (call.end_lineno, call.end_col_offset)
                    # Only relationship names: refresh() without names
                    # reloads every column, so a column name stays loaded.
                    rel_names = [n for n in names if any(a == n for (_, a) in rels)]
                    reads = {n: sorted({r.lineno for r in _reads(nodes, n, after)}) for n in rel_names}
                    reads = {n: ls for n, ls in reads.items() if ls}
                    if not names:
                        skipped.append(dict(case, why="names are not a literal list"))
                        continue
                    if not reads:
                        skipped.append(dict(case, why=f"no read of a relationship among {names} after it"))
                        continue
                    eager = [n for n in reads if declared_eager(rels, None, n)]
                    if len(eager) == len(reads):
                        skipped.append(dict(case, why=f"{sorted(reads)} declared with an eager or noload lazy= strategy"))
                        continue
                    reads = {n: ls for n, ls in reads.items() if n not in eager}
                    case.update(rels=sorted(reads), reads=reads, edits=[(span, b"", None)], also=[])
                    cases.append(case)
    return cases, skipped, counts, rels


def why_kind(why):
    """A skipped option's reason, without its names."""
    if "declared" in why:
        return "declared eager"
    if "loaded again" in why:
        return "same load as another case"
    if why.startswith("no read"):
        return "no read after it in the function"
    return why


def main(argv):
    root = argv[1]
    cases, skipped, counts, rels = find_cases(root)
    for c in cases:
        print(f"{c['file']}:{c['option_line']}: {c['function']} {c['loader']} {c['rels']} reads {c['reads']}")
    why = {}
    for s in skipped:
        why[why_kind(s["why"])] = why.get(why_kind(s["why"]), 0) + 1
    print(f"{len(cases)} cases; {counts}; relationships {len(rels)}; skipped {why}")


if __name__ == "__main__":
    main(sys.argv)
