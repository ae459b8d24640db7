"""Upload an export to an SFTP drop (Campaign's SFTP storage, e.g. `d365_loads/`), part by part.

The parts are written at their offsets into a hidden temporary file (`.<name>.uploading`), each
recorded in the manifest once the server acknowledged it; when all are there and the size is
right, the file is renamed to its name, so the import workflow never reads half a file. A
resumed transfer rewrites only the parts not recorded. asyncssh is the client (typed, and it
needs only `cryptography`); the product is synchronous, so each upload runs its own event loop.
"""

from __future__ import annotations

import asyncio
import posixpath
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import asyncssh
from pydantic import SecretStr

from shared.clients.filedrop.errors import DropRefused, DropUnreachable
from shared.clients.filedrop.manifest import ManifestFile, Part, UploadReport
from shared.clients.filedrop.writer import read_part
from shared.errors import AuthenticationError, ConfigurationError

OnPart = Callable[[Part], None]
T = TypeVar("T")


@dataclass(frozen=True)
class SftpDrop:
    """Where and how to connect. `host_key` is the server's public key (OpenSSH line) to
    trust; without it the host key is not checked, which only a test server should allow."""

    host: str
    username: str
    folder: str = "d365_loads"
    port: int = 22
    password: SecretStr | None = None
    private_key: SecretStr | None = None  # OpenSSH/PEM text
    host_key: str | None = None
    connect_timeout: float = 20.0

    @property
    def where(self) -> str:
        return f"{self.host}:{self.port}"

    def target(self, remote_name: str) -> str:
        """The manifest's key for this upload."""
        return f"sftp://{self.username}@{self.where}/{posixpath.join(self.folder, remote_name)}"


def upload(drop: SftpDrop, folder: Path, *, on_part: OnPart | None = None) -> UploadReport:
    """Upload the export in `folder` (its manifest must be complete) to the drop, resuming
    after the last part recorded as uploaded; return which parts were sent this time."""
    return asyncio.run(_upload(drop, folder, on_part))


async def _upload(drop: SftpDrop, folder: Path, on_part: OnPart | None) -> UploadReport:
    store = ManifestFile(folder)
    manifest = store.load()
    if manifest is None:
        raise DropRefused(f"no export in {folder} (it has no manifest.json)")
    manifest.require_complete()
    target = drop.target(manifest.remote_name)
    progress = manifest.progress(target)
    final = posixpath.join(drop.folder, manifest.remote_name)
    temporary = posixpath.join(drop.folder, f".{manifest.remote_name}.uploading")
    report = UploadReport(remote_path=final)
    if progress.finished:
        report.skipped = [part.number for part in manifest.parts]
        return report
    try:
        async with (
            asyncssh.connect(drop.host, drop.port, options=_options(drop)) as connection,
            connection.start_sftp_client() as sftp,
        ):
            await _ensure_folder(sftp, drop)
            done = set(progress.done)
            # Only parts the temporary file still holds count as done: a file removed or cut
            # short by someone meanwhile would otherwise leave a hole.
            if done:
                held = (await sftp.stat(temporary)).size if await sftp.exists(temporary) else 0
                done = {
                    p.number
                    for p in manifest.parts
                    if p.number in done and manifest.offset(p) + p.size <= (held or 0)
                }
            mode = "r+b" if done else "wb"
            async with sftp.open(temporary, mode) as remote:
                for part in manifest.parts:
                    if part.number in done:
                        report.skipped.append(part.number)
                        continue
                    offset = manifest.offset(part)
                    # Big writes: asyncssh splits each into parallel requests, so a distant
                    # server's round trip is paid per few MiB, not per block.
                    for chunk in read_part(folder, part, chunk_size=4 * 1024 * 1024):
                        await remote.write(chunk, offset)
                        offset += len(chunk)
                    done.add(part.number)
                    progress.done = sorted(done)
                    store.save(manifest)
                    report.sent.append(part.number)
                    if on_part is not None:
                        on_part(part)
            size = (await sftp.stat(temporary)).size
            if size is not None and size > manifest.size:
                await sftp.truncate(temporary, manifest.size)
            elif size != manifest.size:
                raise DropRefused(
                    f"{temporary} on {drop.where} has {size} bytes, expected {manifest.size}"
                )
            await _replace(sftp, temporary, final)
    except asyncssh.PermissionDenied as error:
        how = "private key" if drop.private_key is not None else "password"
        raise AuthenticationError(
            f"SFTP server {drop.where} refused user {drop.username!r} ({how}): {error.reason}"
        ) from None
    except asyncssh.HostKeyNotVerifiable:
        raise ConfigurationError(
            f"SFTP server {drop.where} showed a host key other than the configured one"
        ) from None
    except asyncssh.SFTPError as error:
        raise DropRefused(f"SFTP server {drop.where} refused: {error.reason}") from None
    except (OSError, TimeoutError, asyncssh.Error) as error:
        raise DropUnreachable(
            f"SFTP server {drop.where} unreachable or dropped the connection: "
            f"{type(error).__name__}: {error}; the transfer resumes from part "
            f"{min(set(range(1, len(manifest.parts) + 1)) - set(progress.done), default=1)}"
        ) from None
    progress.finished = True
    store.save(manifest)
    return report


def _options(drop: SftpDrop) -> asyncssh.SSHClientConnectionOptions:
    keys = []
    if drop.private_key is not None:
        try:
            keys.append(asyncssh.import_private_key(drop.private_key.get_secret_value()))
        except (asyncssh.KeyImportError, ValueError):
            raise ConfigurationError(
                f"the private key for SFTP server {drop.where} cannot be read"
            ) from None
    known_hosts: object = None
    if drop.host_key is not None:
        try:
            known_hosts = ([asyncssh.import_public_key(drop.host_key)], [], [])
        except (asyncssh.KeyImportError, ValueError):
            raise ConfigurationError(
                f"the host key for SFTP server {drop.where} cannot be read"
            ) from None
    # Only the configured credentials: no agent, no ~/.ssh keys or config of the machine
    # it runs on (client_keys=None turns key auth off when no key is configured).
    return asyncssh.SSHClientConnectionOptions(
        username=drop.username,
        password=drop.password.get_secret_value() if drop.password else None,
        client_keys=keys or None,
        known_hosts=known_hosts,
        connect_timeout=drop.connect_timeout,
        agent_path=None,
        config=[],
    )


async def _ensure_folder(sftp: asyncssh.SFTPClient, drop: SftpDrop) -> None:
    if not await sftp.isdir(drop.folder):
        await sftp.makedirs(drop.folder, exist_ok=True)


async def _replace(sftp: asyncssh.SFTPClient, temporary: str, final: str) -> None:
    """Rename over an older file of that name: atomically where the server supports the
    posix-rename extension (OpenSSH does), else remove then rename."""
    try:
        await sftp.posix_rename(temporary, final)
    except asyncssh.SFTPOpUnsupported:
        if await sftp.exists(final):
            await sftp.remove(final)
        await sftp.rename(temporary, final)


# Part by part, for a caller that keeps the offsets itself (the file load keeps them in Table
# Storage): each call is one connection; the same temporary file and final rename as above.


def temporary_path(drop: SftpDrop, remote_name: str) -> str:
    return posixpath.join(drop.folder, f".{remote_name}.uploading")


def held_size(drop: SftpDrop, remote_name: str) -> int:
    """How many bytes the temporary file holds (0 when there is none)."""

    async def held(sftp: asyncssh.SFTPClient) -> int:
        path = temporary_path(drop, remote_name)
        return ((await sftp.stat(path)).size or 0) if await sftp.exists(path) else 0

    return asyncio.run(_session(drop, held))


def write_part(drop: SftpDrop, remote_name: str, offset: int, data: bytes) -> None:
    """Write `data` at `offset` of the temporary file (part 1, at 0, starts it afresh)."""

    async def write(sftp: asyncssh.SFTPClient) -> None:
        await _ensure_folder(sftp, drop)
        async with sftp.open(temporary_path(drop, remote_name), "r+b" if offset else "wb") as f:
            for start in range(0, len(data), 4 * 1024 * 1024):
                await f.write(data[start : start + 4 * 1024 * 1024], offset + start)

    asyncio.run(_session(drop, write))


def finish(drop: SftpDrop, remote_name: str, size: int) -> str:
    """Cut the temporary file to `size` bytes and rename it to its name; the final path. A
    file already renamed (a kill after the rename) with that size counts as finished."""
    final = posixpath.join(drop.folder, remote_name)

    async def rename(sftp: asyncssh.SFTPClient) -> None:
        temporary = temporary_path(drop, remote_name)
        if not await sftp.exists(temporary):
            if await sftp.exists(final) and (await sftp.stat(final)).size == size:
                return
            raise DropRefused(f"{temporary} on {drop.where} is gone; the transfer starts over")
        held = (await sftp.stat(temporary)).size or 0
        if held < size:
            raise DropRefused(f"{temporary} on {drop.where} has {held} bytes, expected {size}")
        if held > size:
            await sftp.truncate(temporary, size)
        await _replace(sftp, temporary, final)

    asyncio.run(_session(drop, rename))
    return final


async def _session(drop: SftpDrop, work: Callable[[asyncssh.SFTPClient], Awaitable[T]]) -> T:
    try:
        async with (
            asyncssh.connect(drop.host, drop.port, options=_options(drop)) as connection,
            connection.start_sftp_client() as sftp,
        ):
            return await work(sftp)
    except asyncssh.PermissionDenied as error:
        how = "private key" if drop.private_key is not None else "password"
        raise AuthenticationError(
            f"SFTP server {drop.where} refused user {drop.username!r} ({how}): {error.reason}"
        ) from None
    except asyncssh.HostKeyNotVerifiable:
        raise ConfigurationError(
            f"SFTP server {drop.where} showed a host key other than the configured one"
        ) from None
    except asyncssh.SFTPError as error:
        raise DropRefused(f"SFTP server {drop.where} refused: {error.reason}") from None
    except (OSError, TimeoutError, asyncssh.Error) as error:
        raise DropUnreachable(
            f"SFTP server {drop.where} unreachable or dropped the connection: "
            f"{type(error).__name__}: {error}"
        ) from None
