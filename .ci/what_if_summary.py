"""Summarize `az deployment group what-if --no-pretty-print` as Markdown for the run's summary
page, so the reviewer who approves the deployment sees what it changes.

`python .ci/what_if_summary.py what-if.json` prints one line per changed resource (type, name,
change, and for a modification the property paths that change); deletions first, marked.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

# Most consequential first: a deletion is what a reviewer must not miss.
ORDER = ["Delete", "Modify", "Create", "Deploy", "Unsupported", "Ignore", "NoChange"]


def _name(resource_id: str) -> tuple[str, str]:
    """(type, name) from an ARM resource id: .../providers/<ns>/<type>/<name>[/<sub>/<name>]."""
    parts = resource_id.split("/providers/", 1)[-1].split("/")
    if len(parts) < 3:
        return ("?", resource_id)
    namespace, rest = parts[0], parts[1:]
    types, names = rest[0::2], rest[1::2]
    return ("/".join([namespace, *types]), "/".join(names))


def _paths(delta: list[dict[str, Any]], prefix: str = "") -> list[str]:
    found: list[str] = []
    for change in delta or []:
        path = f"{prefix}{change.get('path', '')}"
        if change.get("propertyChangeType") == "NoEffect":
            continue
        children = change.get("children") or []
        found.extend(_paths(children, f"{path}.") if children else [path])
    return found


def summary(result: dict[str, Any]) -> str:
    if result.get("error"):
        error = result["error"]
        return f"### Infrastructure what-if failed\n\n{error.get('code')}: {error.get('message')}\n"
    changes = [c for c in result.get("changes") or [] if c.get("changeType") != "NoChange"]
    changes.sort(key=lambda c: (ORDER.index(c.get("changeType", "Unsupported"))
                                if c.get("changeType") in ORDER else len(ORDER),
                                c.get("resourceId", "")))  # fmt: skip
    lines = ["### Infrastructure what-if", ""]
    if not changes:
        return "\n".join([*lines, "No change to any resource.", ""])
    lines += ["| change | type | name | properties |", "|---|---|---|---|"]
    for change in changes:
        kind = change.get("changeType", "?")
        mark = f"**{kind}** :warning:" if kind == "Delete" else kind
        resource_type, name = _name(change.get("resourceId", ""))
        paths = ", ".join(f"`{p}`" for p in _paths(change.get("delta") or [])[:10])
        lines.append(f"| {mark} | {resource_type} | {name} | {paths} |")
    counts: dict[str, int] = {}
    for change in changes:
        counts[change.get("changeType", "?")] = counts.get(change.get("changeType", "?"), 0) + 1
    lines += ["", ", ".join(f"{n} {kind}" for kind, n in counts.items()), ""]
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python .ci/what_if_summary.py WHAT_IF.json", file=sys.stderr)
        return 2
    result = json.loads(Path(argv[0]).read_text())
    print(summary(result))
    return 1 if result.get("error") else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
