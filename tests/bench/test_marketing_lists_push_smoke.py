"""The list-push benchmark still starts (its settings pass the product's checks) and still
counts calls, at a small size. No timing assertions: `python -m bench.marketing_lists_push`
reports wall time and memory."""

from __future__ import annotations

from pathlib import Path

from bench.marketing_lists_push import main


def test_the_benchmark_runs_and_counts_calls(tmp_path: Path) -> None:
    output = tmp_path / "push.md"

    assert main(["--sizes", "300", "--memory", "off", "--output", str(output)]) == 0

    text = output.read_text()
    # Calls are counted through the runtime's own clients (uncounted, the check would fail:
    # fewer calls than the protocol minimum is as wrong as more).
    assert "| 300 | first push | - / 9 |" in text
    assert "- calls at the protocol minimum: met" in text
