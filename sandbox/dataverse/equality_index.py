"""An equality index for collection reads whose `$filter` has, as the whole filter or as one of
its top-level `and` terms, an `or` chain of one text column equal to literals
(`emailaddress1 eq 'a' or emailaddress1 eq 'b' ...`), as the connector's email lookups send.

Dataverse answers those from its indexes; without one the sandbox would test every row of the
table against the filter for each such GET, and 100,000 emails looked up 50 to a GET against
100,000 records would take hours. The index only narrows which rows are tested: the filter
still decides every candidate, so answers are exactly those of a full scan. It is built on
first use per table and column and rebuilt after any write (the state's version moved).
"""

from __future__ import annotations

import re
import weakref
from collections.abc import Iterator

from sandbox.dataverse.store import Table

_TERM = re.compile(r"([A-Za-z_][A-Za-z0-9_]*) eq '((?:[^']|'')*)'")
_INDEXES: weakref.WeakKeyDictionary[Table, dict[str, tuple[int, dict[str, list[str]]]]] = (
    weakref.WeakKeyDictionary()
)


def _split(text: str, word: str) -> list[str]:
    """`text` split at ` word ` outside quotes and parentheses."""
    parts, start, depth, inside, i = [], 0, 0, False, 0
    separator = f" {word} "
    while i < len(text):
        char = text[i]
        if char == "'":
            inside = not inside
        elif not inside and char in "()":
            depth += 1 if char == "(" else -1
        elif not inside and depth == 0 and text.startswith(separator, i):
            parts.append(text[start:i])
            i += len(separator)
            start = i
            continue
        i += 1
    parts.append(text[start:])
    return parts


def _unwrap(text: str) -> str:
    """Outer parentheses removed while they enclose the whole text."""
    text = text.strip()
    while text.startswith("(") and text.endswith(")"):
        depth = 0
        for position, char in enumerate(text):
            depth += (char == "(") - (char == ")")
            if depth == 0 and position < len(text) - 1:
                return text  # "(a) or (b)": the first ")" is not the last
        text = text[1:-1].strip()
    return text


def equality_terms(filter_text: str) -> tuple[str, set[str]] | None:
    """(column, lower-cased values) of the first top-level `and` term that is such a chain."""
    for conjunct in _split(_unwrap(filter_text), "and"):
        matches = [_TERM.fullmatch(_unwrap(term)) for term in _split(_unwrap(conjunct), "or")]
        if not matches or any(m is None for m in matches):
            continue
        columns = {m.group(1) for m in matches if m is not None}
        if len(columns) == 1:
            values = {m.group(2).replace("''", "'").lower() for m in matches if m is not None}
            return columns.pop(), values
    return None


def candidates(
    table: Table, filter_text: str | None, version: int, last_id: str | None
) -> Iterator[str] | None:
    """Ids (in table order, after `last_id`) of the rows that may match, or None: scan all."""
    if filter_text is None:
        return None
    found = equality_terms(filter_text)
    if found is None:
        return None
    column, values = found
    definition = table.definition.columns.get(column)
    if definition is None or definition.kind not in ("string", "memo"):
        return None
    per_table = _INDEXES.setdefault(table, {})
    built = per_table.get(column)
    if built is None or built[0] != version:
        index: dict[str, list[str]] = {}
        for row_id, row in table.rows.items():
            value = row.values.get(column)
            if isinstance(value, str):
                index.setdefault(value.lower(), []).append(row_id)
        built = (version, index)
        per_table[column] = built
    ids = sorted({i for value in values for i in built[1].get(value, ())})
    after = "" if last_id is None else last_id.lower()
    return iter([i for i in ids if i > after])
