"""A record's marketing preferences as a CRM user sees them on its form (the CLI shows them;
the admin API will): one line per preference of an email account, filtered by all, opted in,
opted out, private or public."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from shared.clients.dataverse.client import DataverseClient
from shared.clients.dataverse.odata import literal
from shared.errors import BadInputError
from shared.sync.preferences import dynamics as dv


class PreferenceFilter(StrEnum):
    ALL = "all"
    OPTED_IN = "opted-in"
    OPTED_OUT = "opted-out"
    PRIVATE = "private"
    PUBLIC = "public"


@dataclass(frozen=True)
class PreferenceLine:
    record: str  # "contact:<id>"
    email: str
    preference: str  # public name
    private_name: str
    category: str
    public: bool
    opted_in: bool
    last_modified: datetime | None

    def matches(self, wanted: PreferenceFilter) -> bool:
        return {
            PreferenceFilter.ALL: True,
            PreferenceFilter.OPTED_IN: self.opted_in,
            PreferenceFilter.OPTED_OUT: not self.opted_in,
            PreferenceFilter.PRIVATE: not self.public,
            PreferenceFilter.PUBLIC: self.public,
        }[wanted]


def record_filter(record: str) -> str:
    """`contact:<id>`, `lead:<id>`, `account:<id>` or an email, as an OData filter."""
    entity, sep, record_id = record.partition(":")
    if sep and entity in dv.ENTITIES:
        try:
            return f"_dms_{entity}id_value eq {uuid.UUID(record_id)}"
        except ValueError:
            raise BadInputError(f"'{record_id}' is not a record id (a GUID).") from None
    if "@" in record:
        return f"dms_email eq {literal(record.strip())}"
    raise BadInputError(
        f"'{record}' names no record: give contact:<id>, lead:<id>, account:<id> or an email."
    )


def record_preferences(
    dataverse: DataverseClient,
    account_id: str,
    record: str,
    wanted: PreferenceFilter = PreferenceFilter.ALL,
) -> list[PreferenceLine]:
    """The record's subscription rows in the account, with their preferences' names."""
    preferences = {
        dv.preference_row_id(account_id, platform_id): row
        for platform_id, row in dv.read_preference_rows(dataverse, account_id).items()
    }
    where = f"dms_emailaccountid eq {literal(account_id)} and {record_filter(record)}"
    columns = [*dv.SUBSCRIPTION_COLUMNS, "dms_lastmodified"]
    lines = []
    for row in dataverse.iter_records(dv.SUBSCRIPTION_SET, columns, filter=where):
        preference = preferences.get(str(row.get("_dms_marketingpreferenceid_value")).lower())
        entity = next((e for e in dv.ENTITIES if row.get(f"_dms_{e}id_value")), None)
        if preference is None or entity is None:
            continue
        line = PreferenceLine(
            record=f"{entity}:{row[f'_dms_{entity}id_value']}",
            email=str(row.get("dms_email") or ""),
            preference=str(preference.get("dms_name") or ""),
            private_name=str(preference.get("dms_privatename") or ""),
            category=str(preference.get("dms_category") or ""),
            public=bool(preference.get("dms_ispublic")),
            opted_in=bool(row.get("dms_optedin")),
            last_modified=dv.parse_utc(row.get("dms_lastmodified")),
        )
        if line.matches(wanted):
            lines.append(line)
    return sorted(lines, key=lambda line: (line.record, line.category, line.preference))
