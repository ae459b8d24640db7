"""Program access and user mappings per email account, as an administrator set them.

ProgramAccess: PartitionKey = account id; one row per program allowed for CRM use
(RowKey `program-<id>`, with its name as the platform gave it) and one `settings` row (the
"Mapped Users Only" flag). UserMappings: PartitionKey = account id, RowKey `user-<platform
user id>`: one row per platform user mapped to a Dynamics system user, with both names and
emails, so Storage Explorer reads who is who without a lookup.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from azure.core.exceptions import ResourceNotFoundError
from azure.data.tables import TableClient, TableEntity, UpdateMode
from pydantic import BaseModel, Field

from shared.storage.entities import aware

SETTINGS_ROW = "settings"


class AllowedProgram(BaseModel):
    program_id: int = Field(gt=0)
    name: str
    allowed_utc: datetime | None = None


class UserMapping(BaseModel):
    platform_user_id: int = Field(gt=0)
    platform_user_name: str = ""
    platform_user_email: str = ""
    dynamics_user_id: str = Field(min_length=1)  # the systemuserid (a GUID, lower case)
    dynamics_user_name: str = ""
    dynamics_user_email: str = ""
    mapped_utc: datetime | None = None


def _program_key(program_id: int) -> str:
    return f"program-{program_id}"


def _user_key(platform_user_id: int) -> str:
    return f"user-{platform_user_id}"


class ProgramAccessRepository:
    TABLE: ClassVar[str] = "ProgramAccess"
    WRITES: ClassVar[tuple[str, ...]] = ("allow", "disallow", "set_mapped_users_only")

    def __init__(self, table: TableClient) -> None:
        self._table = table

    def allowed(self, account_id: str) -> list[AllowedProgram]:
        rows = self._table.query_entities(
            "PartitionKey eq @pk and RowKey ge 'program-' and RowKey lt 'program.'",
            parameters={"pk": account_id},
        )
        return sorted((_program(row) for row in rows), key=lambda p: p.program_id)

    def allow(self, account_id: str, program: AllowedProgram) -> None:
        entity: dict[str, Any] = {
            "PartitionKey": account_id,
            "RowKey": _program_key(program.program_id),
            "ProgramId": program.program_id,
            "Name": program.name,
        }
        if program.allowed_utc is not None:
            entity["AllowedUtc"] = program.allowed_utc
        self._table.upsert_entity(entity, mode=UpdateMode.REPLACE)

    def disallow(self, account_id: str, program_id: int) -> None:
        """Remove the program's row; a program not allowed is not an error."""
        self._table.delete_entity(account_id, _program_key(program_id))

    def mapped_users_only(self, account_id: str) -> bool:
        try:
            row = self._table.get_entity(account_id, SETTINGS_ROW)
        except ResourceNotFoundError:
            return False
        return bool(row.get("MappedUsersOnly", False))

    def set_mapped_users_only(self, account_id: str, value: bool) -> None:
        entity = {"PartitionKey": account_id, "RowKey": SETTINGS_ROW, "MappedUsersOnly": value}
        self._table.upsert_entity(entity, mode=UpdateMode.MERGE)


def _program(row: TableEntity) -> AllowedProgram:
    return AllowedProgram(
        program_id=int(row["ProgramId"]),
        name=str(row.get("Name", "")),
        allowed_utc=aware(row.get("AllowedUtc")),
    )


class UserMappingRepository:
    TABLE: ClassVar[str] = "UserMappings"
    WRITES: ClassVar[tuple[str, ...]] = ("save", "delete")

    def __init__(self, table: TableClient) -> None:
        self._table = table

    def for_account(self, account_id: str) -> list[UserMapping]:
        rows = self._table.query_entities("PartitionKey eq @pk", parameters={"pk": account_id})
        return sorted((_mapping(row) for row in rows), key=lambda m: m.platform_user_id)

    def get(self, account_id: str, platform_user_id: int) -> UserMapping | None:
        try:
            return _mapping(self._table.get_entity(account_id, _user_key(platform_user_id)))
        except ResourceNotFoundError:
            return None

    def save(self, account_id: str, mapping: UserMapping) -> None:
        entity: dict[str, Any] = {
            "PartitionKey": account_id,
            "RowKey": _user_key(mapping.platform_user_id),
            "PlatformUserId": mapping.platform_user_id,
            "PlatformUserName": mapping.platform_user_name,
            "PlatformUserEmail": mapping.platform_user_email,
            "DynamicsUserId": mapping.dynamics_user_id.lower(),
            "DynamicsUserName": mapping.dynamics_user_name,
            "DynamicsUserEmail": mapping.dynamics_user_email,
        }
        if mapping.mapped_utc is not None:
            entity["MappedUtc"] = mapping.mapped_utc
        self._table.upsert_entity(entity, mode=UpdateMode.REPLACE)

    def delete(self, account_id: str, platform_user_id: int) -> None:
        self._table.delete_entity(account_id, _user_key(platform_user_id))


def _mapping(row: TableEntity) -> UserMapping:
    return UserMapping(
        platform_user_id=int(row["PlatformUserId"]),
        platform_user_name=str(row.get("PlatformUserName", "")),
        platform_user_email=str(row.get("PlatformUserEmail", "")),
        dynamics_user_id=str(row["DynamicsUserId"]),
        dynamics_user_name=str(row.get("DynamicsUserName", "")),
        dynamics_user_email=str(row.get("DynamicsUserEmail", "")),
        mapped_utc=aware(row.get("MappedUtc")),
    )
