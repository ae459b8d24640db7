"""What every admin route shares: the runtime (a dependency, so tests install their own with
`install_runtime`) and the path parameters, checked before any storage call."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path

from shared.runtime import Runtime, get_runtime
from shared.sync_types import SyncType


def runtime() -> Runtime:
    return get_runtime()


Rt = Annotated[Runtime, Depends(runtime)]

# An account id as EmailAccount allows it: anything else cannot name an account, and a Table
# key may not hold / \ # ? or control characters.
ACCOUNT_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9-]{0,62}$"
AccountId = Annotated[
    str,
    Path(
        alias="accountId",
        pattern=ACCOUNT_ID_PATTERN,
        description="Email account id",
        examples=["demo"],  # the account `make demo` adds
    ),
]
SyncTypePath = Annotated[SyncType, Path(alias="syncType", description="Sync type")]
