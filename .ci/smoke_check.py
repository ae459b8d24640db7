"""After a deploy, prove the app runs: its functions are indexed, the admin API answers, one
email account's Test Connection signs in to its platform, and the webhook takes the key
Dataverse is given.

    python .ci/smoke_check.py --base-url https://<app>.azurewebsites.net \\
        --functions-listed listed.json --functions-expected dist/functions.json [--account ID]

The keys come from the environment, never from the command line, so they stay out of logs:
`SMOKE_FUNCTION_KEY` for the admin API and, with `--webhook`, `SMOKE_WEBHOOK_KEY` (the webhook
function's key `dynamics-webhook`), both sent as `x-functions-key`. Standard library only:
the deploy job runs it on the runner's Python without installing anything. Exit code 0 when
every check passed, 1 otherwise; one line per check on stdout.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

KEY_VARIABLE = "SMOKE_FUNCTION_KEY"
WEBHOOK_KEY_VARIABLE = "SMOKE_WEBHOOK_KEY"
ADMIN = "/api/admin"
WEBHOOK = "/api/dynamics/webhook"


@dataclass(frozen=True)
class Answer:
    status: int
    body: Any  # parsed JSON, or the text when the body is not JSON


class Check(Exception):
    """A failed check: its message is the line printed."""


def function_names(listing: Any) -> set[str]:
    """Names from `az functionapp function list` (`<app>/<function>`) or a plain list of names."""
    if not isinstance(listing, list):
        raise Check("the function listing is not a JSON list")
    names: set[str] = set()
    for item in listing:
        name = item.get("name", "") if isinstance(item, dict) else str(item)
        names.add(name.rsplit("/", 1)[-1])
    return names


def check_functions(listed: Any, expected: Any) -> str:
    missing = sorted(function_names(expected) - function_names(listed))
    if missing:
        raise Check(
            f"functions missing from the app: {', '.join(missing)} (the host did not index "
            "them: see the app's log stream, often a failed import at start)"
        )
    return f"functions listed: {', '.join(sorted(function_names(listed)))}"


class Admin:
    """The admin API of one app, with the function key; retries while the app warms up."""

    def __init__(self, base_url: str, key: str, *, wait_seconds: float, timeout: float) -> None:
        self.base = base_url.rstrip("/") + ADMIN
        self.key = key
        self.wait_seconds = wait_seconds
        self.timeout = timeout

    def call(self, method: str, path: str) -> Answer:
        request = urllib.request.Request(self.base + path, method=method, data=b"" if
                                         method == "POST" else None)  # fmt: skip
        if self.key:
            request.add_header("x-functions-key", self.key)
        request.add_header("Accept", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return Answer(response.status, _parse(response.read()))
        except urllib.error.HTTPError as error:
            return Answer(error.code, _parse(error.read()))
        except (urllib.error.URLError, TimeoutError, ConnectionError) as error:
            reason = getattr(error, "reason", error)
            raise Check(f"{method} {self.base}{path}: no answer ({reason})") from None

    def call_until_up(self, method: str, path: str) -> Answer:
        """A fresh deployment restarts the host: 502/503 or a refused connection for a while."""
        deadline = time.monotonic() + self.wait_seconds
        while True:
            try:
                answer = self.call(method, path)
                if answer.status not in (502, 503, 504) or time.monotonic() >= deadline:
                    return answer
            except Check:
                if time.monotonic() >= deadline:
                    raise
            time.sleep(min(5.0, max(0.0, deadline - time.monotonic())))


def _parse(raw: bytes) -> Any:
    text = raw.decode("utf-8", "replace")
    try:
        return json.loads(text)
    except ValueError:
        return text


def _detail(answer: Answer) -> str:
    if isinstance(answer.body, dict):
        return str(answer.body.get("detail") or answer.body.get("message") or answer.body)
    return str(answer.body)[:200]


def check_health(admin: Admin) -> str:
    answer = admin.call_until_up("GET", "/health")
    if answer.status == 401:
        raise Check(f"GET {ADMIN}/health: 401, the function key was refused ({KEY_VARIABLE})")
    if (
        answer.status != 200
        or not isinstance(answer.body, dict)
        or answer.body.get("status") != "ok"
    ):
        raise Check(f"GET {ADMIN}/health: {answer.status} {_detail(answer)}")
    return f"GET {ADMIN}/health: 200 ok"


def check_connection(admin: Admin, account: str | None) -> str:
    """Test Connection of `account`, else of the first account; none yet is not a failure (a
    new environment), it says so."""
    if not account:
        listed = admin.call("GET", "/accounts")
        if listed.status != 200 or not isinstance(listed.body, list):
            raise Check(f"GET {ADMIN}/accounts: {listed.status} {_detail(listed)}")
        if not listed.body:
            return "Test Connection skipped: no email account yet (add one: README, Deploy)"
        account = str(listed.body[0]["account_id"])
    path = f"/accounts/{urllib.parse.quote(account, safe='')}/test-connection"
    answer = admin.call("POST", path)
    if answer.status != 200 or not isinstance(answer.body, dict):
        raise Check(f"Test Connection of '{account}': {answer.status} {_detail(answer)}")
    if answer.body.get("success") is not True:
        raise Check(f"Test Connection of '{account}' failed: {answer.body.get('message')}")
    return f"Test Connection of '{account}': {answer.body.get('message')}"


def check_webhook_key(base_url: str, key: str, *, timeout: float) -> str:
    """The app holds the key the host takes for the webhook (Key Vault's dynamics-webhook-key
    against the function key dynamics-webhook). A post with it and no organization header gets
    past the key check and stops at the organization: 403, never 401. Nothing is recorded."""
    if not key:
        raise Check(
            f"POST {WEBHOOK}: no key to post with ({WEBHOOK_KEY_VARIABLE} is empty: the function "
            "dynamics_webhook has no key dynamics-webhook, or it is not indexed)"
        )
    url = base_url.rstrip("/") + WEBHOOK
    request = urllib.request.Request(url, method="POST", data=b"{}")
    request.add_header("x-functions-key", key)
    request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            answer = Answer(response.status, _parse(response.read()))
    except urllib.error.HTTPError as error:
        answer = Answer(error.code, _parse(error.read()))
    except (urllib.error.URLError, TimeoutError, ConnectionError) as error:
        raise Check(f"POST {WEBHOOK}: no answer ({getattr(error, 'reason', error)})") from None
    if answer.status == 403:
        return f"POST {WEBHOOK}: the app takes the webhook function's key"
    if answer.status == 401:
        raise Check(
            f"POST {WEBHOOK}: 401 {_detail(answer)} The Key Vault secret dynamics-webhook-key "
            "and the function key dynamics-webhook differ: run Deploy with rotate-webhook-key "
            "(README, Deploy to Azure: the webhook key)"
        )
    raise Check(f"POST {WEBHOOK}: {answer.status} {_detail(answer)}")


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise Check(f"cannot read {path}: {error}") from None


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--base-url", required=True, help="https://<app>.azurewebsites.net")
    parser.add_argument("--functions-listed", type=Path, help="`az functionapp function list` JSON")
    parser.add_argument("--functions-expected", type=Path, help="JSON list of function names")
    parser.add_argument("--account", default="", help="account for Test Connection (default: "
                        "the first one listed)")  # fmt: skip
    parser.add_argument("--webhook", action="store_true", help="also post to the webhook with "
                        f"the key in {WEBHOOK_KEY_VARIABLE}")  # fmt: skip
    parser.add_argument("--wait-seconds", type=float, default=300.0,
                        help="how long the app may take to answer after the deploy")  # fmt: skip
    parser.add_argument("--timeout", type=float, default=60.0, help="per request, in seconds")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    admin = Admin(args.base_url, os.environ.get(KEY_VARIABLE, ""),
                  wait_seconds=args.wait_seconds, timeout=args.timeout)  # fmt: skip
    checks: list[Callable[[], str]] = []
    if args.functions_listed or args.functions_expected:
        if not (args.functions_listed and args.functions_expected):
            print("FAIL give both --functions-listed and --functions-expected")
            return 1
        listed, expected = args.functions_listed, args.functions_expected
        checks.append(lambda: check_functions(_read_json(listed), _read_json(expected)))
    checks.append(lambda: check_health(admin))
    checks.append(lambda: check_connection(admin, args.account))
    if args.webhook:
        webhook_key = os.environ.get(WEBHOOK_KEY_VARIABLE, "")
        checks.append(lambda: check_webhook_key(args.base_url, webhook_key, timeout=args.timeout))
    failed = 0
    for check in checks:
        try:
            print(f"ok   {check()}")
        except Check as error:
            failed += 1
            print(f"FAIL {error}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
