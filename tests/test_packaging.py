"""What Azure gets: the app package leaves out the dev tooling, and the app never loads it.

Both checks import the real `function_app` in a fresh interpreter where the dev-only modules
cannot be imported, as in Azure (requirements.txt does not install typer, rich or croniter, and
.funcignore leaves shared/cli and the rest out of the package). A third-party package's optional
import (httpx tries rich for its command line) fails quietly there, as it does in Azure; an
attempt from the app's own files fails the test even when it is guarded.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from shared.azurite import PROJECT_ROOT

DEV_ONLY = (
    "shared.__main__", "shared.cli", "shared.localhost", "shared.azurite",
    "sandbox", "bench", "typer", "rich", "croniter", "moto", "flask", "playwright",
)  # fmt: skip
FUNCTIONS = [
    "admin_api", "audit_purge", "dynamics_webhook", "operator_console", "scheduler_tick",
    "sync_worker",
]  # fmt: skip
PACKAGE = {"function_app.py", "host.json", "requirements.txt", "functions", "shared"}

# Run in the child interpreter: dev-only modules raise ModuleNotFoundError, as if not installed,
# and every attempt to import one is reported with the file that made it.
IMPORT_THE_APP = """
import importlib.abc, json, sys

DEV_ONLY = {dev_only!r}
MACHINERY = ("<frozen", "importlib")  # frames of the import system, between importer and finder
attempts = []


class NotDeployed(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if not any(name == m or name.startswith(m + ".") for m in DEV_ONLY):
            return None
        frame = sys._getframe(1)
        while frame.f_back and any(m in frame.f_code.co_filename for m in MACHINERY):
            frame = frame.f_back
        attempts.append([name, frame.f_code.co_filename])
        raise ModuleNotFoundError(f"{{name}} is dev tooling, not deployed", name=name)


sys.meta_path.insert(0, NotDeployed())
import function_app

print(json.dumps({{
    "file": function_app.__file__,
    "functions": sorted(f.get_function_name() for f in function_app.app.get_functions()),
    "modules": sorted(sys.modules),
    "attempts": attempts,
}}))
"""


def _import_app(cwd: Path) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}  # only `cwd` is on the path
    result = subprocess.run(
        [sys.executable, "-c", IMPORT_THE_APP.format(dev_only=DEV_ONLY)],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    loaded: dict[str, Any] = json.loads(result.stdout.splitlines()[-1])
    return loaded


def _dev_only_loaded(modules: list[str]) -> list[str]:
    return [m for m in modules if any(m == d or m.startswith(f"{d}.") for d in DEV_ONLY)]


def _tried_by_the_app(loaded: dict[str, Any], app_dir: Path) -> list[list[str]]:
    """Dev-only imports that the app's own files attempted, even under `except ImportError`
    (installed packages are not the app's files, even when the venv is inside the project)."""
    return [
        a
        for a in loaded["attempts"]
        if Path(a[1]).resolve().is_relative_to(app_dir.resolve()) and "site-packages" not in a[1]
    ]


def test_the_function_app_indexes_its_functions_without_the_dev_tooling() -> None:
    loaded = _import_app(PROJECT_ROOT)

    assert loaded["functions"] == FUNCTIONS
    assert _tried_by_the_app(loaded, PROJECT_ROOT) == []
    assert _dev_only_loaded(loaded["modules"]) == []
    assert "shared.pipeline.worker" in loaded["modules"]  # the product itself did load


def test_the_package_leaves_out_tests_sandboxes_and_dev_tooling_and_still_runs(
    tmp_path: Path,
) -> None:
    package = tmp_path / "app"
    built = subprocess.run(
        [sys.executable, str(PROJECT_ROOT / ".ci" / "package_app.py"), str(package)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert built.returncode == 0, built.stderr

    assert {p.name for p in package.iterdir()} == PACKAGE
    files = {p.relative_to(package).as_posix() for p in package.rglob("*") if p.is_file()}
    for dev in ("shared/__main__.py", "shared/cli/", "shared/localhost/", "shared/azurite.py"):
        assert not [f for f in files if f.startswith(dev)], dev
    assert not [f for f in files if "__pycache__" in f or f.endswith(".pyc")]

    loaded = _import_app(package)  # the packaged copy alone: shared/cli is not even there
    assert Path(loaded["file"]).parent == package
    assert loaded["functions"] == FUNCTIONS
    assert _tried_by_the_app(loaded, package) == []
    assert _dev_only_loaded(loaded["modules"]) == []
