"""The file drop benchmark's sandbox process: Dataverse and Adobe Campaign (the sandboxes), an
SFTP server (asyncssh, password, a generated host key) and an S3 server (moto), so the measured
process holds only the client.

It seeds `--contacts` Dataverse contacts, gives the ACS sandbox one import workflow per
measured transfer (`WKF_<DROP>_<n>`: a signal may fire once per 10 minutes) reading its file
from the SFTP folder or the bucket into profiles, and prints one JSON line (`DropEndpoints`).
When its stdin closes it prints the outcome (each workflow's import, the profiles, its CPU
time while the client ran) and exits.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import shutil
import socket
import tempfile
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO, Any

WORKFLOWS_PER_DROP = 2  # the timed transfer and the traced one
FOLDER = "d365_loads"
BUCKET = "campaign-drop"


def workflow_id(drop: str, n: int) -> str:
    return f"WKF_{drop.upper()}_{n}"


@dataclass(frozen=True)
class DropEndpoints:
    dataverse_url: str
    tenant_id: str
    client_id: str
    client_secret: str
    adobe_url: str
    adobe_base_url: str
    acs_client_id: str
    acs_client_secret: str
    acs_scopes: str
    ca_path: str
    sftp_port: int
    sftp_user: str
    sftp_password: str
    sftp_host_key: str
    s3_endpoint: str
    contacts: int
    seed_seconds: float


def _sftp_server(root: Path, password: str) -> tuple[int, str]:
    import asyncssh

    host_key = asyncssh.generate_private_key("ssh-ed25519")

    class Auth(asyncssh.SSHServer):
        def begin_auth(self, username: str) -> bool:
            return True

        def password_auth_supported(self) -> bool:
            return True

        def validate_password(self, username: str, given: str) -> bool:
            return username == "campaign" and secrets.compare_digest(given, password)

    def sftp(chan: asyncssh.SSHServerChannel[bytes]) -> asyncssh.SFTPServer:
        return asyncssh.SFTPServer(chan, chroot=str(root).encode())

    loop = asyncio.new_event_loop()
    threading.Thread(target=loop.run_forever, name="sftp", daemon=True).start()

    async def listen() -> Any:
        return await asyncssh.listen(
            "127.0.0.1", 0, server_host_keys=[host_key], server_factory=Auth, sftp_factory=sftp
        )

    acceptor = asyncio.run_coroutine_threadsafe(listen(), loop).result(timeout=30)
    return int(acceptor.get_port()), host_key.export_public_key().decode().strip()


def _s3_server() -> tuple[str, Any]:
    import logging

    import boto3
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per S3 request

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False).start()
    endpoint = f"http://127.0.0.1:{port}"
    client = boto3.client("s3", region_name="us-east-1", endpoint_url=endpoint,
                          aws_access_key_id="bench", aws_secret_access_key="bench")  # fmt: skip
    client.create_bucket(Bucket=BUCKET)
    return endpoint, client


def serve(contacts: int, stdin: IO[str], stdout: IO[str]) -> None:
    from sandbox.adobe import DEMO_ACS_SCOPES
    from sandbox.adobe.imports import FileImport
    from sandbox.launch import start_sandboxes

    work = Path(tempfile.mkdtemp(prefix="bench-file-drop-"))
    try:
        running = start_sandboxes(tls_dir=work / "tls")
        started = time.perf_counter()
        running.dataverse.seed_data(contacts=contacts)
        seed_seconds = time.perf_counter() - started
        root = work / "sftp"
        (root / FOLDER).mkdir(parents=True)
        password = secrets.token_urlsafe(16)
        sftp_port, host_key = _sftp_server(root, password)
        s3_endpoint, s3 = _s3_server()

        def from_sftp(name: str) -> bytes | None:
            path = root / FOLDER / name
            return path.read_bytes() if path.exists() else None

        def from_s3(name: str) -> bytes | None:
            try:
                return bytes(s3.get_object(Bucket=BUCKET, Key=f"{FOLDER}/{name}")["Body"].read())
            except Exception:
                return None

        for drop, reader in (("sftp", from_sftp), ("s3", from_s3)):
            for n in range(1, WORKFLOWS_PER_DROP + 1):
                workflow = running.adobe.add_workflow(
                    workflow_id(drop, n), signals={"signal": ("fileName", "rows")}
                )
                workflow.imports["signal"] = FileImport("profile", "externalId", reader)
        credentials = running.credentials
        endpoints = DropEndpoints(
            dataverse_url=running.dataverse_url, tenant_id=credentials.tenant_id,
            client_id=credentials.client_id, client_secret=credentials.client_secret,
            adobe_url=running.adobe_url, adobe_base_url=running.adobe_base_url,
            acs_client_id=credentials.acs_client_id,
            acs_client_secret=credentials.acs_client_secret, acs_scopes=DEMO_ACS_SCOPES,
            ca_path=str(running.ca_path), sftp_port=sftp_port, sftp_user="campaign",
            sftp_password=password, sftp_host_key=host_key, s3_endpoint=s3_endpoint,
            contacts=contacts, seed_seconds=round(seed_seconds, 3),
        )  # fmt: skip
        stdout.write(json.dumps(asdict(endpoints)) + "\n")
        stdout.flush()
        cpu_before = time.process_time()
        stdin.read()  # until the parent closes it
        cpu_seconds = time.process_time() - cpu_before
        imports = {
            wf.id: [asdict(result) for result in spec.results]
            for wf in running.adobe.workflows.values()
            for spec in wf.imports.values()
        }
        ids = {str(p["externalId"]) for p in running.adobe.profiles()}
        contact_ids = set(running.dataverse.table("contact").ids_after(None))
        outcome = {
            "imports": imports,
            "cpu_seconds": round(cpu_seconds, 3),
            "profiles": len(ids),
            "contacts_arrived": len(ids & contact_ids),
        }
        stdout.write(json.dumps(outcome) + "\n")
        stdout.flush()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    os._exit(0)  # no graceful shutdown of the servers: nothing is left to flush
