"""Which way a table's initial load goes: over the REST API, or as a file drop (an export
uploaded to the account's SFTP or S3 storage and imported by a Campaign workflow, for tables
over 500,000 records). The file drop is a component of its own; until it is wired in, every
load goes over the API. This is the one place that decides."""

from __future__ import annotations

from enum import StrEnum

from shared.storage.adobe_config_model import TableMapping

FILE_DROP_ABOVE = 500_000  # records: Adobe's former rule for the initial data transfer


class InitialRoute(StrEnum):
    API = "api"
    FILE_DROP = "file drop"


def initial_route(mapping: TableMapping, records: int | None = None) -> InitialRoute:
    """How `mapping`'s initial load (or replay) is transferred; `records`: the table's size
    when known. Always the API for now: the file drop's sync-type side is not built yet."""
    del mapping, records  # the file drop will decide by FILE_DROP_ABOVE
    return InitialRoute.API
