"""Webhook registration through the Web API: WhoAmI, service endpoints (contract 8 Webhook),
the messages and their filters, the steps that send a message's events to an endpoint, and
the steps' images.

Names and values are the documented ones (checked against Microsoft's references):
- PAD `register-web-hook.md`: webhooks are `serviceendpoint` rows with `contract` 8; the
  steps of an endpoint are `sdkmessageprocessingstep` rows whose `eventhandler` is the
  endpoint (`_eventhandler_value`); `authvalue` "cannot be retrieved"; the WebhookKey option
  sends `?code=<value>` and takes only the value.
- `serviceendpoint` entity reference: `authtype` 4 Webhook Key, 5 Http Header, 6 Http Query
  String; `authvalue` a String of at most 2048 characters with IsValidForRead False;
  `messageformat` 2 Json; `url`, `name`, `description`.
- `sdkmessageprocessingstep` EntityType / entity reference: `mode` 0 Synchronous /
  1 Asynchronous, `stage` 10 / 20 / 40 (PostOperation), `rank`, `supporteddeployment`
  0 ServerOnly, `asyncautodelete`, `filteringattributes` (comma-separated logical names);
  single-valued navigation properties `sdkmessageid`, `sdkmessagefilterid` and
  `eventhandler_serviceendpoint`; `statecode` 0 Enabled / 1 Disabled (statuscode 1 / 2).
- `sdkmessagefilter`: `primaryobjecttypecode` (a table's logical name) and `_sdkmessageid_value`.
- `sdkmessageprocessingstepimage`: `imagetype` 0 PreImage / 1 PostImage / 2 Both,
  `entityalias`, `attributes`, `messagepropertyname` ("Target" for Create, Update, Delete),
  navigation property `sdkmessageprocessingstepid` (PAD `register-plug-in.md`, "Define table
  images").
- The HttpHeader / HttpQueryString `authvalue` is not documented: the Plug-in Registration
  Tool stores its key/value pairs as `<settings><setting name="..." value="..." /></settings>`;
  that format is inferred from public registration scripts, not from Microsoft's reference.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from xml.sax.saxutils import escape

from shared.clients.dataverse import writes
from shared.clients.dataverse.odata import check_guid, check_name, literal, query_string
from shared.clients.dataverse.paging import iter_collection
from shared.clients.dataverse.transport import DataverseTransport

CONTRACT_WEBHOOK = 8
AUTH_WEBHOOK_KEY, AUTH_HTTP_HEADER, AUTH_HTTP_QUERY_STRING = 4, 5, 6
MESSAGE_FORMAT_JSON = 2
MODE_ASYNC = 1
STAGE_POST_OPERATION = 40
DEPLOYMENT_SERVER = 0
STATE_ENABLED, STATE_DISABLED = 0, 1
STATUS_ENABLED, STATUS_DISABLED = 1, 2
IMAGE_PRE, IMAGE_POST = 0, 1
NO_TABLE = "none"  # primaryobjecttypecode of the filter of messages without a table

ENDPOINTS, MESSAGES, FILTERS = "serviceendpoints", "sdkmessages", "sdkmessagefilters"
STEPS, IMAGES = "sdkmessageprocessingsteps", "sdkmessageprocessingstepimages"

_ENDPOINT_COLUMNS = "serviceendpointid,name,description,contract,authtype,url,messageformat"
_STEP_COLUMNS = (
    "sdkmessageprocessingstepid,name,mode,stage,filteringattributes,statecode,"
    "_sdkmessageid_value,_sdkmessagefilterid_value,_eventhandler_value"
)
_IMAGE_COLUMNS = (
    "sdkmessageprocessingstepimageid,name,entityalias,imagetype,messagepropertyname,"
    "attributes,_sdkmessageprocessingstepid_value"
)


@dataclass(frozen=True)
class WhoAmI:
    user_id: str
    organization_id: str
    business_unit_id: str


@dataclass(frozen=True)
class ServiceEndpoint:
    id: str
    name: str
    url: str
    auth_type: int
    message_format: int
    description: str


@dataclass(frozen=True)
class StepImage:
    id: str
    step_id: str
    name: str
    image_type: int
    entity_alias: str
    attributes: frozenset[str]


@dataclass(frozen=True)
class Step:
    id: str
    name: str
    message_id: str
    filter_id: str
    endpoint_id: str
    mode: int
    stage: int
    filtering_attributes: frozenset[str]
    state: int


def columns(text: object) -> frozenset[str]:
    """A comma-separated list of logical names (filteringattributes, attributes) as a set."""
    if not isinstance(text, str):
        return frozenset()
    return frozenset(part.strip().lower() for part in text.split(",") if part.strip())


def column_list(names: Iterable[str]) -> str:
    return ",".join(sorted({check_name(name) for name in names}))


def settings_auth_value(name: str, value: str) -> str:
    """The `authvalue` of HttpHeader / HttpQueryString: one named setting (format inferred,
    see the module docstring)."""
    return f'<settings><setting name="{_attr(name)}" value="{_attr(value)}" /></settings>'


def _attr(text: str) -> str:
    return escape(text, {'"': "&quot;"})


def _rows(transport: DataverseTransport, entity_set: str, options: Sequence[tuple[str, str]],
          label: str) -> list[dict[str, Any]]:  # fmt: skip
    target = f"{entity_set}?{query_string(options)}"
    return [row for page in iter_collection(transport, target, label=label) for row in page.records]


def _text(row: Mapping[str, Any], name: str) -> str:
    value = row.get(name)
    return "" if value is None else str(value)


def _int(row: Mapping[str, Any], name: str) -> int:
    value = row.get(name)
    return int(value) if isinstance(value, int | float | str) and str(value) != "" else 0


class PluginRegistration:
    """Reads and writes the org's webhook registrations (reached as
    `DataverseClient.plugin_registration`)."""

    def __init__(self, transport: DataverseTransport) -> None:
        self.transport = transport

    def who_am_i(self) -> WhoAmI:
        body, _ = self.transport.get_json("WhoAmI", operation="GET WhoAmI")
        return WhoAmI(
            user_id=str(body["UserId"]).lower(),
            organization_id=str(body["OrganizationId"]).lower(),
            business_unit_id=str(body.get("BusinessUnitId", "")).lower(),
        )

    def application_user(self, client_id: str) -> str | None:
        """The systemuserid of the application user of app registration `client_id` (None if
        the org has none): whose writes the webhook endpoint ignores, when whoever registers
        is not the connector itself (the provisioning identity, an operator)."""
        rows = _rows(
            self.transport,
            "systemusers",
            [("$select", "systemuserid"),
             ("$filter", f"applicationid eq {check_guid(client_id)}")],
            "application users",
        )  # fmt: skip
        return str(rows[0]["systemuserid"]).lower() if rows else None

    # Service endpoints ---------------------------------------------------------------------

    def webhook_endpoints(self, name: str | None = None) -> list[ServiceEndpoint]:
        """The org's webhooks (contract 8), or those named `name`."""
        where = f"contract eq {CONTRACT_WEBHOOK}"
        if name is not None:
            where += f" and name eq {literal(name)}"
        rows = _rows(
            self.transport,
            ENDPOINTS,
            [("$select", _ENDPOINT_COLUMNS), ("$filter", where)],
            "webhook service endpoints",
        )
        return [_endpoint(row) for row in rows]

    def create_endpoint(
        self, *, name: str, url: str, auth_type: int, auth_value: str, description: str
    ) -> str:
        created = writes.create(
            self.transport,
            ENDPOINTS,
            {
                "name": name,
                "description": description,
                "contract": CONTRACT_WEBHOOK,
                "messageformat": MESSAGE_FORMAT_JSON,
                "url": url,
                "authtype": auth_type,
                "authvalue": auth_value,
            },
        )
        return created.id

    def update_endpoint(self, endpoint_id: str, changes: Mapping[str, Any]) -> None:
        writes.update(self.transport, ENDPOINTS, check_guid(endpoint_id), changes)

    def delete_endpoint(self, endpoint_id: str) -> None:
        writes.delete(self.transport, ENDPOINTS, check_guid(endpoint_id))

    # Messages and filters ------------------------------------------------------------------

    def message_ids(self, names: Iterable[str]) -> dict[str, str]:
        """Message name -> sdkmessageid for the names the org has."""
        wanted = sorted(set(names))
        where = " or ".join(f"name eq {literal(name)}" for name in wanted)
        rows = _rows(
            self.transport,
            MESSAGES,
            [("$select", "sdkmessageid,name"), ("$filter", where)],
            "SDK messages",
        )
        return {_text(row, "name"): _text(row, "sdkmessageid").lower() for row in rows}

    def message_filters(self, message_id: str, tables: Iterable[str]) -> dict[str, str]:
        """Table logical name (`none` for messages without one) -> sdkmessagefilterid, for
        those of `tables` the message has a filter for."""
        names = " or ".join(
            f"primaryobjecttypecode eq {literal(check_name(table, 'table'))}"
            for table in sorted(set(tables))
        )
        rows = _rows(
            self.transport,
            FILTERS,
            [
                ("$select", "sdkmessagefilterid,primaryobjecttypecode"),
                ("$filter", f"_sdkmessageid_value eq {check_guid(message_id)} and ({names})"),
            ],
            "SDK message filters",
        )
        return {
            _text(row, "primaryobjecttypecode").lower(): _text(row, "sdkmessagefilterid").lower()
            for row in rows
        }

    def filter_table(self, filter_id: str) -> str | None:
        """The table of a filter (steps registered by hand may use any)."""
        row = writes.retrieve(
            self.transport, FILTERS, check_guid(filter_id), ["primaryobjecttypecode"]
        )
        return None if row is None else _text(row, "primaryobjecttypecode").lower()

    def message_name(self, message_id: str) -> str | None:
        row = writes.retrieve(self.transport, MESSAGES, check_guid(message_id), ["name"])
        return None if row is None else _text(row, "name")

    # Steps ---------------------------------------------------------------------------------

    def steps(self, endpoint_id: str) -> list[Step]:
        """The steps whose event handler is this endpoint."""
        rows = _rows(
            self.transport,
            STEPS,
            [
                ("$select", _STEP_COLUMNS),
                ("$filter", f"_eventhandler_value eq {check_guid(endpoint_id)}"),
            ],
            "the webhook's steps",
        )
        return [_step(row) for row in rows]

    def create_step(
        self,
        *,
        name: str,
        description: str,
        message_id: str,
        filter_id: str | None,
        endpoint_id: str,
        filtering_attributes: Iterable[str] = (),
    ) -> str:
        """An asynchronous post-operation step (the only stage async steps may use) whose
        system jobs are deleted once they succeed; `filter_id` None: no table filter."""
        body: dict[str, Any] = {
            "name": name,
            "description": description,
            "mode": MODE_ASYNC,
            "stage": STAGE_POST_OPERATION,
            "rank": 1,
            "supporteddeployment": DEPLOYMENT_SERVER,
            "asyncautodelete": True,
            "sdkmessageid@odata.bind": f"/{MESSAGES}({check_guid(message_id)})",
            "eventhandler_serviceendpoint@odata.bind": f"/{ENDPOINTS}({check_guid(endpoint_id)})",
        }
        if filter_id is not None:
            body["sdkmessagefilterid@odata.bind"] = f"/{FILTERS}({check_guid(filter_id)})"
        attributes = list(filtering_attributes)
        if attributes:
            body["filteringattributes"] = column_list(attributes)
        return writes.create(self.transport, STEPS, body).id

    def update_step(self, step_id: str, changes: Mapping[str, Any]) -> None:
        writes.update(self.transport, STEPS, check_guid(step_id), changes)

    def set_filtering_attributes(self, step_id: str, attributes: Iterable[str]) -> None:
        self.update_step(step_id, {"filteringattributes": column_list(attributes)})

    def enable_step(self, step_id: str) -> None:
        self.update_step(step_id, {"statecode": STATE_ENABLED, "statuscode": STATUS_ENABLED})

    def delete_step(self, step_id: str) -> None:
        writes.delete(self.transport, STEPS, check_guid(step_id))

    # Images --------------------------------------------------------------------------------

    def images(self, step_id: str) -> list[StepImage]:
        rows = _rows(
            self.transport,
            IMAGES,
            [
                ("$select", _IMAGE_COLUMNS),
                ("$filter", f"_sdkmessageprocessingstepid_value eq {check_guid(step_id)}"),
            ],
            "the step's images",
        )
        return [_image(row) for row in rows]

    def create_image(
        self, step_id: str, *, image_type: int, alias: str, attributes: Iterable[str]
    ) -> str:
        body = {
            "name": alias,
            "entityalias": alias,
            "imagetype": image_type,
            "messagepropertyname": "Target",
            "attributes": column_list(attributes),
            "sdkmessageprocessingstepid@odata.bind": f"/{STEPS}({check_guid(step_id)})",
        }
        return writes.create(self.transport, IMAGES, body).id

    def set_image_attributes(self, image_id: str, attributes: Iterable[str]) -> None:
        writes.update(
            self.transport, IMAGES, check_guid(image_id), {"attributes": column_list(attributes)}
        )

    def delete_image(self, image_id: str) -> None:
        writes.delete(self.transport, IMAGES, check_guid(image_id))


def _endpoint(row: Mapping[str, Any]) -> ServiceEndpoint:
    return ServiceEndpoint(
        id=_text(row, "serviceendpointid").lower(),
        name=_text(row, "name"),
        url=_text(row, "url"),
        auth_type=_int(row, "authtype"),
        message_format=_int(row, "messageformat"),
        description=_text(row, "description"),
    )


def _step(row: Mapping[str, Any]) -> Step:
    return Step(
        id=_text(row, "sdkmessageprocessingstepid").lower(),
        name=_text(row, "name"),
        message_id=_text(row, "_sdkmessageid_value").lower(),
        filter_id=_text(row, "_sdkmessagefilterid_value").lower(),
        endpoint_id=_text(row, "_eventhandler_value").lower(),
        mode=_int(row, "mode"),
        stage=_int(row, "stage"),
        filtering_attributes=columns(row.get("filteringattributes")),
        state=_int(row, "statecode"),
    )


def _image(row: Mapping[str, Any]) -> StepImage:
    return StepImage(
        id=_text(row, "sdkmessageprocessingstepimageid").lower(),
        step_id=_text(row, "_sdkmessageprocessingstepid_value").lower(),
        name=_text(row, "name"),
        image_type=_int(row, "imagetype"),
        entity_alias=_text(row, "entityalias"),
        attributes=columns(row.get("attributes")),
    )
