"""Replacement rules: a mapped Dynamics field's value sent to Campaign as another value
("green" -> "#00FF00", "F" -> "1"). A rule names the value as typed; a choice can be named by
its value or by its label, as the app's dropdowns offer either."""

from __future__ import annotations

from collections.abc import Iterable

from shared.storage.adobe_config_model import Replacement
from shared.sync.adobe.values import text_of


class Replacements:
    """The rules of one table mapping, looked up by (field, value); exact, case-sensitive."""

    def __init__(self, rules: Iterable[Replacement]) -> None:
        self._rules = {(r.dynamics_field, r.value): r.new_value for r in rules}

    def find(self, dynamics_field: str, value: object, label: str | None = None) -> str | None:
        """The replacement for the value (or for the choice's label), if a rule names either."""
        for candidate in (text_of(value), label):
            if candidate is not None:
                found = self._rules.get((dynamics_field, candidate))
                if found is not None:
                    return found
        return None

    def apply(self, dynamics_field: str, value: object, label: str | None = None) -> object:
        """The replacement, else the value unchanged."""
        found = self.find(dynamics_field, value, label)
        return value if found is None else found
