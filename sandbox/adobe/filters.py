"""Custom filters of the ACS sandbox: what an administrator defines on a resource in Campaign
and the API calls as `/<resource>/by<Name>?<parameter>=<value>` (reference: "Filter, page,
sort, count": custom filters are defined in the UI and called on `/profileAndServicesExt`).

The sandbox knows one kind, "any of these dates on or after the parameter", and its
organization has the opt-out sync's `byOptOutChanged` defined on the profile, as the README's
setup of an Adobe Campaign account asks an administrator to define it. (INFER: the engine's
answer to a parameter that is not a date is an RST-360011 text, as for other bad values.)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

OPT_OUT_FILTER = "byOptOutChanged"
OPT_OUT_FILTER_PARAMETER = "since"
# Every opt-out attribute's own change time, and the profile's creation (a profile new since
# the last run gets the contact's opt-outs).
OPT_OUT_DATES = (
    "blackListLastModified",
    "blackListEmailLastModified",
    "blackListFaxLastModified",
    "blackListMobileLastModified",
    "blackListPhoneLastModified",
    "blackListPostalMailLastModified",
    "ccpaOptOutLastModified",
    "created",
)


def parse_time(text: str) -> float | None:
    """ACS's `2026-11-28 09:15:02.123Z` or ISO 8601; naive is UTC; "" or junk -> None."""
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


@dataclass(frozen=True)
class ChangedSince:
    """Rows where any of `fields` (dates as ACS writes them, "" when never set) is on or after
    the value of `parameter`."""

    parameter: str
    fields: tuple[str, ...]

    def selects(self, row: dict[str, Any], since: float) -> bool:
        for name in self.fields:
            moment = parse_time(str(row.get(name) or ""))
            if moment is not None and moment >= since:
                return True
        return False


def default_filters() -> dict[tuple[str, str], ChangedSince]:
    """(resource, filter name) -> filter: what the sandbox organization has defined."""
    return {("profile", OPT_OUT_FILTER): ChangedSince(OPT_OUT_FILTER_PARAMETER, OPT_OUT_DATES)}
