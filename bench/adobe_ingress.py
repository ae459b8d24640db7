"""Benchmark: ProfileIngress, Dynamics contacts -> Adobe Campaign profiles over the REST API.

    python -m bench.adobe_ingress [--contacts 100000] [--memory on|off] [--linked]
                                  [--output FILE]

Against a sandbox process of its own (this module with `--serve N`: Dataverse seeded with N
contacts, the ACS sandbox empty) and fresh tables in an in-memory Azurite: the initial load of
every contact (one run through the worker, slices and checkpoints included), then a 1%
increment (every hundredth contact's last name changed in Dynamics) read through change
tracking. Measured in this process (the connector's side): every request by API and route,
wall time, CPU time and, with `--memory on`, tracemalloc's peak (tracing slows the run: the
times are then an upper bound). The sandbox process checks what Campaign holds: one profile per
contact, keyed by externalId = contactid, with its email and names. `--linked` seeds one
account per ten contacts (60% of contacts with a parent account) and maps
`parentcustomerid.name` -> title as well: the cost of a field through a lookup (one `$batch`
per page), checked against each contact's account name.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import ssl
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import httpx

from bench.sandbox_process import REPO_ROOT, Endpoints

RESULTS_FILE = Path(__file__).resolve().parent / "results" / "adobe_ingress.md"
LINKED_RESULTS_FILE = RESULTS_FILE.with_name("adobe_ingress_linked.md")
DEFAULT_CONTACTS = 2_000  # runs in well under 2 minutes here; --contacts 100000 for the full run
ACCOUNT_ID = "bench-acs"
SECRET_SETTING = "BENCH_ACS_CLIENT_SECRET"
INCREMENT_EVERY = 100  # 1%
_ID = re.compile(r"/(@[A-Za-z0-9_-]+|[0-9a-fA-F-]{36})(?=/|$|\()")
_PAREN_ID = re.compile(r"\([0-9a-fA-F-]{36}\)")


# The sandbox process ---------------------------------------------------------------------------


def _serve(size: int, stdin: IO[str], stdout: IO[str], *, linked: bool = False) -> None:
    from sandbox.launch import start_sandboxes

    tls_dir = Path(tempfile.mkdtemp(prefix="bench-acs-tls-"))
    try:
        running = start_sandboxes(tls_dir=tls_dir)
        started = time.perf_counter()
        running.dataverse.seed_data(contacts=size, accounts=size // 10 if linked else 0)
        endpoints = Endpoints.of(running, contacts=size, seed_seconds=time.perf_counter() - started)
        stdout.write(json.dumps(asdict(endpoints)) + "\n")
        stdout.flush()
        cpu_before = time.process_time()
        for line in stdin:  # one command a line, until the parent closes stdin
            if line.strip() == "increment":
                stdout.write(json.dumps({"changed": _increment(running)}) + "\n")
                stdout.flush()
        cpu = time.process_time() - cpu_before
        stdout.write(json.dumps(_verdict(running, cpu, linked=linked)) + "\n")
        stdout.flush()
    finally:
        shutil.rmtree(tls_dir, ignore_errors=True)
    os._exit(0)  # no graceful shutdown: nothing to flush


def _increment(running: Any) -> int:
    dv = running.dataverse
    ids = sorted(dv.table("contact").rows)[::INCREMENT_EVERY]
    for n, row_id in enumerate(ids):
        dv.update("contact", row_id, {"lastname": f"Increment{n}"})
    return len(ids)


def _verdict(running: Any, cpu: float, *, linked: bool = False) -> dict[str, Any]:
    dv, acs = running.dataverse, running.adobe
    held = {p["externalId"]: p for p in acs.profiles()}
    accounts = {i: r.values.get("name") for i, r in dv.table("account").rows.items()}
    equal = 0
    for row_id, row in dv.table("contact").rows.items():
        profile = held.get(str(row_id).lower())
        values = row.values
        wanted = tuple(values.get(c) or "" for c in ("emailaddress1", "firstname", "lastname"))
        if linked:  # the parent account's name, None without one
            parent = values.get("parentcustomerid")
            wanted += (accounts.get(parent[0]) if parent else None,)
        fields = ("email", "firstName", "lastName", "title") if linked else (
            "email", "firstName", "lastName")  # fmt: skip
        if profile is not None and tuple(profile[f] for f in fields) == wanted:
            equal += 1
    calls = {f"{m} {t}": n for (m, t), n in sorted(acs.counters.by_route().items())}
    return {"contacts": len(dv.table("contact").rows), "profiles": len(acs.profiles()),
            "equal": equal, "acs_calls": calls, "cpu_seconds": cpu}  # fmt: skip


class _SandboxProcess:
    def __init__(self, size: int, *, linked: bool = False) -> None:
        self._stderr = tempfile.TemporaryFile(mode="w+")  # noqa: SIM115
        serve = ["--serve", str(size), *(["--linked"] if linked else [])]
        self._process = subprocess.Popen(
            [sys.executable, "-m", "bench.adobe_ingress", *serve],
            cwd=REPO_ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._stderr,
            text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )  # fmt: skip
        self.endpoints = Endpoints(**self.line("start"))

    def line(self, what: str) -> dict[str, Any]:
        assert self._process.stdout is not None
        text = self._process.stdout.readline()
        if not text:
            self._process.wait(timeout=120)
            self._stderr.seek(0)
            raise RuntimeError(f"the sandbox process ended during {what}: {self._stderr.read()}")
        answer: dict[str, Any] = json.loads(text)
        return answer

    def send(self, command: str) -> dict[str, Any]:
        assert self._process.stdin is not None
        self._process.stdin.write(command + "\n")
        self._process.stdin.flush()
        return self.line(command)

    def finish(self) -> dict[str, Any]:
        assert self._process.stdin is not None
        self._process.stdin.close()
        verdict = self.line("finish")
        self._process.wait(timeout=60)
        self._stderr.close()
        return verdict


# The measured process -------------------------------------------------------------------------


@dataclass
class Phase:
    name: str
    records: int  # contacts the phase had to send
    calls: dict[str, int]
    wall_seconds: float
    cpu_seconds: float
    peak_bytes: int | None
    audit_status: str
    audit_message: str
    counts: dict[str, int]


@dataclass
class Result:
    contacts: int
    phases: list[Phase] = field(default_factory=list)
    verdict: dict[str, Any] = field(default_factory=dict)
    seed_seconds: float = 0.0
    linked: bool = False  # parentcustomerid.name -> title mapped too

    @property
    def delivered(self) -> bool:
        v = self.verdict
        done = all(p.audit_status == "Completed" for p in self.phases)
        return done and v.get("profiles") == v.get("contacts") == v.get("equal")


def _route(request: httpx.Request) -> str:
    """`host:port METHOD template`: the sandboxes share a host, not a port."""
    path = _PAREN_ID.sub("({id})", _ID.sub("/{id}", request.url.path))
    return f"{request.url.netloc.decode()} {request.method} {path}"


def run(size: int, *, memory: bool, linked: bool = False) -> Result:
    from bench.harness import timed_run
    from bench.product_runtime import bench_settings
    from shared.accounts import AdobeConnection, EmailAccount, Platform
    from shared.azurite import start_azurite
    from shared.clients import DataverseClient, RetryPolicy
    from shared.pipeline import admin
    from shared.runtime import Runtime
    from shared.storage.adobe_config_model import AdobeConfig, FieldMapping, default_profile_mapping
    from shared.storage.adobe_config_repo import AdobeConfigRepository
    from shared.sync_types import SyncType

    kind = SyncType.PROFILE_INGRESS
    sandbox = _SandboxProcess(size, linked=linked)
    endpoints = sandbox.endpoints
    azurite = start_azurite(in_memory=True)
    result = Result(contacts=size, seed_seconds=endpoints.seed_seconds, linked=linked)
    try:
        os.environ[SECRET_SETTING] = endpoints.adobe_client_secret
        settings = bench_settings(azurite, endpoints)
        calls: Counter[str] = Counter()
        names = {httpx.URL(endpoints.dataverse_url).netloc.decode(): "Dataverse",
                 httpx.URL(endpoints.adobe_base_url).netloc.decode(): "Adobe Campaign"}  # fmt: skip

        def count(request: httpx.Request) -> None:
            route = _route(request)
            host, rest = route.split(" ", 1)
            calls[f"{names.get(host, host)} {rest}"] += 1

        verify = ssl.create_default_context(cafile=endpoints.ca_path)
        hooks = {"request": [count]}
        rt = Runtime(settings, retry=RetryPolicy())
        rt.use_clients(
            http=httpx.Client(timeout=121.0, verify=verify, event_hooks=hooks),
            dataverse=DataverseClient.from_settings(
                settings, retry=rt.retry,
                http=httpx.Client(timeout=121.0, verify=verify, event_hooks=hooks),
            ),
        )  # fmt: skip
        account = EmailAccount(
            account_id=ACCOUNT_ID, name="Benchmark ACS", platform=Platform.ADOBE_CAMPAIGN,
            adobe=AdobeConnection(
                organization=endpoints.adobe_organization, base_url=endpoints.adobe_base_url,
                ims_url=endpoints.adobe_ims_url, client_id=endpoints.adobe_client_id,
                client_secret_name=SECRET_SETTING, scopes="openid,AdobeID,campaign_sdk",
            ),
        )  # fmt: skip
        admin.provision_account(rt, account)
        if linked:
            mapping = default_profile_mapping()
            mapping.fields.append(
                FieldMapping(dynamics_field="parentcustomerid.name", campaign_field="title")
            )
            config = AdobeConfig(account_id=ACCOUNT_ID, tables=[mapping])
            rt.repository(AdobeConfigRepository).save(config, None)
        for name in ("initial load", "1% increment"):
            records = size
            if name != "initial load":
                records = int(sandbox.send("increment")["changed"])
            calls.clear()
            timed = timed_run(rt, ACCOUNT_ID, kind, traced=memory)
            audit = timed.audit
            result.phases.append(Phase(
                name=name, records=records, calls=dict(calls), wall_seconds=timed.wall_seconds,
                cpu_seconds=timed.cpu_seconds, peak_bytes=timed.peak_bytes,
                audit_status=audit.status.value, audit_message=audit.message,
                counts=audit.counts.model_dump(),
            ))  # fmt: skip
    finally:
        azurite.stop()
        if tracemalloc.is_tracing():
            tracemalloc.stop()
    result.verdict = sandbox.finish()
    return result


# Report ----------------------------------------------------------------------------------------


def render(result: Result, meta: dict[str, Any]) -> str:
    lines = [
        "# ProfileIngress benchmark (Dynamics contacts -> Adobe Campaign profiles, REST API)",
        "",
        f"`{meta['command']}`, {meta['started']:%Y-%m-%d %H:%M} UTC, {meta['seconds']:.0f} s, "
        f"load {meta['load']} (2 cores shared). Dataverse and ACS sandboxes run in another "
        "process, Azurite in a third: CPU and memory are this process's (the connector's). "
        f"{result.contacts:,} contacts seeded in {result.seed_seconds:.1f} s"
        + (
            ", one account per ten contacts (60% of contacts with a parent account), "
            "`parentcustomerid.name` -> title mapped: read in one `$batch` per page."
            if result.linked
            else "."
        ),
        "",
        "Each record is read by its key in Campaign first, then created or patched: two calls "
        "a record (see the README's ingress section for why), 8 in flight per page of 500.",
        "",
        "| phase | records | calls | calls/record | wall | client CPU | peak memory | audit |",
        "|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for p in result.phases:
        total = sum(p.calls.values())
        peak = "-" if p.peak_bytes is None else f"{p.peak_bytes / 1e6:.1f} MB"
        per = total / p.records if p.records else 0.0
        lines.append(
            f"| {p.name} | {p.records:,} | {total:,} | {per:.2f} | {p.wall_seconds:.1f} s "
            f"| {p.cpu_seconds:.1f} s | {peak} | {p.audit_status} |"
        )
    for p in result.phases:
        lines += ["", f"## {p.name}: calls by route", "", "| route | calls |", "|---|---:|"]
        lines += [f"| `{route}` | {n:,} |" for route, n in sorted(p.calls.items())]
        lines += ["", f"Audit: {p.audit_message} (counts {p.counts})."]
    v = result.verdict
    lines += ["", f"Sandbox check: {v.get('profiles', 0):,} profiles for {v.get('contacts', 0):,} "
              f"contacts, {v.get('equal', 0):,} equal to their contact (externalId, email, "
              f"names{', title = the parent account name' if result.linked else ''}).",
              ""]  # fmt: skip
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.adobe_ingress")
    parser.add_argument("--contacts", type=int, default=DEFAULT_CONTACTS)
    parser.add_argument("--memory", choices=("on", "off"), default="on")
    parser.add_argument("--linked", action="store_true")
    parser.add_argument("--output", type=Path, default=None)
    parser.add_argument("--serve", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve is not None:
        _serve(args.serve, sys.stdin, sys.stdout, linked=args.linked)
        return 0
    if args.output is None:
        args.output = LINKED_RESULTS_FILE if args.linked else RESULTS_FILE
    command = "python -m bench.adobe_ingress " + " ".join(sys.argv[1:] if argv is None else argv)
    started_at, started = datetime.now(UTC), time.perf_counter()
    result = run(args.contacts, memory=args.memory == "on", linked=args.linked)
    meta = {"command": command.strip(), "started": started_at,
            "seconds": time.perf_counter() - started,
            "load": ", ".join(f"{n:.1f}" for n in os.getloadavg())}  # fmt: skip
    for p in result.phases:
        print(f"{p.name}: {p.records:,} records, {sum(p.calls.values()):,} calls, "
              f"{p.wall_seconds:.1f} s, CPU {p.cpu_seconds:.1f} s, {p.audit_message}")  # fmt: skip
    if str(args.output) != "-":
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(render(result, meta))
        print(f"wrote {args.output}")
    return 0 if result.delivered else 1


if __name__ == "__main__":
    raise SystemExit(main())
