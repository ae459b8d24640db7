"""The Adobe Campaign client's dry-run sink: creates, updates, deletes and signal triggers are
recorded ("Would create profile (Adobe Campaign)") and answered as ACS would on success;
reads pass through, and a read of a record only the dry run "created" answers its values."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from itertools import count
from typing import Any, Protocol, cast

from shared.clients.adobe.client import AdobeCampaignClient
from shared.clients.adobe.models import Written, technical_names
from shared.clients.adobe.resources import resource_path

SYSTEM = "Adobe Campaign"


class Recorder(Protocol):
    def record(self, system: str, action: str, items: Iterable[str]) -> int: ...


def adobe_sink(
    client: AdobeCampaignClient, recorder: Recorder, sink: Callable[..., object]
) -> AdobeCampaignClient:
    """`sink(target, writes)`: dry_run's stand-in that delegates reads and takes `writes`."""
    numbers = count(1)
    created: dict[str, dict[str, Any]] = {}  # href -> values, for records only we "made"

    def create(resource: str, values: Mapping[str, Any]) -> dict[str, Any]:
        fields = technical_names(dict(values))
        pkey = f"@dry-run-{next(numbers)}"
        href = client.url(f"{resource_path(resource)}/{pkey}")
        recorder.record(SYSTEM, f"create {resource}", [_named(fields) or resource])
        created[href] = {"PKey": pkey, **fields, "href": href}
        return dict(created[href])

    def update(href: str, values: Mapping[str, Any]) -> Written:
        client.check_href(href)
        recorder.record(SYSTEM, f"update {_resource(href)}", [href.rsplit("/", 1)[-1]])
        if href in created:
            created[href].update(technical_names(dict(values)))
        return Written.model_validate({"PKey": href.rsplit("/", 1)[-1], "href": href})

    def delete(href: str) -> bool:
        client.check_href(href)
        recorder.record(SYSTEM, f"delete {_resource(href)}", [href.rsplit("/", 1)[-1]])
        created.pop(href, None)
        return True

    def get(href: str) -> dict[str, Any]:
        if href in created:
            return dict(created[href])
        return client.get(href)

    def trigger_signal(workflow_id: str, activity: str, **kwargs: Any) -> dict[str, Any]:
        recorder.record(SYSTEM, "trigger workflow signals", [f"{workflow_id}/{activity}"])
        return {"source": kwargs.get("source", ""), "parameters": kwargs.get("parameters") or {}}

    stand_in = sink(client, {"create": create, "update": update, "delete": delete, "get": get,
                             "trigger_signal": trigger_signal})  # fmt: skip
    return cast(AdobeCampaignClient, stand_in)


def _resource(href: str) -> str:
    parts = href.split("?", 1)[0].rstrip("/").split("/")
    return parts[-2] if len(parts) >= 2 else "record"


def _named(fields: Mapping[str, Any]) -> str:
    for key in ("externalId", "email"):
        if fields.get(key):
            return str(fields[key])
    return ""
