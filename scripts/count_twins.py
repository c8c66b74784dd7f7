"""Counts DJ110 findings by native twin, from `check --output-format json`.

Prints `TOTAL (twin N, twin N, ...)`, most frequent first.
"""

import collections
import json
import re
import sys

findings = json.load(open(sys.argv[1]))
twins = collections.Counter(re.search(r"native `(\w+)`", finding["message"]).group(1) for finding in findings)
parts = ", ".join(f"{twin} {count}" for twin, count in sorted(twins.items(), key=lambda item: (-item[1], item[0])))
print(f"{sum(twins.values())} ({parts})")
