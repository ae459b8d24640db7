"""Fuzz the admin HTTP API with schemathesis, generated from its own OpenAPI document, over
real HTTP on the local host: no 5xx, and no response that breaks the spec.

    python -m bench.admin_api_fuzz [--examples 300] [--seed 0]     (make fuzz-admin-api)

The function app runs on the local host against Azurite and both sandboxes, with an account
(`demo`, the accountId example of the OpenAPI document: provisioned, its CRM fields read, a
data label, a mapping and a completed run in the audit) so that the account routes reach the
service layer, not only 404s. schemathesis's
`st run` generates valid and invalid requests for every operation (examples, coverage and
fuzzing phases) and holds each answer to two checks: not_a_server_error and
response_schema_conformance. Writes bench/results/admin_api_fuzz.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from tempfile import TemporaryDirectory
from urllib.parse import urlsplit
from xml.etree import ElementTree

import httpx

from sandbox.launch import Sandboxes, start_sandboxes
from shared.accounts import EmailAccount
from shared.api.app import PREFIX
from shared.azurite import start_azurite
from shared.localhost.run import build_host
from shared.mappings.model import DataMapping, MappedEntity
from shared.runtime import Runtime, install_runtime
from shared.service import accounts, labels, mappings, schedules
from shared.settings import QueueBackend, Settings
from shared.storage.data_labels_repo import DataLabel
from shared.sync_types import SyncType
from tests.fixtures.crm_fields import marketing_crm_fields
from tests.fixtures.sync_runtime import PASSWORD_SETTING, sync_settings

ACCOUNT = "demo"  # the accountId example in the OpenAPI document: the examples phase reaches it
RESULTS_FILE = Path(__file__).resolve().parent / "results" / "admin_api_fuzz.md"
CHECKS = "not_a_server_error,response_schema_conformance"
ST = Path(sys.executable).with_name("st")


def seed(rt: Runtime, sandboxes: Sandboxes) -> None:
    """An account the generated requests can reach: provisioned, with CRM fields, a label, a
    mapping and a run in the audit."""
    account = EmailAccount(
        account_id=ACCOUNT,
        name="Demo newsletters",
        api_user=sandboxes.credentials.api_user,
        api_password_secret_name=PASSWORD_SETTING,
    )
    accounts.add_account(rt, account)
    rt.crm_fields.upsert(ACCOUNT, marketing_crm_fields())
    labels.add_label(rt, ACCOUNT, DataLabel(name="JOBROLE"))
    mapping = DataMapping(label="JOBROLE", entity=MappedEntity.CONTACT, primary_field="jobtitle")
    mappings.add_mapping(rt, ACCOUNT, mapping)
    schedules.sync_now(rt, ACCOUNT, SyncType.CRM_METADATA)


@contextmanager
def admin_api() -> Iterator[str]:
    """The local host serving the function app, seeded; yields its base URL."""
    azurite = start_azurite(in_memory=True)
    sandboxes = start_sandboxes()
    try:
        base = Settings(
            AzureWebJobsStorage=azurite.connection_string,
            SYNC_QUEUE_BACKEND=QueueBackend.STORAGE_QUEUE,
            SYNC_QUEUE_NAME=f"fuzz-{uuid.uuid4().hex[:12]}",
            TABLE_PREFIX=f"f{uuid.uuid4().hex[:10]}",
        )
        os.environ[PASSWORD_SETTING] = sandboxes.credentials.api_password
        rt = Runtime(sync_settings(base, sandboxes))
        install_runtime(rt)
        host = build_host(rt)
        seed(rt, sandboxes)
        host.drain()
        try:
            yield host.serve_http()
        finally:
            host.stop()
            install_runtime(None)
            rt.close()
    finally:
        sandboxes.stop()
        azurite.stop()


@dataclass
class Outcome:
    tests: int
    failures: int
    errors: int
    seconds: float
    summary: list[str]
    exit_code: int
    statuses: Counter[tuple[str, int]]  # (operation, status) -> requests


OTHER_METHODS = "any method a path does not take"


def _operation(method: str, url: str, paths: dict[str, dict[str, object]]) -> str:
    path = urlsplit(url).path
    # Literal paths first (/dead-letters/replay is not /dead-letters/{letterId}).
    for template in sorted(paths, key=lambda t: (t.count("{"), -len(t))):
        if re.fullmatch(re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template)), path):
            if method.lower() not in paths[template]:
                return OTHER_METHODS
            return f"{method} {template.removeprefix(PREFIX)}"
    return "(no route)"


def tally(har: Path, paths: dict[str, dict[str, object]]) -> Counter[tuple[str, int]]:
    entries = json.loads(har.read_text())["log"]["entries"]
    return Counter(
        (_operation(e["request"]["method"], e["request"]["url"], paths), e["response"]["status"])
        for e in entries
    )


def fuzz(base_url: str, *, examples: int, seed_value: int) -> Outcome:
    with TemporaryDirectory() as folder:
        junit, har = Path(folder) / "junit.xml", Path(folder) / "requests.har"
        command = [
            str(ST), "run", f"{base_url}{PREFIX}/openapi.json",
            "--checks", CHECKS,
            "--max-examples", str(examples),
            "--seed", str(seed_value),
            "--workers", "1",
            "--report", "junit,har",
            "--report-junit-path", str(junit), "--report-har-path", str(har),
            "--warnings", "off",
        ]  # fmt: skip
        started = time.perf_counter()
        # In the temporary folder: schemathesis keeps a cache (.schemathesis/) in its cwd.
        done = subprocess.run(command, capture_output=True, text=True, check=False, cwd=folder)
        seconds = time.perf_counter() - started
        suites = ElementTree.parse(junit).getroot()
        totals = [int(suites.get(k, "0")) for k in ("tests", "failures", "errors")]
        spec = httpx.get(f"{base_url}{PREFIX}/openapi.json").json()
        statuses = tally(har, spec["paths"])
    if done.returncode != 0:
        print(done.stdout[-20000:], done.stderr[-3000:], sep="\n")
    summary = [line for line in done.stdout.splitlines() if re.search(r"\d+ (passed|failed)", line)]
    tests, failures, errors = totals
    return Outcome(tests, failures, errors, seconds, summary, done.returncode, statuses)


def report(outcome: Outcome, examples: int, seed_value: int, generated_at: datetime) -> str:
    statuses = sorted({status for _, status in outcome.statuses})
    operations = {op for op, _ in outcome.statuses}
    documented = [*sorted(operations - {OTHER_METHODS}), OTHER_METHODS]
    lines = [
        "# Fuzz: the admin HTTP API (schemathesis)",
        "",
        f"Generated by `python -m bench.admin_api_fuzz --examples {examples} --seed "
        f"{seed_value}` ({generated_at:%Y-%m-%d %H:%M} UTC; Python {platform.python_version()}, "
        f"{platform.machine()}, a shared 2-core machine).",
        "",
        "schemathesis `st run` against `/api/admin/openapi.json`, over real HTTP on the local",
        "host (the function app's `admin_api` function, Azurite, both sandboxes), with the",
        "`demo` account seeded. Phases: examples, coverage, fuzzing, stateful. Checks:",
        f"`{CHECKS}`. Requests per operation and status (from the run's HAR):",
        "",
        "| operation | " + " | ".join(str(s) for s in statuses) + " |",
        "|---|" + "---:|" * len(statuses),
    ]
    for op in documented:
        counts = [outcome.statuses.get((op, s), 0) for s in statuses]
        lines.append(f"| `{op}` | " + " | ".join(f"{n:,}" if n else "" for n in counts) + " |")
    totals = [sum(n for (_, st), n in outcome.statuses.items() if st == s) for s in statuses]
    lines += [
        "| **all** | " + " | ".join(f"{n:,}" for n in totals) + " |",
        "",
        f"- Requests: {sum(totals):,} in {outcome.seconds:.0f} s (generation included).",
        f"- 5xx answers: {sum(n for (_, st), n in outcome.statuses.items() if st >= 500)}.",
        f"- schemathesis: {outcome.tests} operations and scenarios, {outcome.failures} failed, "
        f"{outcome.errors} errors (exit code {outcome.exit_code}).",
        "- 422: a request refused as bad input (problem+json naming the field); 404: an account,",
        "  label, mapping or audit row that does not exist; 409: Sync Now while queued, a name",
        "  taken; 405: a method the path does not take (schemathesis tries each).",
        "- Never answered 2xx here, by construction: `POST .../mappings` (a random mapping names a",
        "  CRM field and a label that exist only by chance), `PUT .../start` (a start date needs a",
        "  Once a day schedule first), the dead-letter routes by id (the seeded state has none);",
        "  tests/api covers their success paths.",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=300, help="per operation and phase")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args(argv)
    with admin_api() as base_url:
        outcome = fuzz(base_url, examples=args.examples, seed_value=args.seed)
    text = report(outcome, args.examples, args.seed, datetime.now(UTC))
    print(text)
    if not args.no_write:
        RESULTS_FILE.write_text(text)
    return 0 if outcome.exit_code == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
