"""Finds the "caller" mutation cases of the recall run: an eager load a
function F writes for the objects (or the statement) it RETURNS, read in an
`async def` that calls F.

F is any function of the package, `def` or `async def`, method or not, that
writes an eager-loader link (`selectinload(X.rel)`, each link of a chain,
`joinedload`, `subqueryload`, `immediateload`, `contains_eager`) or an
`await <session>.refresh(obj, [names])`, and returns what the option loads:

* the statement itself (`return select(A).options(selectinload(A.b))`,
  `stmt = stmt.options(*opts)` ... `return stmt`),
* its result and the objects in it (`res = await session.execute(stmt)`,
  `return res.scalars().all()`, `return res.unique().scalar_one_or_none()`,
  `return list(rows)`, `return await session.get(A, id, options=[...])`,
  `return await session.scalar(stmt)`),
* what a project helper returns when it is handed the option
  (`return await cls.get(db, id, options=[selectinload(A.b)])`),
* for a refresh, the refreshed object (`await session.refresh(obj, ["b"])`
  ... `return obj`).

Tracked by names inside F: a value that carries the option (the option, a
list of options, a statement with `.options(...)` of them, a call handed
them, a session call or a result method on such a value, `list(...)` of it)
marks the name it is assigned to; F qualifies when one of its `return`s
carries the option. A value passed through anything else (`to_model(obj)`,
`obj.id`, a tuple) does not carry it: the caller's reads would be of
something else.

The callers: every `async def` of the package with a call whose name is F
(`F(...)`, `mod.F(...)`, `obj.F(...)`, `Cls.F(...)`). Resolved
conservatively: a name defined once in the package resolves (unless it is a
common method name such as `get` or `all`, which then must be qualified by
its class); a name defined several times resolves only through
`Cls.F(...)` naming the one class that defines it, or `self.F(...)` /
`cls.F(...)` inside that class; anything else is ambiguous and skipped.

In the caller, the value of the call is followed the same way (`x = await
F(...)`, `rows = (await session.execute(F(...))).scalars().all()`, `for x
in await F(...)`, `for x in xs`, comprehensions), and through the
relationship path (`for p in team.players` has the path `players`). A name
bound anywhere in the caller to something else (other than None), or to two
different paths, is not followed. A case is a read `v.rel` (load context,
not called, after the call) where `v` holds the objects at the path of the
option's link without its last step: `team.players` for
`selectinload(Team.players)`, `p.stats` (p over `team.players`) or
`team.players[0].stats` for the second link of
`selectinload(Team.players).selectinload(Player.stats)`.

Not cases (they would be loaded anyway):
* the relationship declared eager or `noload` (`relationship(lazy="selectin")`),
* the caller loads that relationship name itself (a loader link or a
  `refresh(..., [names])` naming it anywhere in the caller),
* further links of F loading the same `X.rel` are disabled with it (one
  mutation for them all, as for the same-function cases).

One case per (option, caller function, call site variable): found when
asyncfix's SA001 lands on one of its reads.

Run alone (`python3 callers.py TREE`) it prints the cases of TREE.

Python standard library only.
"""

import ast
import os
import sys
from collections import defaultdict

from cases import _name_span, _refresh_names, _relationship_arg
from sacommon import LOADERS, Lines, call_name, declared_eager, parse, python_files, relationships

# Loader functions and methods that build an option (an argument of
# `.options(...)`), eager or not: a chain of them carries its links.
OPTION_BUILDERS = set(LOADERS) | {
    "defaultload", "lazyload", "load_only", "noload", "raiseload", "undefer", "defer",
    "undefer_group", "with_loader_criteria", "selectin_polymorphic", "with_expression", "options",
}
# Those whose argument is a step of the relationship path.
PATH_LOADERS = set(LOADERS) | {"defaultload", "lazyload", "noload", "raiseload"}
# Methods of a statement or a result that keep its rows: `stmt.where(...)`,
# `res.scalars().all()`.
CHAIN_METHODS = {
    # statements
    "options", "where", "filter", "filter_by", "order_by", "join", "outerjoin", "join_from",
    "outerjoin_from", "limit", "offset", "distinct", "group_by", "having", "execution_options",
    "with_for_update", "select_from", "correlate", "params", "add_columns", "union", "slice",
    "with_only_columns", "set_label_style", "enable_eagerloads", "fetch", "prefix_with",
    "suffix_with", "with_hint", "subquery", "cte", "exists", "scalar_subquery", "returning",
    # results
    "scalars", "scalar", "all", "first", "one", "one_or_none", "scalar_one", "scalar_one_or_none",
    "unique", "fetchall", "fetchone", "fetchmany", "partitions", "tuples", "yield_per",
    "columns", "freeze",
}
# Session (or connection) methods that run a statement or load by key.
SESSION_METHODS = {"execute", "scalars", "scalar", "stream", "stream_scalars", "get", "get_one",
                   "run_sync"}
# Built-ins that keep the objects: `list(rows)`.
KEEP_BUILTINS = {"list", "tuple", "sorted"}
# Method names too common to resolve from a bare `obj.F(...)`: a dict, a
# result or a query has them too.
COMMON_METHODS = {
    "get", "all", "first", "one", "one_or_none", "scalar", "scalars", "execute", "filter", "update",
    "items", "keys", "values", "pop", "append", "copy", "list", "create", "delete", "run", "call",
    "load", "fetch", "read", "find", "query", "select", "count", "exists", "save", "add", "remove",
    "close", "open", "send", "process", "handle", "apply", "build", "to_dict", "dict", "json",
    "model_dump", "get_one", "unique", "stream", "result", "results", "search",
}


def _walk_own(node):
    """The nodes of a function body, less nested functions and classes
    (lambdas included: they run where they are written)."""
    out = []
    stack = list(ast.iter_child_nodes(node))
    while stack:
        child = stack.pop()
        if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            continue
        out.append(child)
        stack.extend(ast.iter_child_nodes(child))
    return out


def all_functions(tree):
    """(function, its own nodes, enclosing class name or None) for every
    `def` and `async def` of TREE."""
    out = []

    def visit(node, cls):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.ClassDef):
                visit(child, child.name)
            elif isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                out.append((child, _walk_own(child), cls))
                visit(child, None)
            else:
                visit(child, cls if isinstance(node, ast.ClassDef) else None)

    visit(tree, None)
    return out


def _light_functions(tree):
    """(function, enclosing class name or None) for every `def` and `async
    def` of TREE, without their nodes."""
    cls_of = {}
    out = []
    for n in ast.walk(tree):
        if isinstance(n, ast.ClassDef):
            for stmt in n.body:
                if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    cls_of[id(stmt)] = n.name
        elif isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)):
            out.append(n)
    return [(f, cls_of.get(id(f))) for f in out]


def _is_overload(func):
    for d in func.decorator_list:
        name = d.attr if isinstance(d, ast.Attribute) else (d.id if isinstance(d, ast.Name) else None)
        if name == "overload":
            return True
    return False


def _bindings(nodes):
    """(target name, value node or None, how) of every binding among NODES:
    `x = v`, `x: T = v`, `(x := v)`, `for x in v` (how "iter"),
    comprehension `for x in v` (how "iter"); other targets (tuples,
    attributes) give (name, None, ...) so the name is not followed."""
    out = []
    for n in nodes:
        if isinstance(n, ast.Assign):
            for t in n.targets:
                if isinstance(t, ast.Name):
                    out.append((t.id, n.value, "="))
                else:
                    for sub in ast.walk(t):
                        if isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Store):
                            out.append((sub.id, None, "="))
        elif isinstance(n, ast.AnnAssign) and isinstance(n.target, ast.Name):
            if n.value is not None:
                out.append((n.target.id, n.value, "="))
        elif isinstance(n, ast.NamedExpr):
            out.append((n.target.id, n.value, "="))
        elif isinstance(n, ast.AugAssign) and isinstance(n.target, ast.Name):
            out.append((n.target.id, None, "="))
        elif isinstance(n, (ast.For, ast.AsyncFor, ast.comprehension)):
            if isinstance(n.target, ast.Name):
                out.append((n.target.id, n.iter, "iter"))
            else:
                for sub in ast.walk(n.target):
                    if isinstance(sub, ast.Name):
                        out.append((sub.id, None, "iter"))
        elif isinstance(n, (ast.With, ast.AsyncWith)):
            for item in n.items:
                if isinstance(item.optional_vars, ast.Name):
                    out.append((item.optional_vars.id, item.context_expr, "with"))
                elif item.optional_vars is not None:
                    for sub in ast.walk(item.optional_vars):
                        if isinstance(sub, ast.Name):
                            out.append((sub.id, None, "="))
    return out


# --- inside F: does a return carry the option? ------------------------------------

class Carrier:
    """Names of a function that hold an option (OPT) or a statement /
    result / objects loaded with it (VAL), from the option node outwards."""

    def __init__(self, nodes, option, seeds=()):
        self.option = option
        self.opt, self.val = set(), set(seeds)
        binds = _bindings(nodes)
        appends = [n for n in nodes if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute)
                   and n.func.attr in ("append", "extend", "insert") and isinstance(n.func.value, ast.Name)]
        for _ in range(6):
            before = (len(self.opt), len(self.val))
            for name, value, how in binds:
                if value is None or how == "with":
                    continue
                if how == "=" and self.is_opt(value):
                    self.opt.add(name)
                elif self.is_val(value):
                    self.val.add(name)
            for call in appends:
                if any(self.is_opt(a) for a in call.args):
                    self.opt.add(call.func.value.id)
            if (len(self.opt), len(self.val)) == before:
                break

    def is_opt(self, v):
        if v is self.option:
            return True
        if isinstance(v, (ast.List, ast.Tuple, ast.Set)):
            return any(self.is_opt(e) for e in v.elts)
        if isinstance(v, ast.Starred):
            return self.is_opt(v.value)
        if isinstance(v, ast.Name):
            return v.id in self.opt
        if isinstance(v, ast.BinOp):
            return self.is_opt(v.left) or self.is_opt(v.right)
        if isinstance(v, ast.Call) and call_name(v) in OPTION_BUILDERS:
            # A chain holding the link: `selectinload(A.b).selectinload(B.c)`,
            # `joinedload(A.b).options(selectinload(B.c))` -- but not a
            # statement's `.options(...)`.
            if call_name(v) == "options" and not _is_loader_chain(v.func.value):
                return False
            if isinstance(v.func, ast.Attribute) and self.is_opt(v.func.value):
                return True
            return any(self.is_opt(a) for a in v.args)
        return False

    def is_val(self, v):
        if isinstance(v, ast.Name):
            return v.id in self.val
        if isinstance(v, (ast.Await, ast.Subscript)):
            return self.is_val(v.value)
        if isinstance(v, ast.Call):
            args = list(v.args) + [k.value for k in v.keywords]
            if any(self.is_opt(a) for a in args) and not self.is_opt(v):
                # `select(A).options(opt)`, `session.get(A, id, options=[opt])`,
                # `Model.get(db, id, options=opts)`: the statement or the
                # objects it loads.
                return True
            if isinstance(v.func, ast.Attribute):
                if v.func.attr in CHAIN_METHODS and self.is_val(v.func.value):
                    return True
                if v.func.attr in SESSION_METHODS and any(self.is_val(a) for a in args):
                    return True
            if isinstance(v.func, ast.Name) and v.func.id in KEEP_BUILTINS and v.args:
                return self.is_val(v.args[0])
            if call_name(v) == "cast" and len(v.args) == 2:
                # typing.cast(T, value)
                return self.is_val(v.args[1])
        if isinstance(v, (ast.ListComp, ast.GeneratorExp)) and _filter_comprehension(v):
            # `[x for x in rows if ...]`
            return self.is_val(v.generators[0].iter)
        return False


def _is_loader_chain(node):
    """True for `selectinload(...)...`: a call chain that starts at a loader
    function, not at a statement."""
    while isinstance(node, ast.Call):
        if isinstance(node.func, ast.Name):
            return node.func.id in OPTION_BUILDERS
        if not isinstance(node.func, ast.Attribute):
            return False
        if node.func.attr in OPTION_BUILDERS and not isinstance(node.func.value, ast.Call):
            # `orm.selectinload(...)`, `sa.orm.joinedload(...)`
            return node.func.attr != "options"
        node = node.func.value
    return False


def _filter_comprehension(v):
    """True for `[x for x in xs if ...]`: one generator, its own target as
    the element."""
    return (len(v.generators) == 1 and isinstance(v.elt, ast.Name)
            and isinstance(v.generators[0].target, ast.Name) and v.generators[0].target.id == v.elt.id)


def _is_contextmanager(func):
    for d in func.decorator_list:
        name = d.attr if isinstance(d, ast.Attribute) else (d.id if isinstance(d, ast.Name) else None)
        if name in ("asynccontextmanager", "contextmanager"):
            return True
    return False


def _returns(func, func_nodes):
    """The values F hands its caller: its `return`s, or the `yield`s of a
    @(async)contextmanager (`async with F(...) as x`). None for another
    generator."""
    gen = any(isinstance(n, (ast.Yield, ast.YieldFrom)) for n in func_nodes)
    if gen:
        if not _is_contextmanager(func):
            return None
        return [n for n in func_nodes if isinstance(n, ast.Yield) and n.value is not None]
    return [n for n in func_nodes if isinstance(n, ast.Return) and n.value is not None]


def _why_not_returned(carrier, returns):
    """Why no return of F carries the option: a sub-kind for the skip list."""
    if returns is None:
        return "F is a generator"
    if not returns:
        return "F returns nothing"
    if any(carrier.is_opt(r.value) for r in returns):
        return "F returns the option itself (an options builder)"
    mentions = False
    for r in returns:
        for sub in ast.walk(r.value):
            if isinstance(sub, ast.Name) and (sub.id in carrier.val or sub.id in carrier.opt):
                mentions = True
    if mentions:
        return "F returns something built from the loaded objects (a conversion, a tuple, a dict, an attribute)"
    return "F returns something else"


def link_path(call, parents):
    """The relationship path a loader link loads, from the query's entity:
    `selectinload(A.b).selectinload(B.c)` -> ("b", "c") for the outer link,
    `joinedload(A.b).options(selectinload(B.c))` -> ("b", "c") for the inner
    one; `.load_only(...)` and the like are no step. PARENTS maps id(node) ->
    parent node."""
    target = _relationship_arg(call.args[0]) if call.args else None
    if target is None:
        return None
    path = [target[1]]
    node = call
    while True:
        inner = node.func.value if isinstance(node.func, ast.Attribute) else None
        if isinstance(inner, ast.Call) and call_name(inner) in OPTION_BUILDERS:
            if call_name(inner) in PATH_LOADERS:
                t = _relationship_arg(inner.args[0]) if inner.args else None
                if t is None:
                    return None
                path.insert(0, t[1])
            node = inner
            continue
        # The head of the chain: is the whole chain an argument of
        # `loader_chain.options(<here>)`?
        top = node
        while True:
            p = parents.get(id(top))
            pp = parents.get(id(p)) if isinstance(p, ast.Attribute) and p.value is top else None
            if isinstance(pp, ast.Call) and pp.func is p:
                top = pp
                continue
            break
        parent = parents.get(id(top))
        if not (isinstance(parent, ast.Call) and call_name(parent) == "options"
                and isinstance(parent.func, ast.Attribute) and _is_loader_chain(parent.func.value)):
            return tuple(path)
        node = parent.func.value
        while isinstance(node, ast.Call) and call_name(node) not in PATH_LOADERS:
            node = node.func.value if isinstance(node.func, ast.Attribute) else None
        if not isinstance(node, ast.Call):
            return None
        t = _relationship_arg(node.args[0]) if node.args else None
        if t is None:
            return None
        path.insert(0, t[1])


# --- in the caller: what does a name hold? --------------------------------------------

class Follower:
    """In a caller, the paths of the names holding F's returned objects (or
    statement, or result): {name: path}, the path () for the objects F
    returns, ("b",) for those of `x.b`..."""

    def __init__(self, nodes, seeds):
        self.seeds = seeds  # id() of the call nodes of F
        self.paths = {}
        self.how = {}
        binds = _bindings(nodes)
        by_name = defaultdict(list)
        for name, value, how in binds:
            by_name[name].append((value, how))
        bad = set()
        for _ in range(6):
            before = dict(self.paths)
            for name, values in by_name.items():
                if name in bad:
                    continue
                found = set()
                other = False
                for value, how in values:
                    p = self.path(value, how) if value is not None else None
                    if p is None:
                        if not (isinstance(value, ast.Constant) and value.value is None):
                            other = True
                    else:
                        found.add(p)
                        inner = value.value if isinstance(value, ast.Await) else value
                        self.how[name] = ("loop" if how == "iter" else "with" if how == "with" else
                                          "direct" if id(inner) in self.seeds else "derived")
                if found and (other or len(found) > 1):
                    # Bound to something else too, or two paths: not followed.
                    bad.add(name)
                    self.paths.pop(name, None)
                elif found:
                    self.paths[name] = found.pop()
            if self.paths == before:
                break

    def path(self, v, how="="):
        """The path of the objects V holds, or None. HOW "with": V is the
        context manager of `async with V as x` (only F's own call gives x
        its objects: a @contextmanager F yields them)."""
        if isinstance(v, ast.Call) and id(v) in self.seeds:
            return ()
        if how == "with":
            return None
        if isinstance(v, ast.Name):
            return self.paths.get(v.id)
        if isinstance(v, (ast.Await, ast.Subscript)):
            return self.path(v.value)
        if isinstance(v, ast.Attribute):
            base = self.path(v.value)
            return None if base is None else base + (v.attr,)
        if isinstance(v, ast.Call):
            args = list(v.args) + [k.value for k in v.keywords]
            if isinstance(v.func, ast.Attribute):
                if v.func.attr in CHAIN_METHODS:
                    p = self.path(v.func.value)
                    if p is not None:
                        return p
                if v.func.attr in SESSION_METHODS:
                    for a in args:
                        p = self.path(a)
                        if p is not None:
                            return p
            if isinstance(v.func, ast.Name) and v.func.id in KEEP_BUILTINS and v.args:
                return self.path(v.args[0])
            if call_name(v) == "cast" and len(v.args) == 2:
                return self.path(v.args[1])
        if isinstance(v, (ast.ListComp, ast.GeneratorExp)) and _filter_comprehension(v):
            return self.path(v.generators[0].iter)
        return None


# --- the search -----------------------------------------------------------------------

def _loads_in(nodes, attr):
    """True when NODES load the relationship name ATTR themselves: a loader
    link on `X.attr` or a refresh naming it."""
    for n in nodes:
        if not isinstance(n, ast.Call):
            continue
        name = call_name(n)
        if name in LOADERS and n.args:
            t = _relationship_arg(n.args[0])
            if t is not None and t[1] == attr:
                return True
        elif name == "refresh":
            found = _refresh_names(n)
            if found is not None and attr in found[2]:
                return True
    return False


def _parents(nodes):
    parents = {}
    for n in nodes:
        for child in ast.iter_child_nodes(n):
            parents[id(child)] = n
    return parents


def _module_name(rel):
    """`a/b/c.py` -> `a.b.c`, `a/b/__init__.py` -> `a.b`."""
    parts = rel[:-3].split(os.sep)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _module_files(parsed):
    return {_module_name(rel): rel for rel in parsed}


def _imports(rel, tree):
    """{local name: dotted name} of a module's imports (at any depth):
    `from a.b import c` -> {"c": "a.b.c"}, `import a.b as m` -> {"m": "a.b"},
    relative ones resolved against REL."""
    package = _module_name(rel).split(".")
    if not rel.endswith("__init__.py"):
        package = package[:-1]
    out = {}
    for n in ast.walk(tree):
        if isinstance(n, ast.ImportFrom):
            if n.level:
                base = package[:len(package) - (n.level - 1)] if n.level > 1 else package
                mod = ".".join(base + ([n.module] if n.module else []))
            else:
                mod = n.module or ""
            for a in n.names:
                out[a.asname or a.name] = f"{mod}.{a.name}" if mod else a.name
        elif isinstance(n, ast.Import):
            for a in n.names:
                if a.asname:
                    out[a.asname] = a.name
    return out


def find_caller_cases(root, files=None, rels=None):
    """(cases, skipped, counts). Each case is a dict like cases.find_cases'
    (file, function, func_start, func_end: F's; option_*, owner, rel,
    edits, also) with kind "caller" and the caller's caller_file,
    caller_function, caller_start, caller_end, call_line, how (the shape
    of the first read's variable), path, reads {rel: [lines]} and
    read_spans [(first line, last line)]."""
    files = files if files is not None else python_files(root)
    rels = rels if rels is not None else relationships(root, files)
    parsed = {}  # rel -> (bytes, tree, [(func, cls)])
    defs = defaultdict(list)  # name -> [(file, func, None, cls)]
    for rel in files:
        data, tree = parse(os.path.join(root, rel))
        if tree is None:
            continue
        funcs = _light_functions(tree)
        parsed[rel] = (data, tree, funcs)
        for func, cls in funcs:
            if not _is_overload(func):
                defs[func.name].append((rel, func, None, cls))
    own_nodes = {}

    def nodes_of(func):
        if id(func) not in own_nodes:
            own_nodes[id(func)] = _walk_own(func)
        return own_nodes[id(func)]

    # The options, with what F returns.
    counts = {"options": 0, "returning": 0, "functions_returning": 0}
    options = []  # dicts, kind "caller"
    skipped = []
    returning_funcs = set()
    option_words = [w.encode() for w in LOADERS] + [b"refresh"]
    for rel, (data, tree, funcs) in parsed.items():
        if not any(w in data for w in option_words):
            continue
        lines = Lines(data)
        for func, cls in funcs:
            if _is_overload(func):
                continue
            nodes = nodes_of(func)
            links = defaultdict(list)
            for call in nodes:
                if isinstance(call, ast.Call) and call_name(call) in LOADERS and call.args:
                    target = _relationship_arg(call.args[0])
                    if target is not None and target[0] is not None:
                        links[target].append(call)
            returns = _returns(func, nodes)
            parents = None
            for call in nodes:
                if not isinstance(call, ast.Call):
                    continue
                name = call_name(call)
                base = {"file": rel, "function": func.name, "func_class": cls, "func_start": func.lineno,
                        "func_end": func.end_lineno, "kind": "caller", "is_async": isinstance(func, ast.AsyncFunctionDef)}
                if name in LOADERS:
                    counts["options"] += 1
                    start, end = _name_span(call)
                    opt = dict(base, loader=name, option_line=start[0], option_col=lines.char_col(*start) + 1,
                               option_text=lines.line(start[0]).strip())
                    target = _relationship_arg(call.args[0]) if call.args else None
                    if target is None or target[0] is None:
                        skipped.append(dict(opt, why="argument is not `X.rel`"))
                        continue
                    owner, attr = target
                    opt.update(owner=owner, rel=attr)
                    if parents is None:
                        parents = _parents([func] + nodes)
                    path = link_path(call, parents)
                    if path is None:
                        skipped.append(dict(opt, why="the link's path is not `X.rel` all along"))
                        continue
                    carrier = Carrier(nodes, call)
                    if not returns or not any(carrier.is_val(r.value) for r in returns):
                        skipped.append(dict(opt, why="F does not return what the option loads: "
                                            + _why_not_returned(carrier, returns)))
                        continue
                    same = links.get(target, [call])
                    edits = []
                    for link in same:
                        s_, e_ = _name_span(link)
                        edits.append(((s_, e_), b"lazyload", call_name(link).encode()))
                    opt.update(path=path, rels=[attr], edits=edits,
                               also=[link.lineno for link in same if link is not call])
                    if declared_eager(rels, owner, attr):
                        skipped.append(dict(opt, why=f"`{owner}.{attr}` declared with an eager or noload lazy= strategy"))
                        continue
                    options.append(opt)
                elif name == "refresh":
                    found = _refresh_names(call)
                    if found is None:
                        continue
                    counts["options"] += 1
                    _, span, names = found
                    opt = dict(base, loader="refresh", option_line=call.lineno,
                               option_col=lines.char_col(call.lineno, call.col_offset) + 1,
                               option_text=lines.line(call.lineno).strip())
                    obj = call.args[0] if call.args else None
                    rel_names = [n for n in names if any(a == n for (_, a) in rels)]
                    if not isinstance(obj, ast.Name) or not rel_names:
                        skipped.append(dict(opt, why="refresh of no name, or no relationship among the names"))
                        continue
                    carrier = Carrier(nodes, None, seeds={obj.id})
                    if not returns or not any(carrier.is_val(r.value) for r in returns
                                              if r.lineno >= call.lineno):
                        skipped.append(dict(opt, why="F does not return what the option loads: "
                                            + _why_not_returned(carrier, returns)))
                        continue
                    eager = [n for n in rel_names if declared_eager(rels, None, n)]
                    rel_names = [n for n in rel_names if n not in eager]
                    if not rel_names:
                        skipped.append(dict(opt, why=f"{eager} declared with an eager or noload lazy= strategy"))
                        continue
                    # One option per name (its path is the name); the
                    # mutation drops all the names.
                    for n in rel_names:
                        options.append(dict(opt, owner=None, rel=n, path=(n,), rels=[n],
                                            edits=[(span, b"", None)], also=[], refresh_names=rel_names))
    for o in options:
        returning_funcs.add((o["file"], o["function"], o["func_start"]))
    counts["returning"] = len({(o["file"], o["option_line"], o["option_col"]) for o in options})
    counts["functions_returning"] = len(returning_funcs)

    # The callers.
    by_func = defaultdict(list)
    for o in options:
        by_func[(o["file"], o["func_start"])].append(o)
    module_files = _module_files(parsed)
    import_maps = {}

    class _Imports:
        def __getitem__(self, rel):
            if rel not in import_maps:
                import_maps[rel] = _imports(rel, parsed[rel][1])
            return import_maps[rel]

    imports = _Imports()

    def resolve(call, caller_cls, caller_file):
        """The (file, func start) CALL resolves to, or None (unknown or
        ambiguous)."""
        name = call_name(call)
        cands = defs.get(name)
        if not cands:
            return None
        func = call.func
        recv = func.value if isinstance(func, ast.Attribute) else None
        # Through the caller's module: its own module-level F, an F it
        # imports by name, or `mod.F(...)` of a module it imports.
        module = None
        if recv is None:
            if any(c[0] == caller_file and c[3] is None and c[1].col_offset == 0 for c in cands):
                module = caller_file
            elif name in imports[caller_file]:
                # `from pkg.mod import F`: F of pkg/mod.py
                module = module_files.get(imports[caller_file][name].rsplit(".", 1)[0])
        elif isinstance(recv, ast.Name) and recv.id in imports[caller_file]:
            module = module_files.get(imports[caller_file][recv.id])
        if module is not None:
            own = [c for c in cands if c[0] == module and c[3] is None]
            if len(own) == 1:
                return (own[0][0], own[0][1].lineno)
        if isinstance(recv, ast.Name) and recv.id in ("self", "cls") and caller_cls is not None:
            own = [c for c in cands if c[3] == caller_cls]
            if len(own) == 1:
                return (own[0][0], own[0][1].lineno)
        if isinstance(recv, ast.Name) and recv.id[:1].isupper():
            own = [c for c in cands if c[3] == recv.id]
            if len(own) == 1:
                return (own[0][0], own[0][1].lineno)
        if len(cands) != 1:
            return None
        only = cands[0]
        if recv is not None and name in COMMON_METHODS:
            return None
        if recv is None and only[3] is not None:
            # A bare `F(...)` of a method name: some other F.
            return None
        return (only[0], only[1].lineno)

    cases = []
    has_caller = set()
    has_read = set()
    loads_itself = set()
    fates = defaultdict(set)
    f_names = sorted({o["function"].encode() for o in options})
    for rel, (data, tree, funcs) in parsed.items():
        # Only files that name some F.
        if not any(n in data for n in f_names):
            continue
        lines = Lines(data)
        for caller, cls in funcs:
            if not isinstance(caller, ast.AsyncFunctionDef):
                continue
            nodes = nodes_of(caller)
            calls = defaultdict(list)
            for n in nodes:
                if isinstance(n, ast.Call):
                    key = resolve(n, cls, rel)
                    if key is not None and key in by_func and key != (rel, caller.lineno):
                        calls[key].append(n)
            for key, call_nodes in calls.items():
                follower = Follower(nodes, {id(c) for c in call_nodes})
                first_call = min((c.lineno, c.col_offset) for c in call_nodes)
                callees = {id(n.func) for n in nodes if isinstance(n, ast.Call)}
                for o in by_func[key]:
                    okey = (o["file"], o["option_line"], o["option_col"], o["rel"])
                    has_caller.add(okey)
                    want, attr = o["path"][:-1], o["path"][-1]
                    reads = []
                    for n in nodes:
                        if (isinstance(n, ast.Attribute) and n.attr == attr and isinstance(n.ctx, ast.Load)
                                and id(n) not in callees and (n.lineno, n.col_offset) > first_call
                                and follower.path(n.value) == want):
                            reads.append(n)
                    if not reads:
                        fates[okey].add(_fate(nodes, follower, ()))
                        continue
                    has_read.add(okey)
                    if _loads_in(nodes, attr):
                        loads_itself.add(okey)
                        continue
                    reads.sort(key=lambda r: (r.lineno, r.col_offset))
                    first = reads[0]
                    var = first.value
                    how = _how(var, follower)
                    cases.append(dict(
                        o, caller_file=rel, caller_function=caller.name, caller_start=caller.lineno,
                        caller_end=caller.end_lineno, call_line=min(c.lineno for c in call_nodes),
                        call_text=lines.line(min(c.lineno for c in call_nodes)).strip(),
                        reads={attr: sorted({r.lineno for r in reads})},
                        read_spans=sorted({(r.lineno, r.end_lineno) for r in reads}), how=how,
                        read_text=ast.unparse(first)))
    case_keys = {(c["file"], c["option_line"], c["option_col"], c["rel"]) for c in cases}
    for o in options:
        okey = (o["file"], o["option_line"], o["option_col"], o["rel"])
        if okey in case_keys:
            continue
        if okey not in has_caller:
            why = "no `async def` caller resolves to F (none, or F's name is ambiguous)"
        elif okey not in has_read:
            fate = ("passed on" if "passed on" in fates[okey] else "returned" if "returned" in fates[okey]
                    else "other")
            why = (f"no caller reads `.{o['path'][-1]}` on what F returns (path {'.'.join(o['path'])});"
                   f" {fate}: what the callers do with F's result: {', '.join(sorted(fates[okey]))}")
        else:
            why = f"every reading caller loads `.{o['rel']}` itself"
        skipped.append(dict(o, why=why))
    return cases, skipped, counts


def _fate(nodes, follower, want):
    """What a caller that does not read the relationship does with F's
    objects at the path WANT: "passed on" (an argument of another call:
    `to_model(x)`, `Ctx(x=x)`, `await process(x)`), "returned" (`return x`,
    `return await F()`), "other" (tested, other attributes read, dropped)."""
    held = {n for n, p in follower.paths.items() if p == want}

    def holds(v):
        if isinstance(v, ast.Name):
            return v.id in held
        return follower.path(v) == want if isinstance(v, (ast.Await, ast.Call, ast.Subscript)) else False

    for n in nodes:
        if isinstance(n, ast.Call) and not (isinstance(n.func, ast.Attribute) and n.func.attr in CHAIN_METHODS):
            args = list(n.args) + [k.value for k in n.keywords]
            if any(holds(a) or (isinstance(a, ast.Starred) and holds(a.value)) for a in args):
                return "passed on"
    for n in nodes:
        if isinstance(n, ast.Return) and n.value is not None:
            vals = n.value.elts if isinstance(n.value, ast.Tuple) else [n.value]
            if any(holds(v) for v in vals):
                return "returned"
    return "other"


def _how(var, follower):
    """How the read's object came from F: "direct" (`x = await F()`, then
    `x.rel`), "loop" (`for x in ...` over F's result), "derived" (a name
    bound to F's statement run, a result method, `list(...)`: `rows =
    (await session.execute(F())).scalars().all()`), "path" (reached through
    a relationship: `team.players[0].stats`), "expression" (`(await
    F()).rel`)."""
    if follower.path(var):
        return "path"
    if isinstance(var, ast.Name):
        return follower.how.get(var.id, "?")
    return "expression"


def why_kind(why):
    if "declared" in why:
        return "declared eager"
    if why.startswith("F does not return"):
        return why.split(": ", 1)[1]
    if why.startswith("no `async def` caller"):
        return "no resolvable async caller"
    if why.startswith("no caller reads"):
        return "no caller read, result " + why.split("; ", 1)[1].split(":", 1)[0]
    if why.startswith("every reading caller"):
        return "caller loads it itself"
    return why


def main(argv):
    root = argv[1]
    cases, skipped, counts = find_caller_cases(root)
    for c in cases:
        print(f"{c['file']}:{c['option_line']}: {c['function']} {c['loader']} {'.'.join(c['path'])} "
              f"<- {c['caller_file']}:{c['call_line']} {c['caller_function']} reads {c['reads']} ({c['read_text']})")
    why = defaultdict(int)
    for s in skipped:
        why[why_kind(s["why"])] += 1
    print(f"{len(cases)} caller cases; {counts}; skipped {dict(why)}")


if __name__ == "__main__":
    main(sys.argv)
