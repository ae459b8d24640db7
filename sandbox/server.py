"""Run an ASGI (Starlette) app with uvicorn in a background thread on a free 127.0.0.1 port."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from types import TracebackType
from typing import Any

import uvicorn
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sandbox.faults import ABORT_EXTENSION
from sandbox.tls import TlsFiles


class _ConnectionControl:
    """Outermost ASGI layer: lets the app drop a connection without sending any response.

    ASGI has no "close without answering" message, so this layer reaches uvicorn's transport
    through the h11 protocol's `send` (a bound method of its request cycle) and aborts it.
    The server is pinned to uvicorn's h11 protocol for that reason.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        cycle: Any = getattr(send, "__self__", None)
        transport: Any = getattr(cycle, "transport", None)
        aborted = False

        def abort() -> None:
            nonlocal aborted
            if transport is None:
                raise RuntimeError("cannot reach the connection to drop it")
            aborted = True
            transport.abort()

        scope["extensions"] = {**(scope.get("extensions") or {}), ABORT_EXTENSION: {"abort": abort}}

        async def guarded_send(message: Message) -> None:
            if not aborted:
                await send(message)

        await self.app(scope, receive, guarded_send)
        if aborted:
            # Let uvicorn see the connection as lost, so it does not try to answer with a 500.
            for _ in range(200):
                if getattr(cycle, "disconnected", True):
                    break
                await asyncio.sleep(0.005)


class RunningServer:
    def __init__(
        self, server: uvicorn.Server, thread: threading.Thread, sock: socket.socket, url: str
    ) -> None:
        self._server = server
        self._thread = thread
        self._socket = sock
        self.url = url
        host, port = sock.getsockname()[:2]
        self.host: str = host
        self.port: int = port

    def stop(self, timeout: float = 10.0) -> None:
        if self._thread.is_alive():
            self._server.should_exit = True
            self._thread.join(timeout)
        self._socket.close()

    def __enter__(self) -> RunningServer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"RunningServer({self.url!r})"


def start_server(
    app: ASGIApp,
    *,
    tls: TlsFiles | None = None,
    host: str = "127.0.0.1",
    startup_timeout: float = 10.0,
) -> RunningServer:
    """Serve `app` on a free port of `host` until `.stop()`; returns once it accepts requests."""
    # proto=IPPROTO_TCP so asyncio sets TCP_NODELAY on accepted connections (no 40 ms stalls).
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        _ConnectionControl(app),
        http="h11",
        ws="none",
        lifespan="off",
        loop="asyncio",
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=1,
        ssl_certfile=str(tls.cert_path) if tls else None,
        ssl_keyfile=str(tls.key_path) if tls else None,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name=f"sandbox-{port}", daemon=True
    )
    thread.start()
    deadline = time.monotonic() + startup_timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            sock.close()
            raise RuntimeError(f"sandbox server on {host}:{port} did not start")
        time.sleep(0.01)
    scheme = "https" if tls else "http"
    return RunningServer(server, thread, sock, f"{scheme}://{host}:{port}")
