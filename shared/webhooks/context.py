"""The RemoteExecutionContext a Dataverse webhook posts, read into a `ChangeEvent`.

`parse_event` refuses a body that is not one with `InvalidWebhook`, whose message is one line
naming the first problems (never the body's values). Unknown keys are allowed: Dataverse adds
fields over time.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from pydantic import BaseModel, ConfigDict, Field, JsonValue, ValidationError, field_validator
from pydantic_core import from_json

from shared.errors import BadInputError
from shared.webhooks.event import MESSAGES, ChangeEvent, EntityRef
from shared.webhooks.values import (
    Guid,
    WcfDate,
    attributes,
    contract,
    pairs,
    reference_id,
)

MAX_PROBLEMS = 3  # validation problems named in the reason (a body can have thousands)
MAX_LOCATION = 80  # characters of a problem's location (a key can be a megabyte long)
MAX_REASON = 400  # characters of the whole reason
SIZE_EXCEEDED = "x-ms-dynamics-msg-size-exceeded"
ORGANIZATION = "x-ms-dynamics-organization"
REQUEST_ID = "x-ms-correlation-request-id"
_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")
_RELATIONSHIP_MESSAGES = ("Associate", "Disassociate")


class InvalidWebhook(BadInputError):
    """A posted body that is not a RemoteExecutionContext the connector can take."""


class _Context(BaseModel):
    """The keys of a RemoteExecutionContext the connector reads; the rest pass unread."""

    model_config = ConfigDict(extra="allow")

    MessageName: str
    PrimaryEntityName: str = Field(min_length=1, max_length=128)
    PrimaryEntityId: Guid
    CorrelationId: Guid
    OrganizationId: Guid
    UserId: Guid
    InitiatingUserId: Guid
    Depth: int = Field(ge=0)
    OperationCreatedOn: WcfDate
    # Absent (or emptied) when x-ms-dynamics-msg-size-exceeded is sent.
    InputParameters: list[JsonValue] = []
    PreEntityImages: list[JsonValue] = []
    PostEntityImages: list[JsonValue] = []

    @field_validator("MessageName")
    @classmethod
    def _registered(cls, name: str) -> str:
        if name not in MESSAGES:
            shown = name if len(name) <= 40 else name[:40] + "..."
            raise ValueError(
                f"{shown!r} is not a message the connector registers: {', '.join(MESSAGES)}"
            )
        return name


class _Relationship(BaseModel):
    model_config = ConfigDict(extra="allow")

    SchemaName: str = Field(min_length=1, max_length=256)
    PrimaryEntityRole: JsonValue = None


def parse_event(body: bytes, headers: Mapping[str, str]) -> ChangeEvent:
    """The `ChangeEvent` a webhook post describes. `headers`: the post's (any case)."""
    lower = {name.lower(): value for name, value in headers.items()}
    size_exceeded = lower.get(SIZE_EXCEEDED, "").strip().lower() not in ("", "false", "0")
    try:
        data = from_json(body)
    except ValueError as error:
        raise InvalidWebhook(_reason(f"The body is not JSON: {error}")) from None
    if not isinstance(data, dict):
        raise InvalidWebhook("The body is not a RemoteExecutionContext: not a JSON object")
    try:
        context = _Context.model_validate(data)
    except ValidationError as error:
        raise InvalidWebhook(_reason(_problems(error))) from None
    try:
        return _event(context, lower, size_exceeded)
    except (ValueError, ValidationError) as error:
        problem = _problems(error) if isinstance(error, ValidationError) else str(error)
        raise InvalidWebhook(_reason(problem)) from None


def _event(context: _Context, headers: Mapping[str, str], size_exceeded: bool) -> ChangeEvent:
    inputs = {} if size_exceeded else pairs(context.InputParameters, "InputParameters")
    target = inputs.get("Target")
    entity, record_id = context.PrimaryEntityName, context.PrimaryEntityId
    changed: dict[str, JsonValue] = {}
    relationship, related = "", tuple[EntityRef, ...]()
    version = ""
    message = context.MessageName
    if message in ("Create", "Update") and not size_exceeded:
        if contract(target) not in ("Entity", "") or not isinstance(target, dict):
            raise ValueError("InputParameters.Target should be an Entity")
        changed = attributes(target, "InputParameters.Target")
        # The version as sent (not converted), so a redelivery hashes to the same key.
        version = _text(target.get("RowVersion")) or _text(_raw(target, "modifiedon"))
    elif message == "Delete" and "Target" in inputs:
        reference_id(target, "InputParameters.Target")
        version = _text(target.get("RowVersion")) if isinstance(target, dict) else ""
    elif message in _RELATIONSHIP_MESSAGES and not size_exceeded:
        entity, record_id = _reference(target, "InputParameters.Target")
        relationship = _Relationship.model_validate(inputs.get("Relationship")).SchemaName
        related = _related(inputs.get("RelatedEntities"))
    return ChangeEvent(
        organization_id=context.OrganizationId,
        organization_domain=headers.get(ORGANIZATION, "").strip().lower(),
        correlation_id=context.CorrelationId,
        request_id=headers.get(REQUEST_ID, "").strip()[:100],
        message=message,
        entity=entity,
        record_id=record_id,
        version=version or context.OperationCreatedOn.isoformat(),
        operation_created=context.OperationCreatedOn,
        user_id=context.UserId,
        initiating_user_id=context.InitiatingUserId,
        depth=context.Depth,
        attributes=changed,
        pre_image=_image(context.PreEntityImages, "PreEntityImages", size_exceeded),
        post_image=_image(context.PostEntityImages, "PostEntityImages", size_exceeded),
        relationship=relationship,
        related=related,
        size_exceeded=size_exceeded,
    )


def _raw(entity: dict[str, JsonValue], column: str) -> JsonValue:
    """A column of an Entity as it was sent (a version is compared as sent, not converted)."""
    return pairs(entity.get("Attributes", []), "InputParameters.Target.Attributes").get(column)


def _text(value: JsonValue) -> str:
    return value if isinstance(value, str) else "" if value is None else str(value)


def _reference(value: JsonValue, where: str) -> tuple[str, str]:
    record_id = reference_id(value, where)
    assert isinstance(value, dict)  # reference_id checked it
    name = value.get("LogicalName")
    if not isinstance(name, str) or not 0 < len(name) <= 128:
        raise ValueError(f"{where}: an EntityReference should have a LogicalName")
    return name, record_id


def _related(value: JsonValue) -> tuple[EntityRef, ...]:
    """RelatedEntities: an EntityReferenceCollection, serialized as a list of references."""
    where = "InputParameters.RelatedEntities"
    if not isinstance(value, list) or not value:
        raise ValueError(f"{where} should be a non-empty list of EntityReferences")
    found = []
    for n, item in enumerate(value):
        name, record_id = _reference(item, f"{where}.{n}")
        found.append(EntityRef(logical_name=name, id=record_id))
    return tuple(found)


def _image(value: list[JsonValue], where: str, size_exceeded: bool) -> dict[str, JsonValue]:
    """Pre/PostEntityImages (one Entity per registered image name), merged into one."""
    if size_exceeded:
        return {}
    merged: dict[str, JsonValue] = {}
    for name, entity in pairs(value, where).items():
        merged.update(attributes(entity, f"{where}.{name}"))
    return merged


def _problems(error: ValidationError) -> str:
    errors = error.errors(include_url=False, include_input=False, include_context=False)
    problems = "; ".join(f"{_location(e['loc'])}: {e['msg']}" for e in errors[:MAX_PROBLEMS])
    if len(errors) > MAX_PROBLEMS:
        problems += f"; and {len(errors) - MAX_PROBLEMS} more"
    return f"The body is not a RemoteExecutionContext: {problems}"


def _location(loc: tuple[int | str, ...]) -> str:
    text = ".".join(str(p) for p in loc) or "body"
    return text if len(text) <= MAX_LOCATION else text[:MAX_LOCATION] + "..."


def _reason(text: str) -> str:
    """One line, bounded: a location can hold any character the body's keys hold."""
    if not text.startswith("The body"):
        text = f"The body is not a RemoteExecutionContext: {text}"
    text = _UNPRINTABLE.sub(" ", text)
    return text if len(text) <= MAX_REASON else text[:MAX_REASON] + "..."
