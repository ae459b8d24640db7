"""Email Data Labels and Email Data Mappings: list, add and delete, with the admin API's
checks and messages (a name Dotdigital would refuse, a field the CRM metadata lacks, a label a
mapping still uses)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import Response

from shared.console.admin_client import AdminProblem
from shared.console.auth import Viewer
from shared.console.pages import Pages, form_of

ENTITIES = ("contact", "lead", "account")
DIRECTIONS = ("ToPlatform", "ToDynamics", "Both")
LABEL_TYPES = ("String", "Numeric", "Date", "Boolean")


class DataScreens(Pages):
    async def labels(self, request: Request, viewer: Viewer) -> Response:
        path, account = await self.account_of(request)
        notice, error, status, kept = "", "", 200, {}
        if request.method == "POST":
            kept = await form_of(request)
            try:
                notice = await self._label_action(path, kept)
                kept = {}  # done: an empty form for the next one
            except AdminProblem as problem:
                error, status = problem.detail, problem.status
        labels = await self.api.get(f"{path}/labels")
        return self.render(
            "labels.html",
            status,
            title=f"Email Data Labels · {account['name']}",
            viewer=viewer,
            account=account,
            tab="labels",
            labels=labels,
            label_types=LABEL_TYPES,
            notice=notice,
            error=error,
            kept=kept,
        )

    async def _label_action(self, path: str, form: dict[str, str]) -> str:
        name = form.get("name", "")
        if form.get("action") == "delete":
            answer = await self.api.call("DELETE", f"{path}/labels/{quote(name, safe='')}")
            return str(answer.get("message") or f"Deleted the data label {name}.")
        body = {
            "name": name,
            "type": form.get("type") or "String",
            "default_value": form.get("default_value") or None,
            "description": form.get("description", ""),
        }
        added = await self.api.call("POST", f"{path}/labels", json=body)
        return f"Added the data label {added['name']}: the next DataLabels sync creates it."

    async def mappings(self, request: Request, viewer: Viewer) -> Response:
        path, account = await self.account_of(request)
        notice, error, status, kept = "", "", 200, {}
        if request.method == "POST":
            kept = await form_of(request)
            try:
                notice = await self._mapping_action(path, kept)
                kept = {}
            except AdminProblem as problem:
                error, status = problem.detail, problem.status
        mappings = await self.api.get(f"{path}/mappings")
        labels = await self.api.get(f"{path}/labels")
        return self.render(
            "mappings.html",
            status,
            title=f"Email Data Mappings · {account['name']}",
            viewer=viewer,
            account=account,
            tab="mappings",
            mappings=mappings,
            labels=[label["name"] for label in labels],
            entities=ENTITIES,
            directions=DIRECTIONS,
            notice=notice,
            error=error,
            kept=kept,
        )

    async def _mapping_action(self, path: str, form: dict[str, str]) -> str:
        label, entity = form.get("label", ""), form.get("entity", "")
        if form.get("action") == "delete":
            at = f"{path}/mappings/{quote(entity, safe='')}/{quote(label, safe='')}"
            answer = await self.api.call("DELETE", at)
            return str(answer["message"])
        body: dict[str, Any] = {
            "label": label,
            "entity": entity,
            "primary_field": form.get("primary_field", "").strip(),
            "linked_entity": form.get("linked_entity", "").strip() or None,
            "linked_field": form.get("linked_field", "").strip() or None,
            "direction": form.get("direction") or "ToPlatform",
        }
        added = await self.api.call("POST", f"{path}/mappings", json=body)
        return f"Added the mapping {added['label']} <-> {added['entity']}.{added['primary_field']}."
