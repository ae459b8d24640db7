"""Programs access (which programs CRM users may enrol contacts in, Mapped Users Only) and User
Mapping (the platform's users to Dynamics users), as the seeds' tabs of the same names."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from shared.console.admin_client import AdminProblem
from shared.console.auth import Viewer
from shared.console.pages import Pages, form_of


class AccessScreens(Pages):
    async def programs(self, request: Request, viewer: Viewer) -> Response:
        path, account = await self.account_of(request)
        notice, error, status = "", "", 200
        if request.method == "POST":
            form = await form_of(request)
            try:
                notice = await self._program_action(path, form)
            except AdminProblem as problem:
                error, status = problem.detail, problem.status
        view = await self.api.get(f"{path}/programs")
        return self.render(
            "programs.html",
            status,
            title=f"Programs · {account['name']}",
            viewer=viewer,
            account=account,
            tab="programs",
            view=view,
            notice=notice,
            error=error,
        )

    async def _program_action(self, path: str, form: dict[str, str]) -> str:
        action = form.get("action")
        if action == "mapped-users-only":
            body = {"enabled": form.get("enabled") == "true"}
            answer = await self.api.call("PUT", f"{path}/programs/mapped-users-only", json=body)
        else:
            method = "PUT" if action == "allow" else "DELETE"
            at = f"{path}/programs/{int(form.get('program_id') or 0)}/allowed"
            answer = await self.api.call(method, at)
        return str(answer["message"])

    async def users(self, request: Request, viewer: Viewer) -> Response:
        path, account = await self.account_of(request)
        notice, error, status = "", "", 200
        if request.method == "POST":
            form = await form_of(request)
            at = f"{path}/user-mappings/{int(form.get('platform_user_id') or 0)}"
            try:
                if form.get("action") == "unmap":
                    answer = await self.api.call("DELETE", at)
                    notice = str(answer["message"])
                else:
                    body = {"dynamics_user_id": form.get("dynamics_user_id", "")}
                    mapped = await self.api.call("PUT", at, json=body)
                    notice = (
                        f"Mapped {mapped['platform_user_name'] or mapped['platform_user_id']} "
                        f"to {mapped['dynamics_user_name'] or mapped['dynamics_user_id']}."
                    )
            except AdminProblem as problem:
                error, status = problem.detail, problem.status
        view = await self.api.get(f"{path}/user-mappings")
        return self.render(
            "users.html",
            status,
            title=f"User Mapping · {account['name']}",
            viewer=viewer,
            account=account,
            tab="users",
            view=view,
            notice=notice,
            error=error,
        )
