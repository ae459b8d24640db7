"""Start Azurite (the local twin of Azure Storage) from the project's pinned npm package."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from shared.errors import ConfigurationError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
# Azurite's documented development account; a public, well-known value, not a secret.
DEV_ACCOUNT = "devstoreaccount1"
DEV_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="


# Blob, queue, table: where Storage Explorer's "Local storage emulator" and
# `UseDevelopmentStorage=true` look for the emulator.
DEFAULT_PORTS = (10000, 10001, 10002)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_is_free(port: int) -> bool:
    with socket.socket() as sock:
        # As Azurite binds: a port whose last listener just stopped (TIME_WAIT) is free.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def _wait_for_port(port: int, process: subprocess.Popen[bytes], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise ConfigurationError(f"Azurite exited early with code {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise ConfigurationError(f"Azurite did not listen on port {port} within {timeout:.0f} s")


@dataclass
class AzuriteProcess:
    process: subprocess.Popen[bytes]
    blob_port: int
    queue_port: int
    table_port: int

    @property
    def ports(self) -> tuple[int, int, int]:
        return (self.blob_port, self.queue_port, self.table_port)

    @property
    def connection_string(self) -> str:
        base = "http://127.0.0.1"
        return (
            f"DefaultEndpointsProtocol=http;AccountName={DEV_ACCOUNT};AccountKey={DEV_KEY};"
            f"BlobEndpoint={base}:{self.blob_port}/{DEV_ACCOUNT};"
            f"QueueEndpoint={base}:{self.queue_port}/{DEV_ACCOUNT};"
            f"TableEndpoint={base}:{self.table_port}/{DEV_ACCOUNT};"
        )

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()


def azurite_binary() -> str:
    local = PROJECT_ROOT / "node_modules" / ".bin" / "azurite"
    if local.exists():
        return str(local)
    found = shutil.which("azurite")
    if found:
        return found
    raise ConfigurationError("Azurite is not installed: run `make install` (npm ci) first.")


def start_azurite(
    *, in_memory: bool, location: Path | None = None, ports: tuple[int, int, int] | None = None
) -> AzuriteProcess:
    """Start blob, queue and table services (on `ports`, else free ones) and wait until they
    listen."""
    blob, queue, table = ports or (free_port(), free_port(), free_port())
    args = [
        azurite_binary(),
        "--silent",
        "--skipApiVersionCheck",
        "--disableTelemetry",
        "--blobPort", str(blob),
        "--queuePort", str(queue),
        "--tablePort", str(table),
    ]  # fmt: skip
    if in_memory:
        args.append("--inMemoryPersistence")
    elif location is not None:
        location.mkdir(parents=True, exist_ok=True)
        args += ["--location", str(location)]
    process = subprocess.Popen(
        args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL
    )
    try:
        for port in (blob, queue, table):
            _wait_for_port(port, process, timeout=30)
    except ConfigurationError:
        if process.poll() is None:
            process.kill()
        raise
    return AzuriteProcess(process, blob, queue, table)


def start_azurite_preferring(preferred: tuple[int, int, int], *, location: Path) -> AzuriteProcess:
    """Azurite on `preferred` when all three are free, else on free ports (the caller compares
    `ports` with `preferred` to say so). Tests and benchmarks use `start_azurite`: free ports."""
    if all(port_is_free(port) for port in preferred):
        try:
            return start_azurite(in_memory=False, location=location, ports=preferred)
        except ConfigurationError:
            pass  # taken between the check and Azurite's bind: fall back like any taken port
    return start_azurite(in_memory=False, location=location)


def clear_azurite_data(location: Path) -> bool:
    """Remove Azurite's own files under `location` (never anything else there); True if any."""
    removed = False
    for entry in location.glob("*") if location.is_dir() else ():
        if entry.name.startswith("__azurite_db_") or entry.name in _AZURITE_FOLDERS:
            if entry.is_dir():
                shutil.rmtree(entry)
            else:
                entry.unlink()
            removed = True
    return removed


_AZURITE_FOLDERS = frozenset({"__blobstorage__", "__queuestorage__", "__tablestorage__"})
