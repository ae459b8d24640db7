"""Assemble the Functions app package: this folder less what `.funcignore` names.

`python .ci/package_app.py DEST` copies the files into DEST (which must not exist yet), as Core
Tools would publish them; the deploy workflow then installs requirements.txt next to them.
"""

from __future__ import annotations

import fnmatch
import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Rule:
    pattern: str
    anchored: bool  # has a slash: matched against the path from ROOT, not a name at any depth
    directory_only: bool

    @classmethod
    def parse(cls, line: str) -> Rule:
        if line.startswith("!"):
            # Core Tools' parser does not honour negation either: refuse it instead of guessing.
            raise ValueError(f".funcignore: negated patterns are not supported: {line!r}")
        directory_only = line.endswith("/")
        pattern = line.rstrip("/")
        return cls(pattern.lstrip("/"), "/" in pattern, directory_only)

    def matches(self, relative: str, is_dir: bool) -> bool:
        if self.directory_only and not is_dir:
            return False
        if self.anchored:
            return fnmatch.fnmatchcase(relative, self.pattern)
        return fnmatch.fnmatchcase(relative.rsplit("/", 1)[-1], self.pattern)


def read_rules(path: Path) -> list[Rule]:
    lines = (line.strip() for line in path.read_text().splitlines())
    return [Rule.parse(line) for line in lines if line and not line.startswith("#")]


def package_files(root: Path, rules: list[Rule]) -> list[str]:
    """The paths (relative, with slashes) that go into the package, sorted."""

    def ignored(relative: str, is_dir: bool) -> bool:
        return any(rule.matches(relative, is_dir) for rule in rules)

    kept: list[str] = []
    for folder, dirs, files in os.walk(root):
        base = Path(folder).relative_to(root).as_posix()
        prefix = "" if base == "." else f"{base}/"
        # An ignored directory is not walked at all (node_modules, .venv, .git).
        dirs[:] = sorted(d for d in dirs if not ignored(prefix + d, is_dir=True))
        kept.extend(prefix + f for f in sorted(files) if not ignored(prefix + f, is_dir=False))
    return sorted(kept)


def build(dest: Path, root: Path = ROOT) -> list[str]:
    files = package_files(root, read_rules(root / ".funcignore"))
    dest.mkdir(parents=True)
    for relative in files:
        target = dest / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(root / relative, target)
    return files


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python .ci/package_app.py DEST")
    copied = build(Path(sys.argv[1]))
    print(f"{len(copied)} files packaged into {sys.argv[1]}")
