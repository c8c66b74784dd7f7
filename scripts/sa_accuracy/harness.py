"""The SQLAlchemy accuracy harness proper (driven by scripts/sa_accuracy.sh).

    harness.py --asyncfix BIN --results DIR [--max-cases N] NAME=TREE...

For each package tree (a scratch copy; the mutation run edits it and puts
every file back):

1. Untouched run: `asyncfix check --select SA001,SA002 --output-format json .`
   from TREE. Every report goes to untouched.txt with its source line and the
   verdict judgements.tsv gives it (keyed by package, path, stripped line
   text and code, so verdicts survive line shifts); unjudged ones also go to
   unjudged.txt.
2. Mutation run (recall of SA001): the cases of cases.py, each disabling one
   eager load the function then uses. One `asyncfix check --select SA001` of
   the whole mutated tree per case; the case is FOUND when a SA001 report
   that the untouched run did not have lands inside the function, after the
   option, on `<something>.rel` (a report the untouched run had there too
   counts: the read is flagged either way). Found and missed cases go to
   sa001-found.txt and sa001-misses.txt; the options that are not cases, with
   why, to options-skipped.txt. miss_causes.tsv names the causes of each
   known miss (keyed by package, path, function and `Owner.rel`, `+` between
   several causes); misses are counted by cause. A cause starting
   `not-a-case` takes the case out of the count (sa001-excluded.txt).
   Then the caller cases of callers.py (an option inside a function F that
   returns what it loads, the read in an `async def` calling F), with the
   same mutation, scored on the read in the caller; a mutation already run
   for another case is not run again. miss_causes.tsv keys them by the
   caller's path and function and `F:Owner.rel`. --max-cases applies to each
   kind apart.
3. Prints the tables per package and in total: same-function cases, caller
   cases, and both.

Exit status: 0, or 2 on a harness error (asyncfix crashed, a mutation broke
the file, a judgement file is malformed); never for low figures.

Python standard library only.
"""

import argparse
import ast
import hashlib
import os
import sys
import time
from collections import Counter

from callers import find_caller_cases
from callers import why_kind as caller_why_kind
from cases import find_cases, why_kind
from sacommon import HarnessError, Lines, clear_parsed, python_files, run_check, site_expr

HERE = os.path.dirname(os.path.abspath(__file__))
VERDICTS = ("genuine", "false-positive")
# A miss_causes.tsv cause starting so takes its case out of the count: the
# read the case rests on is not the loaded object's (`params.vectors` beside
# `joinedload(Record.vectors)`), so disabling the option breaks nothing.
INVALID = "not-a-case"


def read_tsv(path, columns):
    """Rows of a tab-separated file (comments `#` and blank lines skipped),
    each a dict of COLUMNS."""
    rows = []
    if not os.path.exists(path):
        return rows
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if not line.strip() or line.startswith("#"):
                continue
            parts = line.split("\t")
            if len(parts) != len(columns):
                raise HarnessError(f"{path}:{number}: {len(parts)} columns, expected {len(columns)} ({', '.join(columns)})")
            rows.append(dict(zip(columns, parts)))
    return rows


def load_judgements(path):
    judged = {}
    for row in read_tsv(path, ("package", "path", "text", "code", "verdict", "reason")):
        if row["verdict"] not in VERDICTS:
            raise HarnessError(f"{path}: verdict {row['verdict']!r} is not one of {VERDICTS}")
        judged[(row["package"], row["path"], row["text"], row["code"])] = row
    return judged


def load_causes(path):
    causes = {}
    for row in read_tsv(path, ("package", "path", "function", "rel", "cause", "note")):
        causes[(row["package"], row["path"], row["function"], row["rel"])] = row
    return causes


class Sources:
    """The files of one tree, read once."""

    def __init__(self, root):
        self.root = root
        self.cache = {}

    def lines(self, rel):
        if rel not in self.cache:
            with open(os.path.join(self.root, rel), "rb") as f:
                self.cache[rel] = Lines(f.read())
        return self.cache[rel]

    def text(self, rel, lineno):
        try:
            return self.lines(rel).line(lineno)
        except (IndexError, OSError):
            return ""

    def snippet(self, rel, lineno, around=1):
        out = []
        for n in range(max(1, lineno - around), lineno + around + 1):
            try:
                out.append(f"    {n:>5} | {self.lines(rel).line(n)}")
            except IndexError:
                break
        return "\n".join(out)


# --- the untouched run ---------------------------------------------------------------

def untouched(name, tree, asyncfix, judged, out):
    sites = run_check(asyncfix, tree, "SA001,SA002")
    sources = Sources(tree)
    counts = Counter()
    causes = Counter()
    used = set()
    unjudged = []
    for s in sorted(sites, key=lambda s: (s["path"], s["location"]["line"], s["location"]["column"], s["code"])):
        line = s["location"]["line"]
        text = sources.text(s["path"], line).strip()
        key = (name, s["path"], text, s["code"])
        row = judged.get(key)
        verdict = row["verdict"] if row else "unjudged"
        counts[verdict] += 1
        if row:
            # The reason's first words, up to a colon, name its cause.
            causes[(s["code"], verdict, row["reason"].split(":")[0])] += 1
        used.add(key)
        out.write(f"{name}\t{s['path']}:{line}:{s['location']['column']}: {s['code']} {s['message']}\n")
        out.write(f"    {text}\n")
        out.write(f"    -> {verdict}" + (f": {row['reason']}" if row else "") + "\n")
        if not row:
            unjudged.append(f"{name}\t{s['path']}\t{text}\t{s['code']}\t?\t?  # {s['path']}:{line}")
    stale = [k for k in judged if k[0] == name and k not in used]
    return sites, counts, causes, unjudged, stale


# --- the mutation run ---------------------------------------------------------------

def sample(cases, limit):
    """At most LIMIT cases, the same ones on every run: those whose key
    hashes lowest."""
    if limit <= 0 or len(cases) <= limit:
        return cases, False
    def key(c):
        ident = f"{c['file']}:{c['function']}:{c['option_text']}:{c['loader']}:{','.join(c['rels'])}"
        if c["kind"] == "caller":
            ident += f":{c['caller_file']}:{c['caller_function']}:{c['call_text']}"
        return hashlib.sha1(ident.encode()).hexdigest()
    chosen = sorted(cases, key=key)[:limit]
    return sorted(chosen, key=lambda c: (c["file"], c["option_line"], c["option_col"])), True


def mutate(data, case):
    """DATA with CASE's option disabled."""
    lines = Lines(data)
    spans = []
    for ((l1, c1), (l2, c2)), replacement, expected in case["edits"]:
        a, b = lines.offset(l1, c1), lines.offset(l2, c2)
        if expected is not None and data[a:b] != expected:
            raise HarnessError(f"{case['file']}:{l1}: expected {expected!r} at the option, found {data[a:b]!r}")
        spans.append((a, b, replacement))
    # From the end, so earlier offsets hold.
    for a, b, replacement in sorted(spans, reverse=True):
        data = data[:a] + replacement + data[b:]
    return data


def original_line(case, path, line):
    """LINE of a report on the mutated tree as a line of the untouched
    file: an edit spanning lines (`refresh(obj, [\n "a",\n])` -> `refresh(obj)`)
    pulls the lines after it up."""
    if path != case["file"]:
        return line
    for ((l1, _), (l2, _)), replacement, _ in sorted(case["edits"]):
        removed = (l2 - l1) - replacement.count(b"\n")
        if removed and line > l1:
            line += removed
    return line


class Mutations:
    """Runs `asyncfix check --select SA001` on the tree with one case's
    edits made, once per distinct mutation (a same-function case and the
    caller cases of one option share it)."""

    def __init__(self, tree, asyncfix):
        self.tree, self.asyncfix = tree, asyncfix
        self.cache = {}
        self.runs = 0

    def sites(self, case):
        key = (case["file"], tuple(sorted((span, rep) for span, rep, _ in case["edits"])))
        if key in self.cache:
            return self.cache[key]
        path = os.path.join(self.tree, case["file"])
        with open(path, "rb") as f:
            original = f.read()
        mutated = mutate(original, case)
        try:
            ast.parse(mutated)
        except SyntaxError as e:
            raise HarnessError(f"{case['file']}:{case['option_line']}: the mutation does not parse: {e}")
        try:
            with open(path, "wb") as f:
                f.write(mutated)
            sites = run_check(self.asyncfix, self.tree, "SA001")
        finally:
            with open(path, "wb") as f:
                f.write(original)
        self.runs += 1
        self.cache[key] = sites
        return sites


def score(case, sites, baseline):
    """(hits, before, elsewhere): the new SA001s on the case's read, those on
    it the untouched run had too, and the other new ones."""
    hits, before, elsewhere = [], [], []
    for s in sites:
        line = original_line(case, s["path"], s["location"]["line"])
        if case["kind"] == "caller":
            on_read = (s["path"] == case["caller_file"]
                       and any(l1 <= line <= l2 for l1, l2 in case["read_spans"])
                       and site_expr(s).endswith("." + case["rel"]))
        else:
            inside = (s["path"] == case["file"] and case["func_start"] <= line <= case["func_end"]
                      and line >= case["option_line"])
            on_read = inside and any(site_expr(s).endswith("." + r) for r in case["rels"])
        untouched = (s["path"], line, s["location"]["column"], s["code"]) in baseline
        if on_read:
            # A report the untouched run had too still flags the read (it
            # is a false positive there, and judged so).
            (before if untouched else hits).append(s)
        elif not untouched:
            elsewhere.append(s)
    return hits, before, elsewhere


def describe_case(name, case, sources, hits=(), before=(), elsewhere=(), cause=None):
    reads = "; ".join(f".{r} at {', '.join(map(str, ls))}" for r, ls in sorted(case["reads"].items()))
    also = f" (and the same load at {', '.join(map(str, case['also']))})" if case["also"] else ""
    if case["kind"] == "caller":
        out = [f"{name}\t[caller] {case['caller_file']}:{case['call_line']}  {case['caller_function']}()  "
               f"reads {reads} ({case['read_text']}, {case['how']}) on what {case['function']}() returns",
               f"    option: {case['file']}:{case['option_line']}  {case['function']}()  "
               f"{case['loader']}({', '.join(case['rels'])}) path {'.'.join(case['path'])}{also}",
               f"      {case['option_text']}",
               f"    call: {case['call_text']}"]
        first = min(l for ls in case["reads"].values() for l in ls)
        out.append(sources.snippet(case["caller_file"], first))
    else:
        out = [f"{name}\t{case['file']}:{case['option_line']}  {case['function']}()  "
               f"{case['loader']}({', '.join(case['rels'])}){also}  reads {reads}"]
        out.append(f"    option: {case['option_text']}")
        first = min(l for ls in case["reads"].values() for l in ls)
        out.append(sources.snippet(case["file"], first))
    for s in hits:
        out.append(f"    SA001 at {s['path']}:{s['location']['line']}:{s['location']['column']}: {site_expr(s)}")
    for s in before:
        out.append(f"    SA001 at {s['path']}:{s['location']['line']}:{s['location']['column']}: {site_expr(s)}"
                   " (reported untouched too)")
    for s in elsewhere:
        out.append(f"    (also new: SA001 at {s['path']}:{s['location']['line']}: {site_expr(s)})")
    if cause is not None:
        out.append(f"    cause: {cause['cause']}: {cause['note']}")
    return "\n".join(out) + "\n"


def case_target(case):
    """How miss_causes.tsv names a case's option: `Owner.rel` for a loader
    (`User.role_profiles`, `models.User.role` as `User.role`), the names
    for a refresh (`suggestions`, `a,b`); for a caller case, prefixed with
    the function that holds the option (`get_team:Team.players`)."""
    if case["kind"] in ("loader", "caller") and case.get("owner"):
        target = f"{case['owner']}.{case['rel']}"
    else:
        target = ",".join(case["rels"])
    if case["kind"] == "caller":
        return f"{case['function']}:{target}"
    return target


def cause_key(name, case):
    """miss_causes.tsv's key of a case: the caller's path and name for a
    caller case (the read is there), the option's otherwise."""
    if case["kind"] == "caller":
        return (name, case["caller_file"], case["caller_function"], case_target(case))
    return (name, case["file"], case["function"], case_target(case))


KINDS = ("same", "caller")


def mutation_run(name, tree, asyncfix, baseline_sites, max_cases, causes, files, used_causes, now_found):
    same_cases, skipped, counts, rels = find_cases(tree, files)
    caller_cases, caller_skipped, caller_counts = find_caller_cases(tree, files, rels)
    clear_parsed()
    baseline = {(s["path"], s["location"]["line"], s["location"]["column"], s["code"]) for s in baseline_sites}
    sources = Sources(tree)
    mutations = Mutations(tree, asyncfix)
    out = {"counts": counts, "caller_counts": caller_counts}
    for kind, all_cases in (("same", same_cases), ("caller", caller_cases)):
        cases, sampled = sample(all_cases, max_cases)
        found, missed, excluded = [], [], []
        miss_causes = Counter()
        start = time.monotonic()
        runs_before = mutations.runs
        for i, case in enumerate(cases, 1):
            hits, before, elsewhere = score(case, mutations.sites(case), baseline)
            key = cause_key(name, case)
            cause = causes.get(key)
            is_found = bool(hits or before)
            if cause is not None:
                used_causes.add(key)
                if is_found and not cause["cause"].startswith(INVALID):
                    now_found.append("\t".join(key))
            if cause is not None and cause["cause"].startswith(INVALID):
                outcome, bucket = "EXCLUDED", excluded
            elif is_found:
                outcome, bucket, cause = "FOUND", found, None
            else:
                outcome, bucket = "MISSED", missed
                # A miss with several causes (`a+b`) counts under each.
                for part in (cause["cause"].split("+") if cause else ["(unclassified)"]):
                    miss_causes[part] += 1
            bucket.append(describe_case(name, case, sources, hits, before, elsewhere, cause))
            where = (f" <- {case['caller_file']}:{case['call_line']} {case['caller_function']}"
                     if kind == "caller" else "")
            print(f"  [{kind} {i}/{len(cases)}] {outcome} {case['file']}:{case['option_line']} "
                  f"{case['loader']}({','.join(case['rels'])}){where}", file=sys.stderr)
        out[kind] = {
            "cases": len(cases) - len(excluded), "all_cases": len(all_cases), "sampled": sampled,
            "found": found, "missed": missed, "excluded": excluded,
            "elapsed": time.monotonic() - start, "runs": mutations.runs - runs_before,
            "miss_causes": miss_causes,
        }
    out["skipped"] = [f"{name}\t{s['file']}:{s['option_line']}  {s['function']}()  {s['loader']}: {s['why']}\n"
                      f"    {s['option_text']}\n" for s in skipped]
    out["caller_skipped"] = [
        f"{name}\t{s['file']}:{s['option_line']}  {s['function']}()  {s['loader']}"
        f"{'(' + '.'.join(s['path']) + ')' if s.get('path') else ''}: {s['why']}\n    {s['option_text']}\n"
        for s in caller_skipped]
    out["skip_reasons"] = Counter(why_kind(s["why"]) for s in skipped)
    out["caller_skip_reasons"] = Counter(caller_why_kind(s["why"]) for s in caller_skipped)
    return out


# --- the whole --------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--asyncfix", required=True)
    ap.add_argument("--results", required=True)
    ap.add_argument("--judgements", default=os.path.join(HERE, "judgements.tsv"))
    ap.add_argument("--causes", default=os.path.join(HERE, "miss_causes.tsv"))
    ap.add_argument("--max-cases", type=int, default=150)
    ap.add_argument("packages", nargs="+", metavar="NAME=TREE")
    args = ap.parse_args()

    judged = load_judgements(args.judgements)
    causes = load_causes(args.causes)
    os.makedirs(args.results, exist_ok=True)
    rows = []
    all_unjudged, all_stale = [], []
    found_out, missed_out, excluded_out = {k: [] for k in KINDS}, {k: [] for k in KINDS}, {k: [] for k in KINDS}
    skipped_out, caller_skipped_out = [], []
    total_causes = {k: Counter() for k in KINDS}
    used_causes, now_found = set(), []
    verdict_causes = Counter()
    with open(os.path.join(args.results, "untouched.txt"), "w", encoding="utf-8") as untouched_out:
        for spec in args.packages:
            name, tree = spec.split("=", 1)
            print(f"== {name}: untouched check", file=sys.stderr)
            files = python_files(tree)
            sites, verdicts, causes_, unjudged, stale = untouched(name, tree, args.asyncfix, judged, untouched_out)
            verdict_causes.update(causes_)
            all_unjudged += unjudged
            all_stale += stale
            print(f"== {name}: mutation run", file=sys.stderr)
            m = mutation_run(name, tree, args.asyncfix, sites, args.max_cases, causes, files, used_causes, now_found)
            skipped_out += m["skipped"]
            caller_skipped_out += m["caller_skipped"]
            row = {
                "name": name, "files": m["counts"]["files"], "async": m["counts"]["async_functions"],
                "reports": len(sites), "genuine": verdicts["genuine"], "fp": verdicts["false-positive"],
                "unjudged": verdicts["unjudged"], "options": m["counts"]["options"],
                "skip": m["skip_reasons"], "caller_skip": m["caller_skip_reasons"],
                "all_options": m["caller_counts"]["options"], "returning": m["caller_counts"]["returning"],
                "functions_returning": m["caller_counts"]["functions_returning"],
            }
            for kind in KINDS:
                k = m[kind]
                found_out[kind] += k["found"]
                missed_out[kind] += k["missed"]
                excluded_out[kind] += k["excluded"]
                total_causes[kind].update(k["miss_causes"])
                row[kind] = {"cases": k["cases"], "all_cases": k["all_cases"], "sampled": k["sampled"],
                             "excluded": len(k["excluded"]), "found": len(k["found"]), "elapsed": k["elapsed"],
                             "runs": k["runs"]}
            rows.append(row)

    def write(fname, items, header):
        with open(os.path.join(args.results, fname), "w", encoding="utf-8") as f:
            f.write(header)
            for item in items:
                f.write(item if item.endswith("\n") else item + "\n")

    caller_note = ("# Caller cases ([caller]) disable an option inside a function F that returns what it loads;\n"
                   "# the read is in an `async def` that calls F, on the variable holding F's result.\n")
    write("sa001-found.txt", found_out["same"] + found_out["caller"],
          "# Mutation cases asyncfix reported (SA001 on the read of the relationship).\n" + caller_note)
    write("sa001-misses.txt", missed_out["same"] + missed_out["caller"],
          "# Mutation cases asyncfix did not report: the option disabled, the read unreported.\n" + caller_note)
    write("sa001-excluded.txt", excluded_out["same"] + excluded_out["caller"],
          f"# Mutation cases taken out of the count by a `{INVALID}` cause in miss_causes.tsv.\n" + caller_note)
    write("options-skipped.txt", skipped_out,
          "# Eager options in async defs that are no same-function mutation case, with why.\n")
    write("caller-options-skipped.txt", caller_skipped_out,
          "# Eager options in any def that are no caller mutation case, with why (path: the link's relationship\n"
          "# path from the query's entity).\n")
    write("unjudged.txt", all_unjudged,
          "# Untouched reports without a row in judgements.tsv (package, path, text, code, verdict, reason).\n")

    def pct(found, cases):
        return f"{100 * found / cases:.0f}%" if cases else "-"

    # --- table 1: the untouched run and the same-function cases ---
    total = Counter()
    print()
    print("Same-function cases (the option and the read in one `async def`):")
    head = (f"{'package':<16} {'files':>6} {'async':>6} {'SA rep':>6} {'genuine':>7} {'FP':>4} {'unjdg':>5}"
            f" {'options':>7} {'excl':>4} {'cases':>5} {'found':>5} {'recall':>7} {'time':>6}")
    print(head)
    print("-" * len(head))
    for r in rows:
        k = r["same"]
        for key in ("files", "async", "reports", "genuine", "fp", "unjudged", "options"):
            total[key] += r[key]
        for key in ("excluded", "cases", "found", "elapsed"):
            total[key] += k[key]
        cases = f"{k['cases']}" + ("*" if k["sampled"] else "")
        print(f"{r['name']:<16} {r['files']:>6} {r['async']:>6} {r['reports']:>6} {r['genuine']:>7} {r['fp']:>4}"
              f" {r['unjudged']:>5} {r['options']:>7} {k['excluded']:>4} {cases:>5} {k['found']:>5}"
              f" {pct(k['found'], k['cases']):>7} {k['elapsed']:>5.0f}s")
    print("-" * len(head))
    print(f"{'total':<16} {total['files']:>6} {total['async']:>6} {total['reports']:>6} {total['genuine']:>7}"
          f" {total['fp']:>4} {total['unjudged']:>5} {total['options']:>7} {total['excluded']:>4} {total['cases']:>5}"
          f" {total['found']:>5} {pct(total['found'], total['cases']):>7} {total['elapsed']:>5.0f}s")
    print()
    print("files: .py files in the checked tree; async: `async def`s; SA rep: SA001+SA002 reports of the untouched")
    print("run, judged genuine / false positive (FP) / unjudged by judgements.tsv; options: eager loaders and")
    print("refresh(obj, [names]) inside `async def`; cases: those the same function reads afterwards (mutated one")
    print(f"at a time), less excl: cases miss_causes.tsv marks `{INVALID}` (the read is another object's); found:")
    print("cases with a SA001 on that read; time: the mutation runs.")

    # --- table 2: the caller cases ---
    ctotal = Counter()
    print()
    print("Caller cases (the option in a function F that returns what it loads, the read in an `async def` calling F):")
    head2 = (f"{'package':<16} {'options':>7} {'in F':>5} {'F':>4} {'excl':>4} {'cases':>5} {'found':>5}"
             f" {'recall':>7} {'runs':>5} {'time':>6}")
    print(head2)
    print("-" * len(head2))
    for r in rows:
        k = r["caller"]
        for key in ("all_options", "returning", "functions_returning"):
            ctotal[key] += r[key]
        for key in ("excluded", "cases", "found", "elapsed", "runs"):
            ctotal[key] += k[key]
        cases = f"{k['cases']}" + ("*" if k["sampled"] else "")
        print(f"{r['name']:<16} {r['all_options']:>7} {r['returning']:>5} {r['functions_returning']:>4}"
              f" {k['excluded']:>4} {cases:>5} {k['found']:>5} {pct(k['found'], k['cases']):>7} {k['runs']:>5}"
              f" {k['elapsed']:>5.0f}s")
    print("-" * len(head2))
    print(f"{'total':<16} {ctotal['all_options']:>7} {ctotal['returning']:>5} {ctotal['functions_returning']:>4}"
          f" {ctotal['excluded']:>4} {ctotal['cases']:>5} {ctotal['found']:>5} {pct(ctotal['found'], ctotal['cases']):>7}"
          f" {ctotal['runs']:>5} {ctotal['elapsed']:>5.0f}s")
    print()
    print("options: eager loaders and refresh(obj, [names]) in any def, sync or async; in F: those inside a function")
    print("F that returns what they load (the statement, its result, the objects; see scripts/sa_accuracy/callers.py);")
    print("F: such functions; cases: (option, caller) pairs where an `async def` calling F reads the relationship on")
    print("the variable holding F's result (or a loop over it, or down the option's chain), less excl; found: a SA001")
    print("on one of those reads; runs: asyncfix runs these cases added (a mutation already run for a same-function")
    print("case is reused); time: theirs.")

    # --- table 3: both ---
    print()
    head3 = f"{'package':<16} {'same-function':>15} {'caller':>15} {'all':>15}"
    print(head3)
    print("-" * len(head3))
    def cell(found, cases):
        return f"{found}/{cases} {pct(found, cases):>4}"
    for r in rows:
        s_, c_ = r["same"], r["caller"]
        print(f"{r['name']:<16} {cell(s_['found'], s_['cases']):>15} {cell(c_['found'], c_['cases']):>15}"
              f" {cell(s_['found'] + c_['found'], s_['cases'] + c_['cases']):>15}")
    print("-" * len(head3))
    print(f"{'total':<16} {cell(total['found'], total['cases']):>15} {cell(ctotal['found'], ctotal['cases']):>15}"
          f" {cell(total['found'] + ctotal['found'], total['cases'] + ctotal['cases']):>15}")
    for r in rows:
        for kind in KINDS:
            if r[kind]["sampled"]:
                print(f"* {r['name']}: {r[kind]['cases']} of {r[kind]['all_cases']} {kind} cases, sampled by hash"
                      " (--max-cases, per kind).")
    print()
    print("Options that are no same-function case: " + ", ".join(
        f"{r['name']} " + "/".join(f"{n} {why}" for why, n in sorted(r["skip"].items())) for r in rows))
    print("Options that are no caller case (caller-options-skipped.txt):")
    for r in rows:
        print(f"  {r['name']}: " + "; ".join(f"{n} {why}" for why, n in sorted(r["caller_skip"].items(),
                                                                            key=lambda kv: -kv[1])))
    for kind, label in (("same", "same-function"), ("caller", "caller")):
        if total_causes[kind]:
            print()
            print(f"Misses of {label} cases by cause (miss_causes.tsv; a miss with several causes counts under each):")
            for cause, n in sorted(total_causes[kind].items(), key=lambda kv: (-kv[1], kv[0])):
                print(f"  {n:>4}  {cause}")
    if verdict_causes:
        print()
        print("Untouched reports by verdict and cause (judgements.tsv, the reason up to its colon):")
        for (code, verdict, cause), n in sorted(verdict_causes.items(), key=lambda kv: (-kv[1], kv[0])):
            print(f"  {n:>4}  {code} {verdict}: {cause}")
    print()
    print(f"Untouched reports: {total['reports']}; judged genuine {total['genuine']}, "
          f"judged false positive {total['fp']}, unjudged {total['unjudged']}.")
    if all_stale:
        print(f"judgements.tsv rows that match no report (the code moved or asyncfix changed): {len(all_stale)}")
        for k in all_stale:
            print(f"  {k[0]}\t{k[1]}\t{k[2]}\t{k[3]}")
    names = {spec.split("=", 1)[0] for spec in args.packages}
    stale_causes = [k for k in causes if k[0] in names and k not in used_causes]
    if stale_causes or now_found:
        print("miss_causes.tsv rows that match no case (the code moved) or a case now found (asyncfix improved):")
        for k in stale_causes:
            print(f"  no case:  {chr(9).join(k)}")
        for k in now_found:
            print(f"  found:    {k}")
    all_found, all_cases = total["found"] + ctotal["found"], total["cases"] + ctotal["cases"]
    print(f"Mutation cases: same-function {total['cases']}, found {total['found']} ({pct(total['found'], total['cases'])});"
          f" caller {ctotal['cases']}, found {ctotal['found']} ({pct(ctotal['found'], ctotal['cases'])});"
          f" all {all_cases}, found {all_found} ({pct(all_found, all_cases)});"
          f" {total['elapsed'] + ctotal['elapsed']:.0f} s of mutation runs.")


if __name__ == "__main__":
    try:
        main()
    except HarnessError as e:
        print(f"harness error: {e}", file=sys.stderr)
        sys.exit(2)
