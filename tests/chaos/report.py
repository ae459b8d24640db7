"""The chaos run's results table: each scenario's trials and how many ended as they should,
plus measured figures; rendered as Markdown by the full run (bench/results/chaos.md)."""

from __future__ import annotations

import platform
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime

CONSENT = "Unsubscribes, ContactOptIn, SuppressionLists, MarketingPreferences"
# scenario -> (what was done, what "as it should" means for {good} of {n} trials)
SCENARIOS = {
    "kills": (
        "Worker killed at a Table, queue or HTTP operation, message redelivered",
        "{n} kills -> {good} identical end states and audits",
    ),
    "duplicates": (
        "Every message delivered twice, earlier messages replayed",
        "{good} of {n} runs with 0 duplicate contacts, imports, audit rows or slices",
    ),
    "faults": (
        "10% of API answers 429, 5xx, dropped or lost after being applied",
        "{good} of {n} runs completed with correct data and honest statuses",
    ),
    "malformed": (
        "Malformed messages, each delivered several times",
        "{good} of {n} messages audited once and dead-lettered",
    ),
    "consent kills": (
        CONSENT + ": worker killed at a Table, queue or HTTP operation",
        "{n} kills -> {good} identical end states and audits (counts and messages)",
    ),
    "consent duplicates": (
        CONSENT + ": every message delivered twice, earlier ones replayed",
        "{good} of {n} runs with the rows, list and audit of a single delivery, no copy working",
    ),
    "consent faults": (
        CONSENT + ": 10% of API answers 429, 5xx, dropped or lost",
        "{good} of {n} runs with correct data and honest audits (Completed: the same counts)",
    ),
    "neighbours": ("A good account beside 3 failing ones, 2 concurrent workers", ""),
}


@dataclass
class ChaosReport:
    size: str
    trials: dict[str, list[tuple[bool, str]]] = field(default_factory=lambda: defaultdict(list))
    figures: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    tallies: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))

    def record(self, scenario: str, ok: bool, note: str) -> None:
        """One trial: whether it ended as it should, and what it was (or what went wrong)."""
        self.trials[scenario].append((ok, note))

    def figure(self, scenario: str, text: str) -> None:
        self.figures[scenario].append(text)

    def tally(self, scenario: str, what: str, amount: int = 1) -> None:
        """Add to a count reported as a total over the scenario's trials."""
        self.tallies[scenario][what] += amount

    def complete(self) -> bool:
        """Every scenario has trials."""
        return all(self.trials.get(key) for key in SCENARIOS)

    def render(self) -> str:
        when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
        lines = [
            "# Chaos run (full size)",
            "",
            f"`make chaos`, {when}, Python {platform.python_version()}, "
            "Azurite and both sandboxes over real HTTP, the real Worker and Scheduler.",
            "",
            "| scenario | trials | as they should | result |",
            "|---|---|---|---|",
        ]
        for key, (title, summary) in SCENARIOS.items():
            trials = self.trials.get(key, [])
            good = sum(ok for ok, _ in trials)
            totals = [f"{count} {what}" for what, count in sorted(self.tallies[key].items())]
            parts = [summary.format(n=len(trials), good=good), *totals, *self.figures[key]]
            result = "; ".join(p for p in parts if p)
            lines.append(f"| {title} | {len(trials)} | {good} | {result} |")
        failures = [
            f"- {key}: {note}"
            for key, trials in self.trials.items()
            for ok, note in trials
            if not ok
        ]
        if failures:
            lines += ["", "## Trials that did not end as they should", "", *failures[:40]]
        return "\n".join(lines) + "\n"
