"""The console's first screens, named as the seeds name them: Email Accounts, the account's
Information (name and description, disable and enable, Test Connection), Synchronisation
Settings (Sync Now, interval and window, live status) and the Sync Audit (filters, paging,
details in place)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import Response

from shared.console.admin_client import AdminProblem
from shared.console.auth import Viewer
from shared.console.pages import Pages, form_of

AUDIT_PAGE: Final = 20
IDLE: Final = "None"


class Screens(Pages):
    async def accounts(self, request: Request, viewer: Viewer) -> Response:
        listed = await self.api.get("/accounts")
        return self.render("accounts.html", title="Email Accounts", viewer=viewer, accounts=listed)

    async def account(self, request: Request, viewer: Viewer) -> Response:
        account_id = request.path_params["account"]
        path = f"/accounts/{quote(account_id)}"
        notice, error, status = "", "", 200
        if request.method == "POST":
            try:
                notice = await self._account_action(path, await form_of(request))
            except AdminProblem as problem:
                error, status = problem.detail, problem.status
        account = await self.api.get(path)
        return self.render(
            "account.html",
            status,
            title=account["name"],
            viewer=viewer,
            account=account,
            tab="information",
            notice=notice,
            error=error,
        )

    async def _account_action(self, path: str, form: dict[str, str]) -> str:
        action = form.get("action", "test")
        if action in ("disable", "enable"):
            await self.api.call("POST", f"{path}/{action}")
            return f"The account is {action}d." + (
                " Nothing runs for it until it is enabled." if action == "disable" else ""
            )
        if action == "edit":
            changes = {"name": form.get("name", ""), "description": form.get("description", "")}
            await self.api.call("PATCH", path, json=changes)
            return "Saved the account's name and description."
        test = await self.api.call("POST", f"{path}/test-connection")
        if not test["success"]:
            raise AdminProblem(200, f"Test Connection failed: {test['message']}")
        return f"Test Connection succeeded: {test['message']}"

    async def schedules(self, request: Request, viewer: Viewer) -> Response:
        account_id = request.path_params["account"]
        path = f"/accounts/{quote(account_id)}"
        notice, error, status, kept = "", "", 200, {}
        if request.method == "POST":
            # The posted values stay in the form: to correct a refused one, or change the next.
            kept = await form_of(request)
            try:
                notice = await self._schedule_action(path, kept)
            except AdminProblem as problem:
                error, status = problem.detail, problem.status
        account = await self.api.get(path)
        rows = await self.api.get(f"{path}/schedules")
        chosen = request.query_params.get("change", "")
        for row in rows if not kept else ():
            if row["sync_type"] == chosen:  # a row's Change link: the form starts from it
                kept = {"sync_type": chosen, "interval": row["interval"] or "",
                        "window": row["window"]}  # fmt: skip
        return self.render(
            "schedules.html",
            status,
            title=f"Synchronisation Settings · {account['name']}",
            viewer=viewer,
            account=account,
            tab="schedules",
            rows=rows,
            busy=any(row["status"] != IDLE for row in rows),
            notice=notice,
            error=error,
            kept=kept,
        )

    async def _schedule_action(self, path: str, form: dict[str, str]) -> str:
        sync_type = form.get("sync_type", "")
        at = f"{path}/schedules/{quote(sync_type)}"
        action = form.get("action")
        if action == "sync-now":
            answer = await self.api.call("POST", f"{at}/sync-now")
            return str(answer["message"])
        if action == "set":
            change = {"interval": form.get("interval", ""), "window": form.get("window") or "any"}
            answer = await self.api.call("PUT", at, json=change)
            schedule = answer["schedule"]
            upcoming = ", ".join(_short(t) for t in answer["upcoming"][:3])
            after = f" Next runs (UTC): {upcoming}." if upcoming else " It runs on Sync Now only."
            return f"Saved {sync_type}: {schedule['interval']}, {schedule['window']}.{after}"
        if action == "start":
            start = {"date": form.get("date", ""), "time": form.get("time") or None}
            answer = await self.api.call("PUT", f"{at}/start", json=start)
            return f"Saved {sync_type}: next sync {_short(answer['next_sync'])} UTC."
        raise AdminProblem(422, "Unknown action: use the buttons of the table.")

    async def schedule_rows(self, request: Request, viewer: Viewer) -> Response:
        """The table's rows alone, which console.js polls while a run is queued or running."""
        account_id = request.path_params["account"]
        rows = await self.api.get(f"/accounts/{quote(account_id)}/schedules")
        return self.render("schedule_rows.html", rows=rows, account={"account_id": account_id})

    async def audit(self, request: Request, viewer: Viewer) -> Response:
        account_id = request.path_params["account"]
        path = f"/accounts/{quote(account_id)}"
        query = request.query_params
        sync_type, since = query.get("syncType", ""), query.get("since", "")
        error, status = "", 200
        page: dict[str, Any] = {"runs": [], "next_cursor": None}
        try:
            page = await self.api.get(
                f"{path}/audit",
                syncType=sync_type,
                since=since or None,  # typed in UTC (the label says so), as the CLI takes it
                limit=str(AUDIT_PAGE),
                cursor=query.get("cursor"),
            )
        except AdminProblem as problem:
            if problem.status == 404:
                raise
            error, status = problem.detail, problem.status
        account = await self.api.get(path)
        types = [row["sync_type"] for row in await self.api.get(f"{path}/schedules")]
        filters = {"syncType": sync_type, "since": since}
        return self.render(
            "audit.html",
            status,
            title=f"Sync Audit · {account['name']}",
            viewer=viewer,
            account=account,
            tab="audit",
            page=page,
            types=types,
            filters=filters,
            filtered=bool(sync_type or since),
            paged=bool(query.get("cursor")),
            next_query=_query({**filters, "cursor": page["next_cursor"]}),
            first_query=_query(filters),
            error=error,
        )

    async def audit_run(self, request: Request, viewer: Viewer) -> Response:
        """One run's detail rows: a whole page, or (`?part=details`) the rows alone, which
        console.js inserts below the run in the audit table."""
        account_id, row_key = request.path_params["account"], request.path_params["row_key"]
        path = f"/accounts/{quote(account_id)}"
        run = await self.api.get(f"{path}/audit/{quote(row_key, safe='')}")
        if request.query_params.get("part") == "details":
            return self.render("audit_details.html", run=run)
        account = await self.api.get(path)
        title = f"{run['run']['sync_type']} run · {account['name']}"
        return self.render(
            "audit_run.html", title=title, viewer=viewer, account=account, tab="audit", run=run
        )


def _short(value: str | None) -> str:
    if not value:
        return "—"
    return datetime.fromisoformat(value).strftime("%Y-%m-%d %H:%M")


def _query(values: Mapping[str, str | None]) -> str:
    return "&".join(f"{k}={quote(v, safe='')}" for k, v in values.items() if v)
