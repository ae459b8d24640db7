"""Notes and activities about a contact, lead or account.

- Note (`annotations`): `"objectid_<table>@odata.bind": "/contacts(<id>)"`; the navigation
  property is `objectid_contact` (relationship Contact_Annotation, PAD
  `reference/entities/annotation.md`).
- Activity (`tasks`, `phonecalls`, a custom activity table): the regarding navigation
  property is suffixed with the activity table, `regardingobjectid_<table>_<activity>`
  (`regardingobjectid_account_task@odata.bind` in PAD
  `webapi/execute-batch-operations-using-web-api.md`). The plain `regardingobjectid_contact`
  belongs to activitypointer and is not the documented form for a task. For a custom activity
  table, check the name against the relationship's ReferencingEntityNavigationPropertyName.

The `*_body` functions build the JSON for a `$batch` of creates; `create_*` send one.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from shared.clients.dataverse.odata import check_guid, check_name, entity_set_of
from shared.clients.dataverse.transport import DataverseTransport
from shared.clients.dataverse.writes import create


def note_bind_name(regarding: str) -> str:
    return f"objectid_{check_name(regarding, 'table')}@odata.bind"


def regarding_bind_name(regarding: str, activity: str) -> str:
    return (
        f"regardingobjectid_{check_name(regarding, 'table')}_"
        f"{check_name(activity, 'table')}@odata.bind"
    )


def reference(logical_name: str, record_id: str) -> str:
    return f"/{entity_set_of(logical_name)}({check_guid(record_id)})"


def note_body(regarding: str, regarding_id: str, *, subject: str, text: str) -> dict[str, Any]:
    return {
        "subject": subject,
        "notetext": text,
        note_bind_name(regarding): reference(regarding, regarding_id),
    }


def activity_body(
    activity: str, regarding: str, regarding_id: str, fields: Mapping[str, Any]
) -> dict[str, Any]:
    return {**fields, regarding_bind_name(regarding, activity): reference(regarding, regarding_id)}


def create_note(
    transport: DataverseTransport, regarding: str, regarding_id: str, *, subject: str, text: str
) -> str:
    body = note_body(regarding, regarding_id, subject=subject, text=text)
    return create(transport, "annotations", body).id


def create_activity(
    transport: DataverseTransport,
    activity: str,
    regarding: str,
    regarding_id: str,
    fields: Mapping[str, Any],
) -> str:
    body = activity_body(activity, regarding, regarding_id, fields)
    return create(transport, entity_set_of(activity), body).id
