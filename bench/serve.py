"""A benchmark's sandbox process, `python -m <bench module> --serve N`: it seeds the sandboxes,
prints one JSON line with their endpoints, serves until its stdin closes, then prints one JSON
line with its verdict (what the bench module's `_serve` checks) and exits."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from typing import Any

from bench.sandbox_process import REPO_ROOT, Endpoints


class ServeProcess:
    def __init__(self, module: str, size: int) -> None:
        self._stderr = tempfile.TemporaryFile(mode="w+")  # noqa: SIM115
        self._process = subprocess.Popen(
            [sys.executable, "-m", module, "--serve", str(size)],
            cwd=REPO_ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._stderr,
            text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )  # fmt: skip
        self.endpoints = Endpoints(**self._line("start"))

    def _line(self, what: str) -> dict[str, Any]:
        assert self._process.stdout is not None
        line = self._process.stdout.readline()
        if not line:
            self._process.wait(timeout=120)
            self._stderr.seek(0)
            raise RuntimeError(f"the sandbox process ended during {what}: {self._stderr.read()}")
        answer: dict[str, Any] = json.loads(line)
        return answer

    def finish(self) -> dict[str, Any]:
        """The verdict's fields, once the process has seen its stdin close."""
        assert self._process.stdin is not None
        self._process.stdin.close()
        verdict = self._line("finish")
        self._process.wait(timeout=60)
        self._stderr.close()
        return verdict
