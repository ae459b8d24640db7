"""Both sandboxes in a process of their own, so the measured process holds only the client.

    python -m bench.sandbox_process --contacts 100000

starts Dataverse (TLS, with its Entra ID token endpoint) and Dotdigital (discovery r1 + the
account's region r2), seeds `--contacts` Dataverse contacts with `seed_data` (and, with
`--preferences N`, Dotdigital preferences and opt-ins: `bench.preferences_seed`), and prints one
JSON line (`Endpoints`: URLs, the demo credentials, the CA path, seeding time). It then stays
up until its stdin closes. Whatever was written to stdin before that may be one JSON request
`{"verify": {"book": <name>, "email": <column>, "fields": {<data field>: <column>}}}`; the
process answers with a last JSON line (`Outcome`): the calls its servers counted per route; how
many Dataverse contacts (with an email) arrived in that book with every mapped data field
equal; the size one import body holding all of them would have (for the protocol minimum);
the CPU time the process used while the clients ran. Then it exits at once (no graceful
shutdown: nothing is left to flush).

`SandboxProcess` is the parent's side: start it, read the endpoints, `finish()` for the outcome.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import TracebackType
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:  # the sandboxes load in the child process only
    from sandbox.launch import Sandboxes

REPO_ROOT = Path(__file__).resolve().parent.parent
IMPORT_ENVELOPE_BYTES = len(b'{"mergeOption":"overwrite","contacts":[]}')
"""An import body without its contacts (which are joined with one comma each)."""
STARTUP_TIMEOUT_SECONDS = 120.0


@dataclass(frozen=True)
class Endpoints:
    """What the measured process needs to build the real clients against the sandboxes."""

    dataverse_url: str  # org URL = Web API host = Entra ID authority host
    tenant_id: str
    client_id: str
    client_secret: str
    dotdigital_url: str  # discovery (r1)
    dotdigital_api_endpoint: str  # the account's region (r2)
    api_user: str
    api_password: str
    ca_path: str
    contacts: int
    seed_seconds: float
    # The Adobe Campaign sandbox: its organization, API base and IMS host, the demo credential.
    adobe_organization: str = ""
    adobe_base_url: str = ""
    adobe_ims_url: str = ""
    adobe_client_id: str = ""
    adobe_client_secret: str = ""

    @classmethod
    def of(cls, running: Sandboxes, *, contacts: int, seed_seconds: float) -> Endpoints:
        """What a parent process needs to reach these running sandboxes."""
        credentials = running.credentials
        return cls(
            dataverse_url=running.dataverse_url,
            tenant_id=credentials.tenant_id,
            client_id=credentials.client_id,
            client_secret=credentials.client_secret,
            dotdigital_url=running.dotdigital_url,
            dotdigital_api_endpoint=running.dotdigital_api_endpoint,
            api_user=credentials.api_user,
            api_password=credentials.api_password,
            ca_path=str(running.ca_path),
            contacts=contacts,
            seed_seconds=round(seed_seconds, 3),
            adobe_organization=running.adobe.organization,
            adobe_base_url=running.adobe_base_url,
            adobe_ims_url=running.adobe_url,
            adobe_client_id=credentials.acs_client_id,
            adobe_client_secret=credentials.acs_client_secret,
        )


@dataclass(frozen=True)
class Outcome:
    """The sandboxes' own view once the run is over."""

    server_calls: dict[str, int] = field(default_factory=dict)  # "<server> <METHOD> <template>"
    cpu_seconds: float = 0.0  # the sandbox process's CPU time while the clients ran
    book_members: int = 0
    contacts_with_email: int = 0  # Dataverse contacts that have the email column set
    delivered: int = 0  # of those: in the book with every mapped data field equal
    single_import_body_bytes: int = 0  # one import body holding every contact with an email


def _serve(contacts: int, stdin: IO[str], stdout: IO[str], preferences: int = 0) -> None:
    from sandbox.launch import start_sandboxes

    tls_dir = Path(tempfile.mkdtemp(prefix="bench-sandbox-tls-"))
    try:
        running = start_sandboxes(tls_dir=tls_dir)
        started = time.perf_counter()
        running.dataverse.seed_data(contacts=contacts)
        if preferences:
            from bench.preferences_seed import seed_preferences

            seed_preferences(running, preferences)
        seed_seconds = time.perf_counter() - started
        endpoints = Endpoints.of(running, contacts=contacts, seed_seconds=seed_seconds)
        stdout.write(json.dumps(asdict(endpoints)) + "\n")
        stdout.flush()
        cpu_before = time.process_time()
        request = stdin.read()  # blocks until the parent closes stdin
        cpu_seconds = time.process_time() - cpu_before
        verify = json.loads(request).get("verify") if request.strip() else None
        outcome = _outcome(running, verify, cpu_seconds)
        stdout.write(json.dumps(asdict(outcome)) + "\n")
        stdout.flush()
    finally:
        shutil.rmtree(tls_dir, ignore_errors=True)
    # No graceful shutdown of the servers (seconds each, with nothing left to flush): the
    # parent has its answer, and the next case should not share the cores with a shutdown.
    os._exit(0)


def _wire_size(email: str, data_fields: dict[str, Any], book_id: int) -> int:
    """Bytes of one contact in an import body, as `ImportContact.to_wire` and `import_bodies`
    write it for what the benchmark sends (email identifier, data fields, one list). Kept
    here so this process needs none of the product; the smoke test checks it against the
    bodies the client really sent."""
    wire = {
        "matchIdentifier": "email",
        "identifiers": {"email": email},
        "dataFields": data_fields,
        "lists": [book_id],
    }
    return len(json.dumps(wire, separators=(",", ":"), ensure_ascii=False).encode("utf-8"))


def _outcome(running: Any, verify: dict[str, Any] | None, cpu_seconds: float) -> Outcome:
    calls: dict[str, int] = {}
    for name, state in (("dataverse", running.dataverse), ("dotdigital", running.dotdigital)):
        for (method, template), count in sorted(state.counters.by_route().items()):
            calls[f"{name} {method} {template}"] = count
    if verify is None:
        return Outcome(server_calls=calls, cpu_seconds=cpu_seconds)
    store = running.dotdigital.store
    book = store.book_named(verify["book"])
    book_id = -1 if book is None else book.id
    email_column: str = verify["email"]
    fields: dict[str, str] = verify["fields"]  # data field -> contact column
    with_email = delivered = payload = 0
    for row in running.dataverse.table("contact").rows.values():
        email = row.values.get(email_column)
        if not email:
            continue
        with_email += 1
        data = {label: row.values.get(column) for label, column in fields.items()}
        payload += _wire_size(email, data, book_id) + (1 if with_email > 1 else 0)
        contact = store.by_email(email)
        if (
            book is not None
            and contact is not None
            and contact.id in book.members
            and all(contact.data.get(label) == value for label, value in data.items())
        ):
            delivered += 1
    return Outcome(
        server_calls=calls,
        cpu_seconds=cpu_seconds,
        book_members=0 if book is None else len(book.members),
        contacts_with_email=with_email,
        delivered=delivered,
        single_import_body_bytes=IMPORT_ENVELOPE_BYTES + payload if with_email else 0,
    )


class SandboxProcess:
    """The parent's handle: `endpoints` once started, `finish(verify)` for the `Outcome`."""

    def __init__(self, contacts: int, *, preferences: int = 0) -> None:
        self.contacts = contacts
        # Kept for the process's lifetime (closed in close()): its last words if it fails.
        self._stderr = tempfile.TemporaryFile(mode="w+")  # noqa: SIM115
        self._process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "bench.sandbox_process",
                "--contacts",
                str(contacts),
                "--preferences",
                str(preferences),
            ],
            cwd=REPO_ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        self.endpoints = Endpoints(**self._read_line("start"))

    def _read_line(self, what: str) -> dict[str, Any]:
        assert self._process.stdout is not None
        line = self._process.stdout.readline()
        if not line:
            self._process.wait(timeout=STARTUP_TIMEOUT_SECONDS)
            self._stderr.seek(0)
            raise RuntimeError(
                f"the sandbox process ended during {what} (exit {self._process.returncode}): "
                f"{self._stderr.read()[-2000:]}"
            )
        answer: dict[str, Any] = json.loads(line)
        return answer

    def finish(self, verify: dict[str, Any] | None = None) -> Outcome:
        """Close stdin (sending `verify` first, if given) and read the sandboxes' outcome."""
        assert self._process.stdin is not None
        if verify is not None:
            self._process.stdin.write(json.dumps({"verify": verify}))
        self._process.stdin.close()
        outcome = Outcome(**self._read_line("finish"))
        self._process.wait(timeout=60)
        return outcome

    def close(self) -> None:
        if self._process.poll() is None:
            if self._process.stdin is not None and not self._process.stdin.closed:
                self._process.stdin.close()
            try:
                self._process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        if self._process.stdout is not None:
            self._process.stdout.close()
        self._stderr.close()

    def __enter__(self) -> SandboxProcess:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.sandbox_process")
    parser.add_argument("--contacts", type=int, default=0, help="Dataverse contacts to seed")
    parser.add_argument(
        "--preferences", type=int, default=0,
        help="Dotdigital preferences, and a Dotdigital contact with opt-ins per contact email",
    )  # fmt: skip
    args = parser.parse_args(argv)
    _serve(args.contacts, sys.stdin, sys.stdout, args.preferences)


if __name__ == "__main__":
    main()
