"""Composition root: builds repositories, the queue adapter and API clients from settings.

It sits below the capabilities (`shared.sync`) and the engine, above clients, storage and
messaging: sync types get it as their `services`, so it cannot name a capability's own
repositories; those come through `repository()`.
"""

from __future__ import annotations

import threading
from functools import cached_property, lru_cache
from typing import TYPE_CHECKING, ClassVar, Protocol, TypeVar, cast

from azure.data.tables import TableClient

from shared.accounts import EmailAccount
from shared.clock import Clock, utc_now
from shared.messaging.port import SyncQueue
from shared.settings import QueueBackend, Settings, get_settings
from shared.storage.accounts_repo import AccountRepository
from shared.storage.audit_repo import AuditRepository
from shared.storage.crm_fields_repo import CrmFieldRepository
from shared.storage.data_labels_repo import DataLabelRepository
from shared.storage.mappings_repo import MappingRepository
from shared.storage.schedules_repo import ScheduleRepository
from shared.storage.sync_state_repo import SyncStateRepository
from shared.storage.tables import Tables

if TYPE_CHECKING:
    import httpx

    from shared.clients.dataverse.client import DataverseClient
    from shared.clients.dotdigital.client import DotdigitalClient
    from shared.clients.retry import RetryPolicy
    from shared.engine.registry import SyncTypeRegistry


class TableRepository(Protocol):
    """A repository that a capability keeps for itself, over one of the product's tables."""

    TABLE: ClassVar[str]
    WRITES: ClassVar[tuple[str, ...]]  # the methods that write: a dry run records them instead

    def __init__(self, table: TableClient) -> None: ...


R = TypeVar("R", bound=TableRepository)


class Runtime:
    def __init__(
        self,
        settings: Settings,
        *,
        clock: Clock = utc_now,
        queue: SyncQueue | None = None,
        retry: RetryPolicy | None = None,
    ) -> None:
        self.settings = settings
        self.clock = clock
        self._queue = queue
        self._retry = retry
        self._lock = threading.Lock()
        self._dotdigital: dict[str, DotdigitalClient] = {}
        self._repositories: dict[type[TableRepository], TableRepository] = {}
        # The sync types the worker runs; None: the product's catalogue (tests inject theirs).
        self.registry: SyncTypeRegistry | None = None

    @cached_property
    def tables(self) -> Tables:
        return Tables.from_settings(self.settings)

    @cached_property
    def accounts(self) -> AccountRepository:
        return AccountRepository(self.tables.client("EmailAccounts"))

    @cached_property
    def schedules(self) -> ScheduleRepository:
        return ScheduleRepository(
            self.tables.client("SyncSchedules"), self.tables.client("SyncDue")
        )

    @cached_property
    def audit(self) -> AuditRepository:
        return AuditRepository(
            self.tables.client("SyncAudit"), self.tables.client("SyncAuditDetails")
        )

    @cached_property
    def state(self) -> SyncStateRepository:
        return SyncStateRepository(self.tables.client("SyncState"))

    @cached_property
    def crm_fields(self) -> CrmFieldRepository:
        return CrmFieldRepository(self.tables.client("CrmFields"))

    @cached_property
    def data_labels(self) -> DataLabelRepository:
        return DataLabelRepository(self.tables.client("EmailDataLabels"))

    @cached_property
    def mappings(self) -> MappingRepository:
        return MappingRepository(self.tables.client("EmailDataMappings"))

    def repository(self, kind: type[R]) -> R:
        """The runtime's one instance of a capability's repository (tests wrap its methods)."""
        with self._lock:
            repo = self._repositories.get(kind)
            if repo is None:
                repo = self._repositories[kind] = kind(self.tables.client(kind.TABLE))
            return cast(R, repo)

    @property
    def queue(self) -> SyncQueue:
        with self._lock:
            if self._queue is None:
                self._queue = self._build_queue()
            return self._queue

    def _build_queue(self) -> SyncQueue:
        if self.settings.queue_backend is QueueBackend.STORAGE_QUEUE:
            from shared.messaging.storage_queue import StorageQueueAdapter

            return StorageQueueAdapter.from_settings(self.settings)
        from shared.messaging.service_bus import ServiceBusAdapter

        return ServiceBusAdapter.from_settings(self.settings)

    @cached_property
    def retry(self) -> RetryPolicy:
        from shared.clients.retry import RetryPolicy

        return self._retry or RetryPolicy.from_settings(self.settings)

    @cached_property
    def http(self) -> httpx.Client:
        """One connection pool for the platform APIs (Dataverse keeps its own for msal)."""
        import ssl

        import httpx

        verify: ssl.SSLContext | bool = True
        if self.settings.http_ca_bundle is not None:
            verify = ssl.create_default_context(cafile=str(self.settings.http_ca_bundle))
        return httpx.Client(timeout=self.settings.http_timeout_seconds, verify=verify)

    @cached_property
    def _dataverse(self) -> DataverseClient:
        from shared.clients.dataverse.client import DataverseClient

        return DataverseClient.from_settings(
            self.settings,
            retry=self.retry,
            max_concurrency=self.settings.dataverse_max_concurrency,
        )

    def dataverse(self) -> DataverseClient:
        with self._lock:
            return self._dataverse

    def platform_client(self, account: EmailAccount) -> object:
        """The API client of the account's platform (the port sync types reach it through)."""
        from shared.accounts import Platform
        from shared.errors import ConfigurationError

        if account.platform is Platform.DOTDIGITAL:
            return self._dotdigital_client(account)
        raise ConfigurationError(
            f"{account.platform.value} accounts are not supported by this version of the "
            f"connector (email account '{account.name}')"
        )

    def _dotdigital_client(self, account: EmailAccount) -> DotdigitalClient:
        from shared.clients.dotdigital.client import DotdigitalClient
        from shared.secrets import resolve_secret

        with self._lock:
            client = self._dotdigital.get(account.account_id)
            if client is None:
                password = resolve_secret(
                    account.api_password_secret_name,
                    self.settings,
                    owner=f"email account '{account.name}'",
                )
                client = DotdigitalClient.connect(
                    self.settings.dotdigital_discovery_url,
                    account.api_user,
                    password,
                    http=self.http,
                    retry=self.retry,
                )
                self._dotdigital[account.account_id] = client
            return client


_installed: Runtime | None = None


@lru_cache(maxsize=1)
def _from_environment() -> Runtime:
    return Runtime(get_settings())


def get_runtime() -> Runtime:
    """One runtime per Functions worker process: clients and token caches are reused."""
    return _installed or _from_environment()


def install_runtime(runtime: Runtime | None) -> None:
    """Make the functions use `runtime` (the local host and tests); None restores the default."""
    global _installed
    _installed = runtime
