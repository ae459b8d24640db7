"""Benchmark: the initial transfer of contacts to Campaign through the file drop, over SFTP and
over S3.

    python -m bench.adobe_file_drop [--contacts 100000] [--drops sftp s3] [--memory separate|off]

A sandbox process (`bench.adobe_file_drop_serve`) holds Dataverse, Adobe Campaign, an SFTP
server and moto's S3 with `--contacts` seeded contacts; this process runs the product's file
load (`shared.sync.adobe.file_load.transfer`: change-tracking read, parts of 5 MiB, the upload,
progress rows in Azurite, the workflow's signal) with the default contact -> profile mapping.
Reported per drop: calls (Dataverse and Campaign HTTP requests by route, S3 requests by
operation, SFTP sessions), wall time, this process's CPU time (the client: the sandboxes, the
servers and Azurite run elsewhere), peak traced memory (tracemalloc, in a second transfer so
that tracing does not slow the timed one), and whether every contact arrived as a profile.
"""

from __future__ import annotations

import argparse
import json
import os
import ssl
import subprocess
import sys
import time
import tracemalloc
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from bench.adobe_file_drop_serve import BUCKET, FOLDER, DropEndpoints, serve, workflow_id
from shared.accounts import AdobeConnection, EmailAccount, Platform
from shared.clients import DataverseClient, RetryPolicy
from shared.runtime import Runtime
from shared.settings import Settings
from shared.storage.adobe_config_model import default_profile_mapping
from shared.storage.adobe_file_drop import (
    MIB,
    FileDropSettings,
    S3Destination,
    SftpDestination,
)
from shared.sync.adobe.file_drop_target import S3Target, open_target
from shared.sync.adobe.file_load import FileLoadOutcome, plan_job, transfer
from shared.sync.adobe.file_load_progress import FileLoadProgress

RESULTS_FILE = Path(__file__).resolve().parent / "results" / "adobe_file_drop.md"
DROPS = ("sftp", "s3")
PART_SIZE = 5 * MIB  # S3's minimum part, used for both drops
SECRETS = {
    "BENCH_ACS_SECRET": "acs_client_secret",
    "BENCH_SFTP_PASSWORD": "sftp_password",
}
S3_KEY_SETTINGS = ("BENCH_S3_KEY_ID", "BENCH_S3_SECRET")


@dataclass
class DropResult:
    drop: str
    contacts: int
    rows: int
    parts: int
    wall_seconds: float
    cpu_seconds: float
    peak_bytes: int | None
    http_calls: Counter[str] = field(default_factory=Counter)
    s3_calls: Counter[str] = field(default_factory=Counter)
    sftp_sessions: int = 0
    file_bytes: int = 0
    arrived: bool = False


class Hooks:
    """Counts HTTP requests by API and route (ids and queries left out)."""

    def __init__(self, endpoints: DropEndpoints) -> None:
        self.calls: Counter[str] = Counter()
        self._names = {
            urlsplit(endpoints.dataverse_url).netloc: "Dataverse",
            urlsplit(endpoints.adobe_url).netloc: "Adobe",
        }

    def on_request(self, request: httpx.Request) -> None:
        api = self._names.get(request.url.netloc.decode(), "other")
        path = request.url.path
        if api == "Dataverse" and "/api/data/" not in path:
            api = "Entra ID"
        if "/trigger" in path:
            path = "/workflow/execution/{id}/activities/activity/{name}/trigger"
        elif "/workflow/execution/" in path:
            path = "/workflow/execution/{id}"
        self.calls[f"{api} {request.method} {path}"] += 1


def _settings(endpoints: DropEndpoints, azurite: Any) -> Settings:
    for name, attribute in SECRETS.items():
        os.environ[name] = str(getattr(endpoints, attribute))
    os.environ[S3_KEY_SETTINGS[0]] = os.environ[S3_KEY_SETTINGS[1]] = "bench"
    values: dict[str, Any] = {
        "AzureWebJobsStorage": azurite.connection_string,
        "SYNC_QUEUE_BACKEND": "StorageQueue",
        "SYNC_QUEUE_NAME": f"bench-{uuid.uuid4().hex[:8]}",
        "TABLE_PREFIX": f"b{uuid.uuid4().hex[:10]}",
        "DATAVERSE_URL": endpoints.dataverse_url,
        "DATAVERSE_TENANT_ID": endpoints.tenant_id,
        "DATAVERSE_CLIENT_ID": endpoints.client_id,
        "DATAVERSE_CLIENT_SECRET": endpoints.client_secret,
        "DATAVERSE_AUTHORITY_HOST": endpoints.dataverse_url,
        "HTTP_CA_BUNDLE": endpoints.ca_path,
    }
    return Settings(**values)


def _drop_settings(drop: str, endpoints: DropEndpoints, n: int) -> FileDropSettings:
    destination: SftpDestination | S3Destination
    if drop == "sftp":
        destination = SftpDestination(
            host="127.0.0.1", port=endpoints.sftp_port, username=endpoints.sftp_user,
            folder=FOLDER, host_key=endpoints.sftp_host_key, password_setting="BENCH_SFTP_PASSWORD",
        )  # fmt: skip
    else:
        destination = S3Destination(
            bucket=BUCKET, endpoint_url=endpoints.s3_endpoint, prefix=f"{FOLDER}/",
            access_key_id_setting=S3_KEY_SETTINGS[0], secret_access_key_setting=S3_KEY_SETTINGS[1],
        )  # fmt: skip
    return FileDropSettings(
        destination=destination, workflow_id=workflow_id(drop, n), part_size=PART_SIZE
    )


def transfer_once(
    drop: str, n: int, endpoints: DropEndpoints, settings: Settings, *, traced: bool
) -> DropResult:
    hooks = Hooks(endpoints)
    verify = ssl.create_default_context(cafile=endpoints.ca_path)
    rt = Runtime(settings, retry=RetryPolicy())
    rt.use_clients(
        http=httpx.Client(timeout=120, verify=verify, event_hooks={"request": [hooks.on_request]}),
        dataverse=DataverseClient.from_settings(
            settings, retry=rt.retry,
            http=httpx.Client(timeout=120, verify=verify,
                              event_hooks={"request": [hooks.on_request]}),
        ),
    )  # fmt: skip
    account = EmailAccount(
        account_id=f"bench-{drop}-{n}", name=f"Bench {drop}", platform=Platform.ADOBE_CAMPAIGN,
        adobe=AdobeConnection(
            organization=urlsplit(endpoints.adobe_base_url).path.split("/")[1],
            base_url=endpoints.adobe_base_url, ims_url=endpoints.adobe_url,
            client_id=endpoints.acs_client_id, client_secret_name="BENCH_ACS_SECRET",
            scopes=endpoints.acs_scopes,
        ),
    )  # fmt: skip
    drop_settings = _drop_settings(drop, endpoints, n)
    target = open_target(drop_settings, settings, owner="the benchmark")
    s3_calls: Counter[str] = Counter()
    if isinstance(target, S3Target):
        target.client.meta.events.register(
            "before-call.s3", lambda model, **_: s3_calls.update([model.name])
        )
    sessions = 0
    if drop == "sftp":
        # Each of the SFTP target's calls is one connection and SFTP session.
        def counted(method: Any) -> Any:
            def call(*args: Any, **kwargs: Any) -> Any:
                nonlocal sessions
                sessions += 1
                return method(*args, **kwargs)

            return call

        for name in ("still_there", "put", "complete"):
            setattr(target, name, counted(getattr(target, name)))
    try:
        if traced:
            tracemalloc.start()
        wall, cpu = time.perf_counter(), time.process_time()
        job = plan_job(rt.dataverse(), account.account_id, default_profile_mapping(), drop_settings)
        steps = transfer(
            job, dataverse=rt.dataverse(), adobe=rt.adobe_client(account),
            progress=rt.repository(FileLoadProgress), target=target, now=lambda: datetime.now(UTC),
        )  # fmt: skip
        while True:
            try:
                next(steps)
            except StopIteration as done:
                outcome: FileLoadOutcome = done.value
                break
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        peak = tracemalloc.get_traced_memory()[1] if traced else None
    finally:
        if traced:
            tracemalloc.stop()
        rt.close()
    state = rt.repository(FileLoadProgress).load(account.account_id, "contact")
    return DropResult(
        drop=drop, contacts=endpoints.contacts, rows=outcome.rows, parts=outcome.parts,
        wall_seconds=wall, cpu_seconds=cpu, peak_bytes=peak, http_calls=hooks.calls,
        s3_calls=s3_calls, sftp_sessions=sessions, file_bytes=state.size if state else 0,
    )  # fmt: skip


def run_benchmark(
    contacts: int, drops: list[str], *, memory: bool
) -> tuple[list[DropResult], dict[str, Any]]:
    from shared.azurite import start_azurite

    # Azurite first: it picks free ports and binds them a moment later, so the sandbox
    # process must not be choosing ports of its own meanwhile.
    azurite = start_azurite(in_memory=True)
    child = subprocess.Popen(
        [sys.executable, "-m", "bench.adobe_file_drop", "--serve", str(contacts)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        cwd=Path(__file__).resolve().parent.parent,
    )  # fmt: skip
    assert child.stdin is not None and child.stdout is not None
    try:
        endpoints = DropEndpoints(**json.loads(child.stdout.readline()))
        settings = _settings(endpoints, azurite)
        results = []
        for drop in drops:
            result = transfer_once(drop, 1, endpoints, settings, traced=False)
            if memory:
                result.peak_bytes = transfer_once(
                    drop, 2, endpoints, settings, traced=True
                ).peak_bytes
            results.append(result)
        child.stdin.close()
        outcome = json.loads(child.stdout.readline())
    finally:
        azurite.stop()
        if not child.stdin.closed:  # failed before the end: the child waits on its stdin
            child.kill()
        child.wait(timeout=60)
    outcome["seed_seconds"] = endpoints.seed_seconds
    for result in results:
        imported = outcome["imports"].get(workflow_id(result.drop, 1), [])
        result.arrived = (
            bool(imported)
            and imported[0]["rows"] == contacts
            and (outcome["contacts_arrived"] == contacts)
        )
    return results, outcome


def render(results: list[DropResult], meta: dict[str, Any]) -> str:
    lines = [
        "# Initial transfer through the file drop (Adobe Campaign)", "",
        f"`{meta['command']}`, {meta['started']:%Y-%m-%d %H:%M} UTC, load {meta['load']}; "
        f"{meta['contacts']:,} contacts seeded in {meta['seed_seconds']:.1f} s.", "",
        "| Drop | Rows | Parts | File MiB | Wall s | Client CPU s | Peak MiB | Calls | Arrived |",
        "|---|---|---|---|---|---|---|---|---|",
    ]  # fmt: skip
    for r in results:
        calls = sum(r.http_calls.values()) + sum(r.s3_calls.values()) + r.sftp_sessions
        peak = f"{r.peak_bytes / MIB:.1f}" if r.peak_bytes is not None else "-"
        lines.append(
            f"| {r.drop} | {r.rows:,} | {r.parts} | {r.file_bytes / MIB:.1f} | "
            f"{r.wall_seconds:.1f} | {r.cpu_seconds:.1f} | {peak} | {calls} | "
            f"{'yes' if r.arrived else 'NO'} |"
        )
    for r in results:
        lines += ["", f"## Calls: {r.drop}", "", "| Call | Count |", "|---|---|"]
        every = {**r.http_calls, **{f"S3 {k}": v for k, v in r.s3_calls.items()}}
        if r.sftp_sessions:
            every["SFTP sessions (one per part, and the rename)"] = r.sftp_sessions
        lines += [f"| `{name}` | {count} |" for name, count in sorted(every.items())]
    lines += [
        "", "Client CPU is this process only: the sandboxes, the SFTP and S3 servers run in",
        "another process and Azurite in its own. Peak memory is tracemalloc's, from a second",
        "transfer traced on its own. Table Storage calls (a progress row per part) are not in",
        "the call counts.",
    ]  # fmt: skip
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.adobe_file_drop")
    parser.add_argument("--contacts", type=int, default=2000)
    parser.add_argument("--drops", nargs="+", choices=DROPS, default=list(DROPS))
    parser.add_argument("--memory", choices=("separate", "off"), default="separate")
    parser.add_argument("--output", type=Path, default=RESULTS_FILE)
    parser.add_argument("--serve", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve is not None:
        serve(args.serve, sys.stdin, sys.stdout)
        return 0
    started_at, started = datetime.now(UTC), time.perf_counter()
    results, outcome = run_benchmark(args.contacts, args.drops, memory=args.memory == "separate")
    for r in results:
        print(f"{r.drop}: {r.rows:,} rows in {r.parts} parts, {r.wall_seconds:.1f} s wall, "
              f"{r.cpu_seconds:.1f} s CPU, arrived {r.arrived}", flush=True)  # fmt: skip
    given = sys.argv[1:] if argv is None else argv
    meta = {
        "command": "python -m bench.adobe_file_drop " + " ".join(given),
        "started": started_at, "seconds": time.perf_counter() - started,
        "load": ", ".join(f"{n:.1f}" for n in os.getloadavg()), "contacts": args.contacts,
        "seed_seconds": outcome["seed_seconds"],
    }  # fmt: skip
    if str(args.output) != "-":
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(render(results, meta))
        print(f"wrote {args.output}")
    return 0 if all(r.arrived for r in results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
