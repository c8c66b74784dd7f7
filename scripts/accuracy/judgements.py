"""The judgements file: what a person decided by reading each site or
wrapper the heuristics cannot decide.

Tab-separated, one row a decision, `#` starts a comment line:

    kind  package  file  text  verdict  cause  note

kind     `site`  a stripped site: verdict `db` (it needs a wrapper: the call
                 reaches the database) or `not-db` (it does not);
         `extra` a wrapper asyncfix wrote where no site was stripped: verdict
                 `bug` (a real synchronous database call the authors
                 missed) or `unneeded`;
         `miss`  a needed site asyncfix did not restore: verdict `-`; cause
                 says why.
package  the package name as in scripts/accuracy.sh
file     the path inside the package
text     the stripped expression (the unwrapped text), whitespace collapsed
cause    a short tag shared by rows with the same cause (for the summary)
note     free text: the reason, read off the code

Rows are keyed by (kind, package, file, text), not by line number, so they
survive small shifts between versions.
"""

import collections

from common import squash

Row = collections.namedtuple("Row", "kind package file text verdict cause note")
KINDS = {"site": {"db", "not-db"}, "extra": {"bug", "unneeded"}, "miss": {"-"}}


class Table:
    def __init__(self, rows):
        self.rows = {}
        for row in rows:
            self.rows[(row.kind, row.package, row.file, squash(row.text))] = row
        self.used = set()

    def get(self, kind, package, file, text):
        key = (kind, package, file, squash(text))
        row = self.rows.get(key)
        if row:
            self.used.add(key)
        return row

    def site(self, package, file, text):
        return self.get("site", package, file, text)

    def unused(self):
        return [row for key, row in self.rows.items() if key not in self.used]


def load(path):
    rows = []
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            line = line.rstrip("\n")
            if not line.strip() or line.startswith("#"):
                continue
            cols = line.split("\t")
            if len(cols) != 7:
                raise ValueError(f"{path}:{number}: {len(cols)} columns, want 7")
            row = Row(*cols)
            if row.kind not in KINDS or row.verdict not in KINDS[row.kind]:
                raise ValueError(f"{path}:{number}: bad kind/verdict {row.kind}/{row.verdict}")
            rows.append(row)
    return Table(rows)
