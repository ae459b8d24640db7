"""The account's file drop as the file load uses it: start a remote file, upload part n, check
the recorded progress is still there, complete the file. SFTP writes each part at its offset
of a temporary file and renames it at the end; S3 uploads parts of a multipart upload and
completes it. Credentials are read by the names the settings give, when the drop is opened."""

from __future__ import annotations

from typing import Any, Protocol

from pydantic import SecretStr

from shared.secrets import resolve_secret
from shared.settings import Settings
from shared.storage.adobe_file_drop import FileDropSettings, S3Destination, SftpDestination
from shared.sync.adobe.file_load_progress import LoadedPart, LoadState


class DropTarget(Protocol):
    @property
    def where(self) -> str:
        """The destination's address (a transfer's progress is only good for the same one)."""

    def start(self, remote_name: str) -> str | None:
        """Begin a new remote file; the upload's handle (S3's upload id) or None."""

    def still_there(self, state: LoadState) -> bool:
        """Does the drop still hold every part the progress records?"""

    def put(self, state: LoadState, number: int, data: bytes) -> None:
        """Upload part `number`, starting at byte `state.size` of the file."""

    def complete(self, state: LoadState, parts: list[LoadedPart]) -> str:
        """Make the file whole under its name; its remote path."""


class SftpTarget:
    def __init__(self, destination: SftpDestination, settings: Settings, owner: str) -> None:
        from shared.clients.filedrop.sftp import SftpDrop

        secret = destination.private_key_setting or destination.password_setting or ""
        value = resolve_secret(secret, settings, owner=owner)
        is_key = destination.private_key_setting is not None
        if is_key and "\n" not in value.get_secret_value():
            # An app setting often carries a key's line breaks as the two characters `\n`.
            value = SecretStr(value.get_secret_value().replace("\\n", "\n"))
        self.drop = SftpDrop(
            host=destination.host,
            port=destination.port,
            username=destination.username,
            folder=destination.folder.rstrip("/"),
            private_key=value if is_key else None,
            password=None if is_key else value,
            host_key=destination.host_key,
        )
        self.where = destination.where

    def start(self, remote_name: str) -> str | None:
        return None  # part 1 creates the temporary file afresh

    def still_there(self, state: LoadState) -> bool:
        from shared.clients.filedrop import sftp

        return sftp.held_size(self.drop, state.remote_name) >= state.size

    def put(self, state: LoadState, number: int, data: bytes) -> None:
        from shared.clients.filedrop import sftp

        sftp.write_part(self.drop, state.remote_name, state.size, data)

    def complete(self, state: LoadState, parts: list[LoadedPart]) -> str:
        from shared.clients.filedrop import sftp

        return sftp.finish(self.drop, state.remote_name, state.size)


class S3Target:
    def __init__(self, destination: S3Destination, settings: Settings, owner: str) -> None:
        from shared.clients.filedrop.s3 import S3Drop

        key_id = secret = None
        if destination.access_key_id_setting and destination.secret_access_key_setting:
            key_id = resolve_secret(
                destination.access_key_id_setting, settings, owner=owner
            ).get_secret_value()
            secret = resolve_secret(destination.secret_access_key_setting, settings, owner=owner)
        self.drop = S3Drop(
            bucket=destination.bucket,
            prefix=destination.prefix,
            region=destination.region,
            access_key_id=key_id,
            secret_access_key=secret,
            endpoint_url=destination.endpoint_url,
        )
        self.where = destination.where
        self._client: Any = None

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = self.drop.client()
        return self._client

    def start(self, remote_name: str) -> str | None:
        from shared.clients.filedrop import s3

        return s3.begin_upload(self.drop, remote_name, client=self.client)

    def still_there(self, state: LoadState) -> bool:
        from shared.clients.filedrop import s3

        assert state.upload_id is not None
        return s3.upload_known(self.drop, state.remote_name, state.upload_id, client=self.client)

    def put(self, state: LoadState, number: int, data: bytes) -> None:
        from shared.clients.filedrop import s3

        assert state.upload_id is not None
        s3.put_part(self.drop, state.remote_name, state.upload_id, number, data, client=self.client)

    def complete(self, state: LoadState, parts: list[LoadedPart]) -> str:
        from shared.clients.filedrop import s3

        assert state.upload_id is not None
        md5s = [part.md5 for part in parts if part.size]
        s3.complete_upload(self.drop, state.remote_name, state.upload_id, md5s, client=self.client)
        return self.drop.target(state.remote_name)


def open_target(config: FileDropSettings, settings: Settings, *, owner: str) -> DropTarget:
    """The drop the settings describe, its credentials resolved now (ConfigurationError when
    a named setting is missing)."""
    destination = config.destination
    if isinstance(destination, SftpDestination):
        return SftpTarget(destination, settings, owner)
    return S3Target(destination, settings, owner)
