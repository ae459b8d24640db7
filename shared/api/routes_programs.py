"""Programs access (which programs CRM users may enrol in, Mapped Users Only) and user mappings
(Dotdigital users <-> Dynamics users) of an email account."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path
from pydantic import BaseModel, Field

from shared.api.params import AccountId, Rt
from shared.api.problems import documented
from shared.service import programs
from shared.service.programs import Changed, ProgramsView, UsersView
from shared.storage.programs_repo import UserMapping

router = APIRouter(prefix="/accounts/{accountId}", tags=["programs"])

ProgramId = Annotated[int, Path(alias="programId", gt=0, description="The program's id")]
PlatformUserId = Annotated[
    int, Path(alias="platformUserId", gt=0, description="The Dotdigital user's id")
]
GUID = r"^\{?[0-9A-Fa-f]{8}-([0-9A-Fa-f]{4}-){3}[0-9A-Fa-f]{12}\}?$"


class MappedUsersOnly(BaseModel):
    enabled: bool


class NewUserMapping(BaseModel):
    dynamics_user_id: str = Field(pattern=GUID, description="The Dynamics systemuserid")


@router.get("/programs", responses=documented(404, 422))
def list_programs(rt: Rt, account_id: AccountId) -> ProgramsView:
    """Every program of the account, active and inactive, each saying whether it is allowed."""
    return programs.list_programs(rt, account_id)


@router.put("/programs/{programId}/allowed", responses=documented(404, 422))
def allow_program(rt: Rt, account_id: AccountId, program_id: ProgramId) -> Changed:
    """Allow an active program for CRM use; an inactive one is refused (422)."""
    return programs.allow_program(rt, account_id, program_id)


@router.delete("/programs/{programId}/allowed", responses=documented(404))
def disallow_program(rt: Rt, account_id: AccountId, program_id: ProgramId) -> Changed:
    return programs.disallow_program(rt, account_id, program_id)


@router.put("/programs/mapped-users-only", responses=documented(404))
def set_mapped_users_only(rt: Rt, account_id: AccountId, body: MappedUsersOnly) -> Changed:
    return programs.set_mapped_users_only(rt, account_id, body.enabled)


@router.get("/user-mappings", responses=documented(404, 422))
def list_user_mappings(rt: Rt, account_id: AccountId) -> UsersView:
    """The Dotdigital users with the Dynamics user mapped to each, and the Dynamics users."""
    return programs.list_users(rt, account_id)


@router.put("/user-mappings/{platformUserId}", responses=documented(404, 409, 422))
def map_user(
    rt: Rt, account_id: AccountId, platform_user_id: PlatformUserId, body: NewUserMapping
) -> UserMapping:
    """Map a Dotdigital user to a Dynamics user (both must exist; a Dynamics user is mapped to
    one Dotdigital user at most: 409)."""
    return programs.map_user(rt, account_id, platform_user_id, body.dynamics_user_id)


@router.delete("/user-mappings/{platformUserId}", responses=documented(404))
def unmap_user(rt: Rt, account_id: AccountId, platform_user_id: PlatformUserId) -> Changed:
    return programs.unmap_user(rt, account_id, platform_user_id)
