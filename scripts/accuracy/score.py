"""Scores asyncfix's fixes of the stripped trees against the stripped sites.

    python3 score.py WORK RESULTS MANIFEST JUDGEMENTS PACKAGE...

WORK holds, for each PACKAGE and MODE (`default`: `fix`; `unsafe`:
`fix --unsafe-fixes`):

    WORK/stripped/PACKAGE         the stripped tree
    WORK/MODE/PACKAGE             asyncfix fix of it
    WORK/MODE-again/PACKAGE       asyncfix fix of that (idempotence)
    WORK/check/PACKAGE.MODE.json  asyncfix check --output-format json of the stripped tree

A stripped site is restored when asyncfix's output wraps that expression
again (any form: sync_to_async, database_sync_to_async, a native a* method,
async for), or wraps an expression that contains it. Every wrapper asyncfix
wrote that restores no site is an extra. See the README (section "Accuracy on hand-wrapped code") for the
figures.

Writes RESULTS/*.txt and RESULTS/summary.json, prints the table. Exits 1
on a harness error, a file that no longer parses, or a second fix that
changed something; 0 otherwise, whatever the recall.
"""

import ast
import collections
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import (  # noqa: E402
    WRAPPERS, Aligner, Lines, covers, node_span, parse, squash, wrapper_names,
)
import judgements as judged  # noqa: E402

MODES = ("default", "unsafe")
NEEDED = ("visible", "helper")


def all_files(root):
    out = set()
    for d, _, names in os.walk(root):
        for f in names:
            out.add(os.path.relpath(os.path.join(d, f), root))
    return out


def read(path):
    with open(path, "rb") as handle:
        return handle.read()


def first_line(text):
    lines = text.strip().splitlines()
    return lines[0] + (" ..." if len(lines) > 1 else "") if lines else ""


class Run:
    """One package in one mode."""

    def __init__(self, work, package, mode, problems):
        self.package, self.mode = package, mode
        stripped = os.path.join(work, "stripped", package)
        fixed = os.path.join(work, mode, package)
        again = os.path.join(work, mode + "-again", package)
        self.wraps = collections.defaultdict(list)   # file -> [wrap]
        self.unexplained = []                         # (file, line, what)
        self.broken = []                              # (file, error)
        self.changed = []
        before, after = all_files(stripped), all_files(fixed)
        for path in sorted(before ^ after):
            problems.append(f"{package} ({mode}): file appeared or vanished: {path}")
        for path in sorted(before & after):
            old, new = read(os.path.join(stripped, path)), read(os.path.join(fixed, path))
            if old == new:
                continue
            self.changed.append(path)
            if not path.endswith(".py"):
                problems.append(f"{package} ({mode}): changed a file that is not Python: {path}")
                continue
            try:
                compile(new, path, "exec", dont_inherit=True)
            except (SyntaxError, ValueError) as err:
                self.broken.append((path, f"{type(err).__name__}: {err}"))
                continue
            self.align(path, old, new)
        # Idempotence: the second fix must change nothing.
        self.not_idempotent = []
        for path in sorted(all_files(fixed) | all_files(again)):
            a, b = os.path.join(fixed, path), os.path.join(again, path)
            if not (os.path.exists(a) and os.path.exists(b) and read(a) == read(b)):
                self.not_idempotent.append(path)
        self.check = self.load_check(os.path.join(work, "check", f"{package}.{mode}.json"))

    def align(self, path, old, new):
        old_tree, new_tree = parse(old, path), parse(new, path)
        names = wrapper_names(new_tree) | set(WRAPPERS)
        old_lines, new_lines = Lines(old), Lines(new)
        for event in Aligner(names).align(new_tree, old_tree):
            if event[0] == "wrap":
                _, b, form, a = event
                self.wraps[path].append({
                    "span": node_span(b),
                    "line": b.lineno,
                    "form": form,
                    "text": old_lines.text(b),
                    "fixed": new_lines.text(a) if hasattr(a, "end_lineno") else form,
                    "sites": [],
                })
            elif event[0] == "diff":
                where = event[2] if isinstance(event[2], ast.AST) and hasattr(event[2], "lineno") else None
                line = where.lineno if where is not None else 0
                what = ast.unparse(event[1]) if isinstance(event[1], ast.AST) else repr(event[1])
                self.unexplained.append((path, line, first_line(what)))

    @staticmethod
    def load_check(path):
        """check's JSON: file -> [site]."""
        out = collections.defaultdict(list)
        if not os.path.exists(path):
            return out
        with open(path, encoding="utf-8") as handle:
            text = handle.read().strip()
        for site in json.loads(text or "[]"):
            out[os.path.normpath(site["path"])].append(site)
        return out

    def reported(self, site):
        """check's findings inside the site's span (or holding it)."""
        found = []
        for c in self.check.get(site["file"], []):
            cspan = (c["location"]["line"], c["location"]["column"],
                     c["end_location"]["line"], c["end_location"]["column"])
            sspan = (site["line"], site["col"], site["end_line"], site["end_col"])
            if covers(sspan, cspan) or covers(cspan, sspan):
                found.append(c)
        return found


def describe_check(found):
    if not found:
        return "check: not reported"
    parts = []
    for c in found:
        fix = c["fix"] or "no fix"
        reason = f" ({c['no_fix_reason']})" if c.get("no_fix_reason") else ""
        parts.append(f"{c['code']} [{fix}]{reason} {c['message']}")
    return "check: " + "; ".join(parts)


def category(table, site):
    """visible: the rule in strip.py matched (unless judged not-db);
    helper: judged db; other: judged not-db; unjudged: no judgement yet."""
    row = table.site(site["package"], site["file"], site["text"])
    note = f"{row.cause}: {row.note}" if row else None
    if row and row.verdict == "not-db":
        return "other", note
    if site["visible_rule"]:
        return "visible", note
    if row:
        return "helper", note
    return "unjudged", None


def pct(a, b):
    return f"{100 * a / b:.0f}%" if b else "-"


def main():
    work, results, manifest, judgements_path = sys.argv[1:5]
    packages = sys.argv[5:]
    table = judged.load(judgements_path)
    problems = []
    sites = collections.defaultdict(list)
    with open(manifest, encoding="utf-8") as handle:
        for line in handle:
            r = json.loads(line)
            r["category"], r["judgement"] = category(table, r)
            sites[r["package"]].append(r)

    runs = {(p, m): Run(work, p, m, problems) for p in packages for m in MODES}
    summary = {}
    out = {name: [] for name in ("sites", "misses", "extras", "not-fixed", "unexplained", "unjudged")}

    for package in packages:
        for mode in MODES:
            run = runs[(package, mode)]
            row = collections.Counter()
            # Sites: restored when a wrapper covers them exactly or from outside.
            for s in sites[package]:
                sspan = tuple(s["span"])
                how = None
                for w in run.wraps.get(s["file"], []):
                    if w["span"] == sspan:
                        how = "restored"
                    elif covers(w["span"], sspan) and how is None:
                        how = "restored (inside a larger wrapper)"
                    else:
                        continue
                    w["sites"].append(s)
                s.setdefault("status", {})[mode] = how
                row["sites"] += 1
                row[s["category"]] += 1
                if how:
                    row["restored " + s["category"]] += 1
            # Wrappers written.
            for path, wraps in sorted(run.wraps.items()):
                for w in wraps:
                    row["wrappers"] += 1
                    if any(s["category"] in NEEDED for s in w["sites"]):
                        row["wrappers at needed sites"] += 1
                    elif w["sites"]:
                        row["wrappers at sites judged not-db"] += 1
                    else:
                        verdict = table.get("extra", package, path, w["text"])
                        key = verdict.verdict if verdict else "unjudged"
                        row["extra " + key] += 1
                        out["extras"].append((package, mode, path, w, verdict))
            # Check's findings that fix does not apply in this mode.
            for path, found in sorted(run.check.items()):
                for c in found:
                    applied = c["fix"] == "safe" or (mode == "unsafe" and c["fix"] == "unsafe")
                    if not applied:
                        row["reported, not fixed"] += 1
                        if mode == "default":
                            out["not-fixed"].append((package, path, c))
            row["broken"] = len(run.broken)
            row["not idempotent"] = len(run.not_idempotent)
            row["unexplained"] = len(run.unexplained)
            row["changed files"] = len(run.changed)
            for path, err in run.broken:
                problems.append(f"{package} ({mode}): no longer parses after fix: {path}: {err}")
            for path in run.not_idempotent:
                problems.append(f"{package} ({mode}): a second fix changed {path}")
            for path, line, what in run.unexplained:
                out["unexplained"].append((package, mode, path, line, what))
            summary[(package, mode)] = row

    # --- per-site lists -------------------------------------------------------
    causes = collections.Counter()
    for package in packages:
        default = runs[(package, "default")]
        for s in sites[package]:
            status = s["status"]
            flag = "restored" if status["default"] else ("unsafe only" if status["unsafe"] else "MISSED")
            out["sites"].append(f"{package}/{s['file']}:{s['line']}:{s['col']}\t{s['category']}\t{flag}\t{squash(s['text'])}")
            if s["category"] == "unjudged":
                out["unjudged"].append(f"site\t{package}\t{s['file']}\t{squash(s['text'])}\t?\t?\t{s['line']}")
            if s["category"] in NEEDED and not status["default"]:
                miss = table.get("miss", package, s["file"], s["text"])
                cause = miss.cause if miss else "unjudged"
                causes[("miss", cause)] += 1
                out["misses"].append((package, s, default.reported(s), miss, status["unsafe"]))
    for package, mode, path, w, verdict in out["extras"]:
        if mode == "default" and verdict:
            causes[("extra " + verdict.verdict, verdict.cause)] += 1

    os.makedirs(results, exist_ok=True)

    def write(name, lines):
        with open(os.path.join(results, name), "w", encoding="utf-8") as handle:
            handle.writelines(line + "\n" for line in lines)

    write("sites.txt", ["# package/file:line:col (stripped file)\tcategory\tdefault fix\tstripped text"] + out["sites"])
    lines = ["# Needed sites (visible or helper) that `asyncfix fix` did not wrap again.",
             "# Positions are in the stripped file. `cause` comes from judgements.tsv (kind `miss`).", ""]
    for package, s, found, miss, unsafe in out["misses"]:
        lines.append(f"{package}/{s['file']}:{s['line']}:{s['col']}  [{s['category']}]"
                     + ("  (restored by --unsafe-fixes)" if unsafe else ""))
        lines.append(f"    stripped: {squash(s['text'])}")
        lines.append(f"    original: {squash(s['original'])}")
        lines.append(f"    {describe_check(found)}")
        lines.append(f"    cause: {miss.cause + ': ' + miss.note if miss else 'UNJUDGED'}")
        lines.append("")
    write("misses.txt", lines)
    lines = ["# Wrappers asyncfix wrote where no site was stripped.",
             "# Positions are in the stripped file. Verdict from judgements.tsv (kind `extra`).", ""]
    default_extras = {(p, path, w["span"]) for p, m, path, w, _ in out["extras"] if m == "default"}
    for package, mode, path, w, verdict in out["extras"]:
        if mode == "unsafe" and (package, path, w["span"]) in default_extras:
            continue  # listed once, under default
        lines.append(f"{package}/{path}:{w['line']}  ({mode})  {verdict.verdict if verdict else 'UNJUDGED'}")
        lines.append(f"    expression: {squash(w['text'])}")
        lines.append(f"    written:    {squash(w['fixed'])}")
        if verdict:
            lines.append(f"    cause: {verdict.cause}: {verdict.note}")
        else:
            out["unjudged"].append(f"extra\t{package}\t{path}\t{squash(w['text'])}\t?\t?\t{w['line']}")
        lines.append("")
    write("extras.txt", lines)
    write("not-fixed.txt", ["# `asyncfix check` findings on the stripped trees that the default fix does not apply."]
          + [f"{p}/{path}:{c['location']['line']}:{c['location']['column']}\t{c['code']}\t[{c['fix'] or 'no fix'}]"
             f"\t{c['no_fix_reason'] or ''}\t{c['message']}" for p, path, c in out["not-fixed"]])
    write("unexplained.txt", ["# Changes in the fixed trees that are neither a wrapper nor a wrapper import."]
          + [f"{p} ({m}) {path}:{line}: {what}" for p, m, path, line, what in out["unexplained"]])
    write("unjudged.txt", ["# Rows still to decide, in judgements.tsv's format (last column: line, for finding it)."]
          + out["unjudged"])
    write("causes.txt", [f"{n}\t{kind}\t{cause}" for (kind, cause), n in
                         sorted(causes.items(), key=lambda kv: (kv[0][0], -kv[1], kv[0][1]))])
    stale = table.unused()
    write("stale-judgements.txt", ["# judgements.tsv rows that matched nothing in this run."]
          + ["\t".join(row) for row in stale])

    with open(os.path.join(results, "manifest.jsonl"), "w", encoding="utf-8") as handle:
        for package in packages:
            for s in sites[package]:
                handle.write(json.dumps(s, ensure_ascii=False) + "\n")

    # --- the table -------------------------------------------------------------
    def figures(row):
        needed = row["visible"] + row["helper"]
        restored = row["restored visible"] + row["restored helper"]
        good = row["wrappers at needed sites"] + row["extra bug"]
        return needed, restored, good

    header = ("package", "sites", "vis", "help", "other", "rest.vis", "rest.help", "recall",
              "written", "x.bug", "x.unneeded", "precision", "unsafe recall", "unsafe prec.", "not fixed")
    rows = []
    total = {m: collections.Counter() for m in MODES}
    for package in packages + ["total"]:
        if package == "total":
            d, u = total["default"], total["unsafe"]
        else:
            d, u = summary[(package, "default")], summary[(package, "unsafe")]
            total["default"].update(d)
            total["unsafe"].update(u)
        needed, restored, good = figures(d)
        u_needed, u_restored, u_good = figures(u)
        unneeded = d["extra unneeded"] + d["wrappers at sites judged not-db"]
        rows.append((package, d["sites"], d["visible"], d["helper"], d["other"] + d["unjudged"],
                     f"{d['restored visible']}/{d['visible']}", f"{d['restored helper']}/{d['helper']}",
                     f"{restored}/{needed} {pct(restored, needed)}",
                     d["wrappers"], d["extra bug"], unneeded,
                     f"{good}/{d['wrappers']} {pct(good, d['wrappers'])}",
                     f"{u_restored}/{u_needed} {pct(u_restored, u_needed)}",
                     f"{u_good}/{u['wrappers']} {pct(u_good, u['wrappers'])}",
                     d["reported, not fixed"]))
    widths = [max(len(str(r[i])) for r in rows + [header]) for i in range(len(header))]
    text = []
    for r in [header] + rows:
        text.append("  ".join(str(c).ljust(w) if i == 0 else str(c).rjust(w) for i, (c, w) in enumerate(zip(r, widths))))
    d = total["default"]
    text += [
        "",
        f"sites: awaited wrappers stripped; vis/help/other: needed sites whose ORM use is visible at the call /"
        f" inside a helper, and sites judged not to need one ({d['unjudged']} unjudged count as other);",
        "recall: needed sites the default `fix` wrapped again; written: wrappers it wrote;"
        " x.bug: extras that are real sync calls the authors missed;",
        "x.unneeded: extras judged unneeded plus wrappers restoring not-db sites;"
        " precision: (wrappers at needed sites + x.bug) / written;",
        "unsafe: the same with `fix --unsafe-fixes`; not fixed: `check` findings the default fix leaves.",
        f"files no longer parsing: {d['broken'] + total['unsafe']['broken']}; second fix changed files:"
        f" {d['not idempotent'] + total['unsafe']['not idempotent']}; unexplained changes:"
        f" {d['unexplained'] + total['unsafe']['unexplained']}; unjudged extras:"
        f" {d['extra unjudged'] + total['unsafe']['extra unjudged']}",
    ]
    write("summary.txt", text)
    print("\n".join(text))
    with open(os.path.join(results, "summary.json"), "w", encoding="utf-8") as handle:
        json.dump({f"{p}.{m}": dict(row) for (p, m), row in summary.items()}, handle, indent=1, sort_keys=True)
    if problems:
        print("\nHarness failures:")
        for p in problems:
            print("  " + p)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
