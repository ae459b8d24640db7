"""Resource metadata: which fields a resource has, and of which types, as Campaign describes
them (`GET /profileAndServicesExt/resourceType/<resource>`), and which custom resources are
published on the extended API (`GET /profileAndServicesExt/`).

The metadata's `content` node holds one entry per field: `apiName` (the name the API takes),
`type` (the high-level type: string, number, link, collection, enumeration, ...), `resType`
(the technical type), `resTarget` for links and collections, `values` for enumerations. A
field added to the profile is listed only once the extension is published with "Create the
Profiles & Services Ext API"; a custom resource only once it is published.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from shared.clients.adobe.errors import RecordNotFound
from shared.clients.adobe.resources import EXTENDED, resource_path
from shared.clients.adobe.transport import AdobeTransport, json_body
from shared.errors import ApiError

# The technical types (resType) the engine stores numbers, dates and booleans in; a `type`
# the client does not know is read from them, and else taken for a string.
_NUMBERS = frozenset({"byte", "short", "long", "int64", "float", "double", "number", "int"})
_DATES = frozenset({"date"})
_DATETIMES = frozenset({"datetime", "datetimetz", "datetimenotz", "timestamp"})


@dataclass(frozen=True)
class CampaignField:
    """One field of a resource: its API name, its kind (string, number, boolean, date,
    datetime, enumeration, link, collection, item) and, for a link, the resource it targets."""

    api_name: str
    kind: str
    res_type: str = ""
    target: str = ""
    values: tuple[str, ...] = ()


@dataclass(frozen=True)
class ResourceMetadata:
    name: str
    fields: dict[str, CampaignField]


def _kind(entry: dict[str, Any]) -> str:
    high = str(entry.get("type") or "").lower()
    technical = str(entry.get("resType") or "").lower()
    if high in ("link", "collection", "enumeration", "item", "boolean", "date", "datetime"):
        return high
    if high in ("number", "string"):
        return "number" if high == "number" else _technical(technical) or "string"
    return _technical(technical) or "string"


def _technical(technical: str) -> str:
    if technical in _NUMBERS:
        return "number"
    if technical in _DATES:
        return "date"
    if technical in _DATETIMES:
        return "datetime"
    if technical == "boolean":
        return "boolean"
    return ""


def _field(name: str, entry: Any) -> CampaignField:
    if not isinstance(entry, dict):
        return CampaignField(api_name=name, kind="string")
    values = entry.get("values")
    return CampaignField(
        api_name=str(entry.get("apiName") or name),
        kind=_kind(entry),
        res_type=str(entry.get("resType") or ""),
        target=str(entry.get("resTarget") or ""),
        values=tuple(str(v) for v in values) if isinstance(values, dict | list) else (),
    )


class MetadataApi(AdobeTransport):
    def resource_metadata(self, resource: str) -> ResourceMetadata | None:
        """The fields of `resource` on the extended API (the profile with its published
        extension fields, or a `cus` resource); None when Campaign has no such resource."""
        resource_path(resource)  # checks the name before it goes into a URL
        path = f"{EXTENDED}/resourceType/{resource}"
        try:
            body = json_body(self._call("GET", self.url(path)), f"GET {path}")
        except RecordNotFound:
            return None
        content = body.get("content") if isinstance(body, dict) else None
        if not isinstance(content, dict):
            raise ApiError(
                f"Adobe Campaign GET {path} answered without the resource's content", status=200
            )
        fields = {}
        for name, entry in content.items():
            described = _field(str(name), entry)
            fields[described.api_name] = described
        return ResourceMetadata(name=resource, fields=fields)

    def custom_resources(self) -> set[str]:
        """The `cus` resources the extended API lists (published and linked to the profile)."""
        body = json_body(self._call("GET", self.url(f"{EXTENDED}/")), f"GET {EXTENDED}/")
        if not isinstance(body, dict):
            raise ApiError(f"Adobe Campaign GET {EXTENDED}/ answered no object", status=200)
        return {str(name) for name, entry in body.items() if str(name).startswith("cus")}
