"""Screens for after an incident, as the README's runbook has them: Email Suppressions (with
Request Resubscribe), a run's failed records and their retry, dead-lettered runs and their
replay, and the reconciliation report (each email-activated list against its address book)."""

from __future__ import annotations

from typing import Any, Final
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import Response

from shared.console.admin_client import AdminProblem
from shared.console.auth import Viewer
from shared.console.pages import Pages, form_of

SUPPRESSIONS_PAGE: Final = 50


class IncidentScreens(Pages):
    async def suppressions(self, request: Request, viewer: Viewer) -> Response:
        path, account = await self.account_of(request)
        notice, error, status = "", "", 200
        if request.method == "POST":
            form = await form_of(request)
            try:
                at = f"{path}/suppressions/{quote(form.get('id', ''), safe='')}/resubscribe"
                answer = await self.api.call("POST", at)
                notice = str(answer["message"])
            except AdminProblem as problem:
                error, status = problem.detail, problem.status
        query = request.query_params
        email = query.get("email", "").strip()
        page = await self.api.get(
            f"{path}/suppressions",
            email=email or None,
            limit=str(SUPPRESSIONS_PAGE),
            cursor=query.get("cursor"),
        )
        return self.render(
            "suppressions.html",
            status,
            title=f"Email Suppressions · {account['name']}",
            viewer=viewer,
            account=account,
            tab="suppressions",
            page=page,
            email=email,
            paged=bool(query.get("cursor")),
            notice=notice,
            error=error,
        )

    async def failed(self, request: Request, viewer: Viewer) -> Response:
        path, account = await self.account_of(request)
        notice, error, status = "", "", 200
        if request.method == "POST":
            form = await form_of(request)
            try:
                answers = await self.api.call(
                    "POST", f"{path}/failed/retry", params={"runId": form.get("run_id")}
                )
                notice = " ".join(str(answer["message"]) for answer in answers)
            except AdminProblem as problem:
                error, status = problem.detail, problem.status
        runs = await self.api.get(f"{path}/failed")
        return self.render(
            "failed.html",
            status,
            title=f"Failed records · {account['name']}",
            viewer=viewer,
            account=account,
            tab="failed",
            runs=runs,
            notice=notice,
            error=error,
        )

    async def reconciliation(self, request: Request, viewer: Viewer) -> Response:
        """Reads both sides in full, so only when asked (the button), never on opening."""
        path, account = await self.account_of(request)
        report: Any = None
        error, status = "", 200
        list_name = request.query_params.get("list", "").strip()  # one list (the audit's link)
        if request.query_params.get("compare"):
            try:
                report = await self.api.get(f"{path}/reconciliation", list=list_name or None)
            except AdminProblem as problem:
                error, status = problem.detail, problem.status
        return self.render(
            "reconciliation.html",
            status,
            title=f"Reconciliation · {account['name']}",
            viewer=viewer,
            account=account,
            tab="reconciliation",
            report=report,
            list_name=list_name,
            error=error,
        )

    async def dead_letters(self, request: Request, viewer: Viewer) -> Response:
        notice, error, status = "", "", 200
        if request.method == "POST":
            form = await form_of(request)
            letter = quote(form.get("letter_id", ""), safe="")
            try:
                if form.get("action") == "discard":
                    result = await self.api.call("DELETE", f"/dead-letters/{letter}")
                    notice = str(result["message"])
                else:
                    at = f"/dead-letters/{letter}/replay" if letter else "/dead-letters/replay"
                    report = await self.api.call("POST", at)
                    notice = " ".join(str(r["message"]) for r in report["results"])
                    notice = notice or "No dead letters to replay."
            except AdminProblem as problem:
                error, status = problem.detail, problem.status
        letters = await self.api.get("/dead-letters")
        return self.render(
            "dead_letters.html",
            status,
            title="Dead letters",
            tab="dead-letters",
            viewer=viewer,
            letters=letters,
            notice=notice,
            error=error,
        )
