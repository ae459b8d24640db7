"""How the console shows values: the Jinja2 environment, times in UTC (the browser adds the
viewer's local time beside them), statuses as the seeds name them, and counts."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from shared.audit import split_list_item
from shared.scheduling import Interval

BASE: Final = "/api/console"
TEMPLATES: Final = Path(__file__).parent / "templates"
STATIC: Final = Path(__file__).parent / "static"
COUNTS: Final = ("read", "created", "updated", "deleted", "failed")
INTERVALS: Final = [interval.value for interval in Interval]


def parse_time(value: Any) -> datetime | None:
    if not value:
        return None
    moment = datetime.fromisoformat(str(value))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def when(value: Any, empty: str = "—") -> Markup:
    """`2026-11-23 09:00 UTC` in a <time> element; console.js writes the local time beside it."""
    moment = parse_time(value)
    if moment is None:
        return Markup('<span class="none">{}</span>').format(empty)
    utc = moment.astimezone(UTC)
    return Markup('<time datetime="{}">{} UTC</time>').format(
        utc.strftime("%Y-%m-%dT%H:%M:%SZ"), utc.strftime("%Y-%m-%d %H:%M")
    )


def counts(value: Any) -> str:
    """The non-zero counts of a run or detail row, e.g. `read 3, created 2`."""
    if not isinstance(value, dict):
        return ""
    shown = [f"{name} {value[name]}" for name in COUNTS if value.get(name)]
    return ", ".join(shown) or "—"


def slug(value: Any) -> str:
    """A status as a CSS class: `Completed With Errors` -> `completed-with-errors`."""
    return "-".join(str(value).lower().split())


def list_name(item: Any) -> str:
    """The marketing list's name in a MarketingListsDataOut detail item."""
    return split_list_item(str(item))[0]


def yes_no(value: Any) -> str:
    return "Yes" if value else "No"


def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(when=when, counts=counts, slug=slug, yes_no=yes_no, list_name=list_name)
    env.globals.update(base=BASE, intervals=INTERVALS)
    return env
