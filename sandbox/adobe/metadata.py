"""What the ACS sandbox answers about its resources: `GET /profileAndServicesExt/` (the custom
resources on the extended API) and `GET /{root}/resourceType/<resource>` (a resource's fields).

Documented: the `content` node has one entry per field with `apiName`, `type` (string, number,
link, collection, enumeration, ...), `dataPolicy`, `category`, `resType` (technical type),
`resTarget` for links, `values` for enumerations; the listing's entries carry `data`, `help`,
`href` (`.../<resource>/metadata`), `name`, `type: collection`. INFER (the pages elide them):
`type` is also `boolean`, `date`, `datetime` and `item` (a group such as `location`); the
technical types are the engine's (`string`, `short`, `long`, `double`, `date`, `datetime`).
"""

from __future__ import annotations

from typing import Any

from sandbox.adobe.state import ENUMERATIONS, ResourceTable

_STAMPS = ("created", "lastModified")
_HIGH_LEVEL = {
    "string": "string", "memo": "string", "boolean": "boolean", "byte": "number",
    "short": "number", "long": "number", "int64": "number", "double": "number",
    "date": "date", "datetime": "datetime", "enumeration": "enumeration", "item": "item",
}  # fmt: skip


def technical_type(table: ResourceTable, name: str, default: Any) -> str:
    if name in table.types:
        return table.types[name]
    if name in _STAMPS:
        return "datetime"
    if isinstance(default, bool):
        return "boolean"
    if isinstance(default, int):
        return "long"
    if isinstance(default, float):
        return "double"
    if isinstance(default, dict):  # a custom resource's link, `{}` until set
        return f"link:{name}"
    return "string"


def field_entry(table: ResourceTable, name: str, default: Any) -> dict[str, Any]:
    technical = technical_type(table, name, default)
    entry: dict[str, Any] = {"apiName": name, "category": table.name, "label": name}
    if technical.startswith("link:"):
        return entry | {"type": "link", "resType": "link", "resTarget": technical[5:]}
    entry |= {"type": _HIGH_LEVEL.get(technical, "string"), "resType": technical}
    if technical == "enumeration":
        entry["resType"] = "string"
        allowed = ENUMERATIONS.get(name, ("", ()))[1]
        entry["values"] = {value: {"label": value.title(), "value": value} for value in allowed}
    entry["dataPolicy"] = "email" if name == "email" else "none"
    return entry


def resource_metadata(table: ResourceTable, base: str, root: str) -> dict[str, Any]:
    defaults = {**table.defaults, **dict.fromkeys(_STAMPS, "")}
    content = {name: field_entry(table, name, value) for name, value in defaults.items()}
    return {
        "content": content,
        "data": f"/{root}/{table.name}/",
        "help": table.name,
        "href": f"{base}/{root}/{table.name}/metadata",
        "label": table.name,
        "name": table.name,
        "schema": "nms:recipient" if table.name == "profile" else f"cus:{table.name[3:].lower()}",
        "type": "item",
    }


def resource_list(tables: dict[str, ResourceTable], base: str) -> dict[str, Any]:
    """The published custom resources, as `GET /profileAndServicesExt/` lists them."""
    listed: dict[str, Any] = {"apiName": "resourceType"}
    for name, table in sorted(tables.items()):
        if not name.startswith("cus") or not table.published:
            continue
        listed[name] = {
            "data": f"/profileAndServicesExt/{name}/",
            "help": name,
            "href": f"{base}/profileAndServicesExt/{name}/metadata",
            "name": name,
            "type": "collection",
        }
    return listed
