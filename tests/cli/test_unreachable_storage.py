"""Commands with storage that cannot be used: one line saying what and where, never a
traceback, and never a long silence first."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from shared.azurite import DEV_ACCOUNT, DEV_KEY, PROJECT_ROOT

FATAL, RETRIABLE = 1, 75


def _cli(connection_string: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "AzureWebJobsStorage": connection_string,
        "SYNC_QUEUE_BACKEND": "StorageQueue",
    }
    return subprocess.run(
        [sys.executable, "-m", "shared", "--settings", "env", *args],
        cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


def _connection_string(endpoint: str) -> str:
    return (
        f"DefaultEndpointsProtocol=http;AccountName={DEV_ACCOUNT};AccountKey={DEV_KEY};"
        f"TableEndpoint={endpoint};QueueEndpoint={endpoint};"
    )


@pytest.fixture
def closed_endpoint() -> Iterator[str]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))  # held, not listening: connection refused
        yield f"http://127.0.0.1:{sock.getsockname()[1]}/{DEV_ACCOUNT}"


class _NotStorage(BaseHTTPRequestHandler):
    def do_POST(self) -> None:  # what another program on the port might answer
        body = b"<!DOCTYPE HTML>\n<html><body>Not here</body></html>\n"
        self.send_response(501)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST

    def log_message(self, *_: object) -> None:
        pass


@pytest.fixture
def other_program() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _NotStorage)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/{DEV_ACCOUNT}"
    finally:
        server.shutdown()
        server.server_close()


def test_the_local_host_says_storage_is_unreachable_in_one_line(closed_endpoint: str) -> None:
    result = _cli(_connection_string(closed_endpoint), "host", "--http-port", "0")

    assert result.returncode == RETRIABLE
    assert result.stderr.splitlines() == [
        f"Error: Cannot reach Table Storage at {closed_endpoint}: is Azurite running? "
        "`make demo` starts it (or check AzureWebJobsStorage)."
    ]


def test_another_program_on_the_storage_port_is_named_in_one_line(other_program: str) -> None:
    result = _cli(_connection_string(other_program), "accounts", "list")

    assert result.returncode == FATAL
    assert result.stderr.splitlines() == [
        f"Error: Table Storage at {other_program} answered with HTTP 501 that is not Azure "
        "Storage's: check AzureWebJobsStorage (is another program on that port?)."
    ]
