"""Workflows and their external signals (how an import workflow is started after a file drop).

`GET /workflow/execution/<id>` lists the workflow's activities; a signal activity's
`trigger.href` takes `POST {"source", "parameters"}` (declared parameters only, at most 64 KB).
ACS allows one trigger every 10 minutes and answers the lockout with a body that is not JSON:
that becomes `SignalLockedOut` (retriable: the run tries again later), never a blind retry.
"""

from __future__ import annotations

import json
import re
from typing import Any

import httpx

from shared.clients.adobe.errors import EngineRefusal, SignalLockedOut, read_error
from shared.clients.adobe.models import SignalActivity, WorkflowInfo
from shared.clients.adobe.transport import AdobeTransport, json_body
from shared.errors import ApiError

MAX_SIGNAL_BYTES = 64 * 1024
_WORKFLOW_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_WHEN = re.compile(r"(\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(?:\.\d+)?Z?)")


class WorkflowsApi(AdobeTransport):
    def workflow(self, workflow_id: str) -> WorkflowInfo:
        if not _WORKFLOW_ID.match(workflow_id):
            raise ValueError(f"{workflow_id!r} is not a workflow id")
        path = f"workflow/execution/{workflow_id}"
        body = json_body(self._call("GET", self.url(path)), f"GET {path}")
        if not isinstance(body, dict):
            raise ApiError(f"Adobe Campaign GET {path} answered no workflow", status=200)
        activities = (body.get("activities") or {}).get("activity") or {}
        signals = [
            SignalActivity(name=str(name), trigger_href=str(item["trigger"]["href"]))
            for name, item in activities.items()
            if isinstance(item, dict) and isinstance(item.get("trigger"), dict)
            and item["trigger"].get("href")
        ]  # fmt: skip
        return WorkflowInfo(
            id=str(body.get("id") or workflow_id),
            label=str(body.get("label") or ""),
            state=str(body.get("state") or ""),
            href=str(body.get("href") or ""),
            signals=signals,
        )

    def trigger_signal(
        self,
        workflow_id: str,
        activity: str,
        *,
        source: str,
        parameters: dict[str, str | int | float | bool] | None = None,
    ) -> dict[str, Any]:
        """Trigger a signal activity of a running workflow. Not repeated after a lost answer
        (OutcomeUnknown): a second trigger would start the import twice, or lock out."""
        if not source:
            raise ValueError("a signal needs a source")
        payload = {"source": source, "parameters": dict(parameters or {})}
        if len(json.dumps(payload).encode()) > MAX_SIGNAL_BYTES:
            raise EngineRefusal(
                "A signal's payload must be at most 64 KB", status=0, code="PAYLOAD_TOO_LARGE"
            )
        found = self.workflow(workflow_id)
        signal = found.signal(activity)
        if signal is None:
            names = ", ".join(s.name for s in found.signals) or "none"
            raise EngineRefusal(
                f"Adobe Campaign workflow {workflow_id} has no signal activity '{activity}' "
                f"(its signal activities: {names})",
                status=200,
                code=None,
            )

        def locked_out(response: httpx.Response) -> None:
            if response.status_code < 400:
                return
            error = read_error(response)
            proxy = response.status_code >= 500 and "minute" not in error.message.lower()
            if error.is_json or error.engine_codes or proxy:
                return  # an ordinary error: the transport maps it
            match = _WHEN.search(error.message)
            when = match.group(1) if match else None
            raise SignalLockedOut(
                f"Adobe Campaign signal '{activity}' of workflow {workflow_id} is locked out "
                "(one trigger every 10 minutes); next allowed at "
                f"{when or '10 minutes after the last trigger'} (HTTP {response.status_code}: "
                f"{error.message[:200]})",
                next_allowed_at=when,
            )

        answer = self._call(
            "POST",
            self.check_href(signal.trigger_href),
            json=payload,
            idempotent=False,
            inspect=locked_out,
        )
        try:
            body = answer.json()
        except ValueError:
            return {}
        return body if isinstance(body, dict) else {}
