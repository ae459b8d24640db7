"""Where an Adobe Campaign account's initial transfer files go (its SFTP storage or an S3
bucket), the import workflow and signal that load them, and from how many records a table is
transferred by file rather than over the API. Credentials are never stored: only the NAMES of
the app settings (or Key Vault secrets) that hold them.

Kept in AdobeFileDrop (PartitionKey = account id, RowKey `settings`), beside the transfers'
progress rows (`shared/sync/adobe/file_load_progress.py`), not in AdobeCampaignConfig: the
mapping editor saves that partition whole and would drop rows it does not know."""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from azure.core.exceptions import ResourceNotFoundError
from azure.data.tables import TableClient, UpdateMode
from pydantic import BaseModel, Field, model_validator

SETTINGS_ROW = "settings"
DEFAULT_THRESHOLD = 500_000  # the integration's former rule: tables over 500k records
MIB = 1024 * 1024
S3_MIN_PART = 5 * MIB  # S3's minimum size of every part but the last
SETTING_NAME = r"^[A-Za-z0-9_-]{1,127}$"
HOST = r"^[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$"
# A relative folder of plain segments, none starting with a dot: never `..`, never absolute.
FOLDER = r"^[A-Za-z0-9_-][A-Za-z0-9._-]*(/[A-Za-z0-9_-][A-Za-z0-9._-]*)*/?$"
WORKFLOW_ID = r"^[A-Za-z0-9_-]{1,64}$"


class SftpDestination(BaseModel):
    """Campaign's SFTP storage (`<instance>.campaign.adobe.com`). The host key is pinned:
    a server showing another key is refused, never trusted on first use."""

    kind: Literal["sftp"] = "sftp"
    host: str = Field(pattern=HOST)
    port: int = Field(default=22, ge=1, le=65535)
    username: str = Field(min_length=1, max_length=100, pattern=r"^[^\s:@/]+$")
    folder: str = Field(default="d365_loads", pattern=FOLDER, max_length=200)
    host_key: str = Field(
        pattern=r"^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521)) [A-Za-z0-9+/=]+( \S*)?$",
        max_length=4000,
        description="The server's public key, an OpenSSH line (`ssh-ed25519 AAAA...`).",
    )
    private_key_setting: str | None = Field(default=None, pattern=SETTING_NAME)
    password_setting: str | None = Field(default=None, pattern=SETTING_NAME)

    @model_validator(mode="after")
    def _one_credential(self) -> SftpDestination:
        if (self.private_key_setting is None) == (self.password_setting is None):
            raise ValueError(
                "name exactly one of private_key_setting (the setting holding the private "
                "key) and password_setting"
            )
        return self

    @property
    def where(self) -> str:
        return f"sftp://{self.username}@{self.host}:{self.port}/{self.folder.rstrip('/')}/"


class S3Destination(BaseModel):
    """An S3 bucket (or an S3-compatible endpoint) the import workflow reads."""

    kind: Literal["s3"] = "s3"
    bucket: str = Field(pattern=r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
    prefix: str = Field(default="d365_loads/", pattern=r"^([A-Za-z0-9._-]+/)*$", max_length=200)
    region: str = Field(default="us-east-1", pattern=r"^[a-z0-9-]{2,32}$")
    endpoint_url: str | None = Field(default=None, pattern=r"^https?://\S+$", max_length=300)
    access_key_id_setting: str | None = Field(default=None, pattern=SETTING_NAME)
    secret_access_key_setting: str | None = Field(default=None, pattern=SETTING_NAME)

    @model_validator(mode="after")
    def _both_or_neither(self) -> S3Destination:
        if (self.access_key_id_setting is None) != (self.secret_access_key_setting is None):
            raise ValueError(
                "name both access_key_id_setting and secret_access_key_setting, or neither "
                "(then boto3's own credential chain)"
            )
        return self

    @property
    def where(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}"


Destination = Annotated[SftpDestination | S3Destination, Field(discriminator="kind")]


class FileDropSettings(BaseModel):
    destination: Destination
    workflow_id: str = Field(pattern=WORKFLOW_ID, description="The import workflow (its id).")
    signal_activity: str = Field(
        default="signal", pattern=r"^[A-Za-z0-9_]{1,64}$", description="Its External signal."
    )
    threshold: int = Field(default=DEFAULT_THRESHOLD, ge=1)
    separator: Literal["\t", ";"] = "\t"
    gzip: bool = False
    part_size: int = Field(default=16 * MIB, ge=64 * 1024, le=512 * MIB)

    @model_validator(mode="after")
    def _s3_part_size(self) -> FileDropSettings:
        if isinstance(self.destination, S3Destination) and self.part_size < S3_MIN_PART:
            raise ValueError(f"an S3 drop needs a part_size of at least {S3_MIN_PART} (5 MiB)")
        return self


class FileDropRepository:
    TABLE: ClassVar[str] = "AdobeFileDrop"
    WRITES: ClassVar[tuple[str, ...]] = ("save", "clear")

    def __init__(self, table: TableClient) -> None:
        self._table = table

    def load(self, account_id: str) -> FileDropSettings | None:
        try:
            row = self._table.get_entity(account_id, SETTINGS_ROW)
        except ResourceNotFoundError:
            return None
        return FileDropSettings.model_validate_json(str(row["Settings"]))

    def save(self, account_id: str, settings: FileDropSettings) -> None:
        self._table.upsert_entity(
            {
                "PartitionKey": account_id,
                "RowKey": SETTINGS_ROW,
                # Readable columns for Storage Explorer; the JSON is what is read back.
                "Kind": settings.destination.kind,
                "Where": settings.destination.where,
                "WorkflowId": settings.workflow_id,
                "Threshold": settings.threshold,
                "Settings": settings.model_dump_json(),
            },
            mode=UpdateMode.REPLACE,
        )

    def clear(self, account_id: str) -> bool:
        existed = self.load(account_id) is not None
        self._table.delete_entity(account_id, SETTINGS_ROW)
        return existed
