"""The RemoteExecutionContext JSON the Dataverse sandbox posts for one change and one step.

Documented (PAD `use-webhooks.md`, the sample in tests/fixtures/webhooks/): the top-level keys
and their order, `[{"key","value"}]` lists for InputParameters, Attributes and images, the
Entity shape of Target and of images, EntityReference values, WCF dates (`\\/Date(ms)\\/`,
slashes escaped as .NET's DataContractJsonSerializer writes them), Update's Target holding the
columns the request sent plus the primary id and system columns (`modifiedon`, `modifiedby`,
`modifiedonbehalfby`, the recomputed `fullname`), Depth 1, Stage 40, Mode 1, ParentContext
(null here), SecondaryEntityName "none". Delete's Target is an EntityReference (SDK
`DeleteRequest.Target`). Associate / Disassociate take `Target` (EntityReference),
`Relationship` and `RelatedEntities` (EntityReferenceCollection), as the SDK's
`AssociateRequest` / `DisassociateRequest` document.

Inferred (no verbatim sample found): the JSON of Associate's `Relationship`
(`{"__type":"Relationship:...","PrimaryEntityRole":null,"SchemaName":...}`, the data contract's
members) and of `RelatedEntities` (a plain array of EntityReferences); the sandbox always names
the marketing list as Target and PrimaryEntityName / PrimaryEntityId (real orgs report the
record the request was made on, and community write-ups say PrimaryEntityName may be "none"
for these messages: read the Target); OptionSetValue as `{"__type":"OptionSetValue:...",
"Value":n}`; Create's OutputParameters `[{"key":"id","value":<id>}]` (CreateResponse.id);
images carry the row's version as RowVersion. Decimal columns are plain numbers (no Money).
"""

from __future__ import annotations

import calendar
import json
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sandbox.dataverse.schema import TableDef
from sandbox.dataverse.store import Row

CONTRACTS = "http://schemas.microsoft.com/xrm/2011/Contracts"
MAX_PAYLOAD_BYTES = 256 * 1024  # "When the size of the entire HTTP payload exceeds 256KB"
SIZE_EXCEEDED_REMOVES = ("ParentContext", "InputParameters", "PreEntityImages", "PostEntityImages")


@dataclass(frozen=True)
class Change:
    """One row or membership change, captured when it was written. The value dicts are the
    rows' own: a write replaces a row's dict, never edits it, so they stay as written."""

    message: str  # Create / Update / Delete / Associate / Disassociate
    definition: TableDef  # the row's table (Associate / Disassociate: list)
    row_id: str
    version: int
    before: Mapping[str, Any] | None = None  # Update / Delete
    after: Mapping[str, Any] | None = None  # Create / Update
    sent: tuple[str, ...] = ()  # Update: the columns the request set, in its order
    relationship: str = ""  # Associate / Disassociate: listcontact_association, ...
    related: tuple[tuple[str, str], ...] = ()  # (logical name, id) of the members

    @property
    def table(self) -> str:
        return self.definition.logical_name

    def target_columns(self) -> list[str]:
        """The Target's attribute names (what filtering attributes are compared with)."""
        return [name for name, _ in _target_attributes(self, "")]


def sent_columns(definition: TableDef, body: Mapping[str, Any]) -> tuple[str, ...]:
    """The columns a write's body sets, in its order (`x@odata.bind` names its lookup column);
    a state or status alone brings the other along."""
    names: list[str] = []
    for name in body:
        if name.endswith("@odata.bind"):
            lookup = definition.lookups.get(name[: -len("@odata.bind")])
            column = lookup.column if lookup is not None else None
        elif "@" in name or name == definition.primary_id:
            column = None
        else:
            known = definition.columns.get(name)
            column = name if known is not None and not known.read_only else None
        if column is not None and column not in names:
            names.append(column)
    for pair in (("statecode", "statuscode"), ("statuscode", "statecode")):
        if pair[0] in names and pair[1] not in names and pair[1] in definition.columns:
            names.append(pair[1])
    return tuple(names)


def membership_change(
    message: str, lists: TableDef, list_row: Row, member_logical: str, member_id: str
) -> Change:
    """Associate / Disassociate of one member of a marketing list (the list is the Target)."""
    return Change(
        message,
        lists,
        list_row.id,
        list_row.version,
        relationship=f"list{member_logical}_association",
        related=((member_logical, member_id),),
    )


@dataclass(frozen=True)
class Origin:
    """Who made the change and where: the same for every change of one request."""

    user_id: str
    business_unit_id: str
    organization_id: str
    organization_name: str
    correlation_id: str  # CorrelationId
    request_id: str  # the x-ms-correlation-request-id header
    created_on: float  # epoch seconds


@dataclass(frozen=True)
class StepImage:
    alias: str  # entityalias, the key in Pre/PostEntityImages
    pre: bool
    post: bool
    attributes: tuple[str, ...]  # empty: all columns


def wcf_date(epoch_seconds: float) -> str:
    return f"/Date({round(epoch_seconds * 1000)})/"


def _wcf_from_iso(value: str) -> str:
    try:
        parsed = time.strptime(value, "%Y-%m-%dT%H:%M:%SZ")
    except ValueError:
        return value
    return wcf_date(calendar.timegm(parsed))


def entity_reference(logical_name: str, row_id: str) -> dict[str, Any]:
    return {
        "__type": f"EntityReference:{CONTRACTS}",
        "Id": row_id,
        "KeyAttributes": [],
        "LogicalName": logical_name,
        "Name": None,
        "RowVersion": None,
    }


def typed_value(definition: TableDef, name: str, value: Any) -> Any:
    """A stored column value as the SDK's data contract serializes it."""
    if isinstance(value, tuple):  # lookups are stored as (id, table)
        return entity_reference(value[1], value[0])
    column = definition.columns.get(name)
    kind = column.kind if column is not None else ""
    if kind in ("picklist", "state", "status") and isinstance(value, int):
        return {"__type": f"OptionSetValue:{CONTRACTS}", "Value": value}
    if kind == "datetime" and isinstance(value, str):
        return _wcf_from_iso(value)
    return value


def _pairs(definition: TableDef, values: list[tuple[str, Any]]) -> list[dict[str, Any]]:
    """The `[{"key","value"}]` list; write-only columns (a service endpoint's `authvalue`) are
    never posted, as they are never read."""
    columns = definition.columns
    return [
        {"key": name, "value": typed_value(definition, name, value)}
        for name, value in values
        if name not in columns or not columns[name].write_only
    ]


def _target_attributes(change: Change, user_id: str) -> list[tuple[str, Any]]:
    definition, after = change.definition, change.after or {}
    caller = (user_id, "systemuser")
    if change.message == "Create":
        callers = ("createdby", "modifiedby")  # added below, as the caller
        set_values = [(k, v) for k, v in after.items() if v is not None and k not in callers]
        return [
            (definition.primary_id, change.row_id),
            *set_values,
            ("createdby", caller),
            ("modifiedby", caller),
        ]
    # Update: what the request sent, then the primary id and the system columns (the sample).
    sent = [(name, after.get(name)) for name in change.sent]
    system: list[tuple[str, Any]] = [(definition.primary_id, change.row_id)]
    if "fullname" in definition.columns and {"firstname", "lastname"} & set(change.sent):
        system.append(("fullname", after.get("fullname")))
    system += [("modifiedon", after.get("modifiedon")), ("modifiedby", caller)]
    system.append(("modifiedonbehalfby", None))
    return sent + [(k, v) for k, v in system if k not in change.sent]


def _entity(
    definition: TableDef,
    row_id: str,
    attributes: list[dict[str, Any]],
    *,
    typed: bool,
    row_version: int | None = None,
) -> dict[str, Any]:
    entity: dict[str, Any] = {"__type": f"Entity:{CONTRACTS}"} if typed else {}
    entity.update(
        {
            "Attributes": attributes,
            "EntityState": None,
            "FormattedValues": [],
            "Id": row_id,
            "KeyAttributes": [],
            "LogicalName": definition.logical_name,
            "RelatedEntities": [],
            "RowVersion": None if row_version is None else str(row_version),
        }
    )
    return entity


def _input_parameters(change: Change, origin: Origin) -> list[dict[str, Any]]:
    definition = change.definition
    if change.message in ("Create", "Update"):
        attributes = _pairs(definition, _target_attributes(change, origin.user_id))
        target = _entity(definition, change.row_id, attributes, typed=True)
        return [{"key": "Target", "value": target}]
    reference = entity_reference(definition.logical_name, change.row_id)
    if change.message == "Delete":
        return [{"key": "Target", "value": reference}]
    return [
        {"key": "Target", "value": reference},
        {
            "key": "Relationship",
            "value": {
                "__type": f"Relationship:{CONTRACTS}",
                "PrimaryEntityRole": None,
                "SchemaName": change.relationship,
            },
        },
        {
            "key": "RelatedEntities",
            "value": [entity_reference(table, row_id) for table, row_id in change.related],
        },
    ]


def _image(change: Change, values: Mapping[str, Any], image: StepImage) -> dict[str, Any]:
    definition = change.definition
    present = [(k, v) for k, v in values.items() if v is not None]
    if image.attributes:
        present = [(k, v) for k, v in present if k in image.attributes]
    if not image.attributes or definition.primary_id in image.attributes:
        present = [(definition.primary_id, change.row_id), *present]
    attributes = _pairs(definition, present)
    return _entity(definition, change.row_id, attributes, typed=False, row_version=change.version)


def _images(change: Change, images: list[StepImage], *, pre: bool) -> list[dict[str, Any]]:
    values = change.before if pre else change.after
    if values is None:  # Create has no pre image, Delete no post image, memberships neither
        return []
    return [
        {"key": image.alias, "value": _image(change, values, image)}
        for image in images
        if (image.pre if pre else image.post)
    ]


def remote_execution_context(
    change: Change,
    origin: Origin,
    *,
    step_id: str,
    mode: int,
    stage: int,
    images: list[StepImage],
) -> dict[str, Any]:
    output = [{"key": "id", "value": change.row_id}] if change.message == "Create" else []
    return {
        "BusinessUnitId": origin.business_unit_id,
        "CorrelationId": origin.correlation_id,
        "Depth": 1,
        "InitiatingUserId": origin.user_id,
        "InputParameters": _input_parameters(change, origin),
        "IsExecutingOffline": False,
        "IsInTransaction": False,
        "IsOfflinePlayback": False,
        "IsolationMode": 1,
        "MessageName": change.message,
        "Mode": mode,
        "OperationCreatedOn": wcf_date(origin.created_on),
        "OperationId": str(uuid.uuid4()),
        "OrganizationId": origin.organization_id,
        "OrganizationName": origin.organization_name,
        "OutputParameters": output,
        "OwningExtension": {
            "Id": step_id,
            "KeyAttributes": [],
            "LogicalName": "sdkmessageprocessingstep",
            "Name": None,
            "RowVersion": None,
        },
        "ParentContext": None,
        "PostEntityImages": _images(change, images, pre=False),
        "PreEntityImages": _images(change, images, pre=True),
        "PrimaryEntityId": change.row_id,
        "PrimaryEntityName": change.table,
        "RequestId": None,
        "SecondaryEntityName": "none",
        "SharedVariables": [],
        "Stage": stage,
        "UserId": origin.user_id,
    }


def encode(context: Mapping[str, Any]) -> tuple[bytes, bool]:
    """The body to post and whether it was cut to the 256 KB limit (the documented properties
    removed; the caller adds the `x-ms-dynamics-msg-size-exceeded` header)."""
    body = _dumps(context)
    if len(body) <= MAX_PAYLOAD_BYTES:
        return body, False
    cut = {k: v for k, v in context.items() if k not in SIZE_EXCEEDED_REMOVES}
    return _dumps(cut), True


def _dumps(value: Any) -> bytes:
    # "/" only occurs inside JSON strings, so escaping every one is what .NET writes.
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return text.replace("/", "\\/").encode("utf-8")
