"""Downloads the source distribution of one pinned package from a package
index, checked against the index's sha256, without building anything.

    python3 scripts/fetch_sdist.py NAME==VERSION DEST_DIR

`pip download --no-binary :all:` prepares the sdist's metadata, which builds
its build requirements from source too (SQLAlchemy's Cython took minutes);
the simple repository API (PEP 691, JSON) names the file and its hash, so
the archive itself is all that is fetched. The index is PIP_INDEX_URL, or
PyPI's. Standard library only.
"""

import hashlib
import json
import os
import re
import sys
import urllib.request

ARCHIVES = (".tar.gz", ".zip")


def normalize(name):
    # PEP 503: runs of -, _ and . are one -, case folded.
    return re.sub(r"[-_.]+", "-", name).lower()


def sdist_of(files, name, version):
    for entry in files:
        filename = entry["filename"]
        extension = next((ext for ext in ARCHIVES if filename.endswith(ext)), None)
        if extension is None:
            continue
        stem = filename[: -len(extension)]
        project, _, found = stem.rpartition("-")
        if normalize(project) == normalize(name) and found == version:
            return entry
    return None


def main():
    if len(sys.argv) != 3 or "==" not in sys.argv[1]:
        sys.exit("usage: fetch_sdist.py NAME==VERSION DEST_DIR")
    name, version = sys.argv[1].split("==", 1)
    dest = sys.argv[2]
    index = os.environ.get("PIP_INDEX_URL", "https://pypi.org/simple").rstrip("/")
    request = urllib.request.Request(
        f"{index}/{normalize(name)}/",
        headers={"Accept": "application/vnd.pypi.simple.v1+json"},
    )
    with urllib.request.urlopen(request, timeout=120) as response:
        files = json.load(response)["files"]
    entry = sdist_of(files, name, version)
    if entry is None:
        sys.exit(f"fetch_sdist.py: no source distribution of {name} {version} on {index}")
    expected = entry.get("hashes", {}).get("sha256")
    if not expected:
        sys.exit(f"fetch_sdist.py: {index} gives no sha256 for {entry['filename']}")
    with urllib.request.urlopen(entry["url"], timeout=300) as response:
        data = response.read()
    actual = hashlib.sha256(data).hexdigest()
    if actual != expected:
        sys.exit(f"fetch_sdist.py: {entry['filename']}: sha256 {actual}, the index says {expected}")
    path = os.path.join(dest, entry["filename"])
    with open(path, "wb") as out:
        out.write(data)
    print(path)


if __name__ == "__main__":
    main()
