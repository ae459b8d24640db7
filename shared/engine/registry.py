"""Which sync type runs for which (platform, sync type): the catalogue the worker, Sync Now and
schedule changes consult. `shared.sync.catalogue` builds the product's; tests build their own
(smaller page sizes, one type swapped) and hand it to the runtime."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from shared.accounts import Platform
from shared.engine.template import SyncTypeTemplate
from shared.errors import BadInputError
from shared.sync_types import SyncType


class NotAvailable(BadInputError):
    """The account's platform has no such sync type (in this version): Sync Now, a schedule
    change or a queued run asked for something this version does not offer."""


class SyncTypeRegistry:
    def __init__(self, types: Iterable[SyncTypeTemplate[Any]]) -> None:
        self._types: dict[tuple[Platform, SyncType], SyncTypeTemplate[Any]] = {}
        for sync_type in types:
            declared = sync_type.declaration
            for platform in declared.platforms:
                self._types[(platform, declared.sync_type)] = sync_type

    def get(self, platform: Platform, sync_type: SyncType) -> SyncTypeTemplate[Any]:
        found = self._types.get((platform, sync_type))
        if found is None:
            raise NotAvailable(
                f"{sync_type.value} is not available for {platform.value} accounts in this "
                "version of the connector"
            )
        return found

    def available(self, platform: Platform, sync_type: SyncType) -> bool:
        return (platform, sync_type) in self._types

    def sync_types(self, platform: Platform) -> list[SyncType]:
        return [t for p, t in self._types if p is platform]

    def replaced(self, *types: SyncTypeTemplate[Any]) -> SyncTypeRegistry:
        """A copy with these instances in place of the ones with the same key."""
        merged = dict(self._types)
        for sync_type in types:
            for platform in sync_type.declaration.platforms:
                merged[(platform, sync_type.declaration.sync_type)] = sync_type
        copy = SyncTypeRegistry(())
        copy._types = merged
        return copy

    def without(self, *sync_types: SyncType) -> SyncTypeRegistry:
        """A copy without these types (a test's stand-in for a version that lacks them)."""
        copy = SyncTypeRegistry(())
        copy._types = {key: t for key, t in self._types.items() if key[1] not in sync_types}
        return copy
