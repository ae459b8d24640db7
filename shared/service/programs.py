"""Programs access and user mapping of an email account: which platform programs CRM users may
enrol contacts and leads in (only active ones can be allowed), whether only mapped users may,
and which platform user each Dynamics system user is."""

from __future__ import annotations

from pydantic import BaseModel

from shared.clients.dotdigital.client import DotdigitalClient
from shared.clients.dotdigital.programs import AccountUser, Program
from shared.errors import BadInputError, ConfigurationError, ConflictError, NotFoundError
from shared.pipeline import admin
from shared.runtime import Runtime
from shared.storage.programs_repo import (
    AllowedProgram,
    ProgramAccessRepository,
    UserMapping,
    UserMappingRepository,
)

ACTIVE = "Active"
SYSTEM_USERS = "systemusers"
USER_COLUMNS = ("systemuserid", "fullname", "internalemailaddress", "isdisabled")


class ProgramNotFound(NotFoundError):
    pass


class ProgramNotActive(BadInputError):
    pass


class UserNotFound(NotFoundError):
    pass


class UserUnusable(BadInputError):
    pass


class UserAlreadyMapped(ConflictError):
    pass


class ProgramView(BaseModel):
    id: int
    name: str
    status: str  # the platform's: Active | Deactivated | Draft | ReadOnly | Missing
    allowed: bool


class ProgramsView(BaseModel):
    account_id: str
    mapped_users_only: bool
    programs: list[ProgramView]


class DynamicsUser(BaseModel):
    id: str
    name: str
    email: str
    disabled: bool


class PlatformUserView(BaseModel):
    id: int
    name: str
    email: str
    mapped_to: DynamicsUser | None


class UsersView(BaseModel):
    account_id: str
    platform_users: list[PlatformUserView]
    dynamics_users: list[DynamicsUser]


class Changed(BaseModel):
    message: str


class AccountUnusable(BadInputError):
    pass


def _platform(rt: Runtime, account_id: str) -> DotdigitalClient:
    account = admin.require_account(rt, account_id)
    try:
        client = rt.platform_client(account)
    except ConfigurationError as error:
        # The account's settings, not the connector: the administrator fixes and tests them.
        raise AccountUnusable(
            f"{error} Then check it with `accounts test {account_id}`."
        ) from error
    assert isinstance(client, DotdigitalClient)  # the only platform this version supports
    return client


def access(rt: Runtime) -> ProgramAccessRepository:
    return rt.repository(ProgramAccessRepository)


def user_mappings(rt: Runtime) -> UserMappingRepository:
    return rt.repository(UserMappingRepository)


def list_programs(rt: Runtime, account_id: str) -> ProgramsView:
    """Every program of the account (active and inactive), each saying whether it is allowed;
    an allowed program the platform no longer has is listed as Missing."""
    platform = _platform(rt, account_id)
    allowed = {p.program_id: p for p in access(rt).allowed(account_id)}
    programs = [
        ProgramView(id=p.id, name=p.name, status=p.status, allowed=p.id in allowed)
        for p in platform.iter_programs()
    ]
    seen = {p.id for p in programs}
    programs += [
        ProgramView(id=p.program_id, name=p.name, status="Missing", allowed=True)
        for p in allowed.values()
        if p.program_id not in seen
    ]
    return ProgramsView(
        account_id=account_id,
        mapped_users_only=access(rt).mapped_users_only(account_id),
        programs=sorted(programs, key=lambda p: (p.status != ACTIVE, p.name.lower(), p.id)),
    )


def _program(platform: DotdigitalClient, account_id: str, program_id: int) -> Program:
    found = platform.get_program(program_id)
    if found is None:
        raise ProgramNotFound(
            f"No program {program_id} in the Dotdigital account of '{account_id}' "
            f"(see `programs list {account_id}`)."
        )
    return found


def allow_program(rt: Runtime, account_id: str, program_id: int) -> Changed:
    """Allow an active program for CRM use; an inactive one is refused."""
    program = _program(_platform(rt, account_id), account_id, program_id)
    if program.status != ACTIVE:
        raise ProgramNotActive(
            f"The program '{program.name}' ({program.id}) is {program.status} in Dotdigital: "
            f"only active programs can be allowed. Activate it in Dotdigital, then run "
            f"`programs allow {account_id} {program.id}` again."
        )
    access(rt).allow(
        account_id, AllowedProgram(program_id=program.id, name=program.name, allowed_utc=rt.clock())
    )
    return Changed(message=f"The program '{program.name}' ({program.id}) is allowed for CRM use.")


def disallow_program(rt: Runtime, account_id: str, program_id: int) -> Changed:
    admin.require_account(rt, account_id)
    allowed = {p.program_id: p for p in access(rt).allowed(account_id)}
    program = allowed.get(program_id)
    if program is None:
        raise ProgramNotFound(
            f"The program {program_id} is not allowed in '{account_id}': nothing to disallow "
            f"(see `programs list {account_id}`)."
        )
    access(rt).disallow(account_id, program_id)
    return Changed(
        message=f"The program '{program.name}' ({program_id}) is no longer allowed: new "
        "enrolment requests for it are refused."
    )


def set_mapped_users_only(rt: Runtime, account_id: str, enabled: bool) -> Changed:
    admin.require_account(rt, account_id)
    access(rt).set_mapped_users_only(account_id, enabled)
    if enabled:
        return Changed(
            message=f"Only mapped users may enrol contacts and leads in programs of "
            f"'{account_id}' (see `users list {account_id}`)."
        )
    return Changed(message=f"Every CRM user may enrol contacts and leads in '{account_id}'.")


# Users -------------------------------------------------------------------------------------


def dynamics_users(rt: Runtime) -> list[DynamicsUser]:
    rows = rt.dataverse().iter_records(SYSTEM_USERS, USER_COLUMNS)
    users = [
        DynamicsUser(
            id=str(row["systemuserid"]).lower(),
            name=str(row.get("fullname") or ""),
            email=str(row.get("internalemailaddress") or ""),
            disabled=bool(row.get("isdisabled")),
        )
        for row in rows
    ]
    return sorted(users, key=lambda u: (u.disabled, u.name.lower()))


def list_users(rt: Runtime, account_id: str) -> UsersView:
    """The platform's users, each with the Dynamics user mapped to it, and the Dynamics users."""
    platform = _platform(rt, account_id)
    mapped = {m.platform_user_id: m for m in user_mappings(rt).for_account(account_id)}
    people = dynamics_users(rt)
    by_id = {u.id: u for u in people}

    def mapped_to(user: AccountUser) -> DynamicsUser | None:
        mapping = mapped.get(user.id)
        if mapping is None:
            return None
        return by_id.get(mapping.dynamics_user_id) or DynamicsUser(
            id=mapping.dynamics_user_id,
            name=mapping.dynamics_user_name,
            email=mapping.dynamics_user_email,
            disabled=True,  # no longer in Dynamics
        )

    platform_users = [
        PlatformUserView(id=u.id, name=u.name, email=u.email, mapped_to=mapped_to(u))
        for u in platform.iter_account_users()
    ]
    return UsersView(account_id=account_id, platform_users=platform_users, dynamics_users=people)


def map_user(
    rt: Runtime, account_id: str, platform_user_id: int, dynamics_user_id: str
) -> UserMapping:
    """Map a platform user to a Dynamics system user (both must exist; one mapping each)."""
    platform = _platform(rt, account_id)
    platform_user = next((u for u in platform.iter_account_users() if u.id == platform_user_id),
                         None)  # fmt: skip
    if platform_user is None:
        raise UserNotFound(
            f"No Dotdigital user {platform_user_id} in '{account_id}' "
            f"(see `users list {account_id}`)."
        )
    wanted = dynamics_user_id.strip().strip("{}").lower()
    person = next((u for u in dynamics_users(rt) if u.id == wanted), None)
    if person is None:
        raise UserNotFound(f"No Dynamics user {dynamics_user_id} (see `users list {account_id}`).")
    if person.disabled:
        raise UserUnusable(f"The Dynamics user '{person.name}' is disabled: map an enabled user.")
    for other in user_mappings(rt).for_account(account_id):
        if other.dynamics_user_id == person.id and other.platform_user_id != platform_user_id:
            raise UserAlreadyMapped(
                f"The Dynamics user '{person.name}' is mapped to the Dotdigital user "
                f"'{other.platform_user_name}' already: unmap it first with "
                f"`users unmap {account_id} {other.platform_user_id}`."
            )
    mapping = UserMapping(
        platform_user_id=platform_user.id,
        platform_user_name=platform_user.name,
        platform_user_email=platform_user.email,
        dynamics_user_id=person.id,
        dynamics_user_name=person.name,
        dynamics_user_email=person.email,
        mapped_utc=rt.clock(),
    )
    user_mappings(rt).save(account_id, mapping)
    return mapping


def unmap_user(rt: Runtime, account_id: str, platform_user_id: int) -> Changed:
    admin.require_account(rt, account_id)
    mapping = user_mappings(rt).get(account_id, platform_user_id)
    if mapping is None:
        raise UserNotFound(
            f"The Dotdigital user {platform_user_id} is not mapped in '{account_id}' "
            f"(see `users list {account_id}`)."
        )
    user_mappings(rt).delete(account_id, platform_user_id)
    return Changed(
        message=f"Unmapped '{mapping.platform_user_name}' from '{mapping.dynamics_user_name}'."
    )
