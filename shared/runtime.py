"""Composition root: builds repositories, the queue adapter and API clients from settings.

It sits below the capabilities (`shared.sync`) and the engine, above clients, storage and
messaging: sync types get it as their `services`, so it cannot name a capability's own
repositories; those come through `repository()`.
"""

from __future__ import annotations

import atexit
import threading
from collections.abc import Callable, Hashable
from concurrent.futures import Future
from functools import cached_property, lru_cache
from typing import TYPE_CHECKING, ClassVar, Generic, Protocol, TypeVar, cast

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
from shared.storage.webhook_inbox import WebhookEvents, WebhookTargets
from shared.storage.webhook_registrations import WebhookRegistrations

if TYPE_CHECKING:
    import httpx

    from shared.clients.adobe.client import AdobeCampaignClient
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
K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class OncePerKey(Generic[K, V]):
    """Builds and keeps one value per key, without holding a lock while it builds.

    Building a client can take minutes of network I/O (a connect retrying an API that is
    down), so the lock only guards the table of builds: callers asking for a key being built
    wait for that one build (and share its outcome), callers of other keys never wait. A
    failed build is forgotten, so the next caller tries again.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._builds: dict[K, Future[V]] = {}

    def get(self, key: K, build: Callable[[], V]) -> V:
        with self._lock:
            future = self._builds.get(key)
            building = future is None
            if future is None:
                future = self._builds[key] = Future()
        if not building:
            return future.result()
        try:
            value = build()
        except BaseException as error:
            with self._lock:
                del self._builds[key]
            future.set_exception(error)
            raise
        future.set_result(value)
        return value

    def forget(self, key: K) -> None:
        """Forget one key's value (the next call builds it again)."""
        with self._lock:
            self._builds.pop(key, None)

    def built(self) -> list[V]:
        """The values built successfully so far (none is built by asking)."""
        with self._lock:
            futures = list(self._builds.values())
        return [f.result() for f in futures if f.done() and f.exception() is None]

    def clear(self) -> None:
        """Forget every value built (the next call of each key builds it again)."""
        with self._lock:
            self._builds.clear()


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
        # Clients and repositories are built on first use, each on its own: one that is slow
        # to build (an account whose API is down) never holds up the others.
        self._dotdigital: OncePerKey[str, DotdigitalClient] = OncePerKey()
        self._adobe: OncePerKey[str, AdobeCampaignClient] = OncePerKey()
        self._repositories: OncePerKey[type[TableRepository], TableRepository] = OncePerKey()
        self._singletons: OncePerKey[str, object] = OncePerKey()
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
        return DataLabelRepository(self.tables.client("EmailDataLabels"), self.clock)

    @cached_property
    def mappings(self) -> MappingRepository:
        return MappingRepository(self.tables.client("EmailDataMappings"))

    @cached_property
    def webhook_events(self) -> WebhookEvents:
        return WebhookEvents(self.tables.client(WebhookEvents.TABLE))

    @cached_property
    def webhook_targets(self) -> WebhookTargets:
        return WebhookTargets(self.tables.client(WebhookTargets.TABLE))

    @cached_property
    def webhook_registrations(self) -> WebhookRegistrations:
        return WebhookRegistrations(self.tables.client(WebhookRegistrations.TABLE))

    def repository(self, kind: type[R]) -> R:
        """The runtime's one instance of a capability's repository (tests wrap its methods)."""
        repo = self._repositories.get(kind, lambda: kind(self.tables.client(kind.TABLE)))
        return cast(R, repo)

    @property
    def queue(self) -> SyncQueue:
        if self._queue is None:
            self._queue = cast(SyncQueue, self._singletons.get("queue", self._build_queue))
        return self._queue

    def close(self) -> None:
        """Release connections at shutdown: the queue's (the Service Bus sender and client)
        and the API clients' pools (so servers see no idle keep-alive connections left)."""
        queue, self._queue = self._queue, None
        self._singletons.forget("queue")
        if queue is not None:
            queue.close()
        for client in self._singletons.built():
            if client is not queue and hasattr(client, "close"):
                client.close()
        self._singletons.clear()
        self._dotdigital.clear()
        self._adobe.clear()

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

    def use_clients(
        self, *, http: httpx.Client | None = None, dataverse: DataverseClient | None = None
    ) -> None:
        """Clients built by the caller (a bench counting their calls), before first use."""
        if http is not None:
            self._singletons.get("http", lambda: http)
        if dataverse is not None:
            self._singletons.get("dataverse", lambda: dataverse)

    @property
    def http(self) -> httpx.Client:
        """One connection pool for the platform APIs (Dataverse keeps its own for msal)."""
        return cast("httpx.Client", self._singletons.get("http", self._build_http))

    def _build_http(self) -> httpx.Client:
        import ssl

        verify: ssl.SSLContext | bool = True
        if self.settings.http_ca_bundle is not None:
            verify = ssl.create_default_context(cafile=str(self.settings.http_ca_bundle))
        from shared.telemetry.http import traced_client

        return traced_client(timeout=self.settings.http_timeout_seconds, verify=verify)

    def _build_dataverse(self) -> DataverseClient:
        from shared.clients.dataverse.client import DataverseClient

        return DataverseClient.from_settings(
            self.settings,
            retry=self.retry,
            max_concurrency=self.settings.dataverse_max_concurrency,
        )

    def dataverse(self) -> DataverseClient:
        return cast("DataverseClient", self._singletons.get("dataverse", self._build_dataverse))

    def platform_client(self, account: EmailAccount) -> object:
        """The API client of the account's platform (the port sync types reach it through)."""
        from shared.accounts import Platform
        from shared.errors import ConfigurationError

        if account.platform is Platform.DOTDIGITAL:
            return self._dotdigital_client(account)
        if account.platform is Platform.ADOBE_CAMPAIGN:
            return self.adobe_client(account)
        raise ConfigurationError(
            f"{account.platform.value} accounts are not supported by this version of the "
            f"connector (email account '{account.name}')"
        )

    def _dotdigital_client(self, account: EmailAccount) -> DotdigitalClient:
        from shared.clients.dotdigital.client import DotdigitalClient
        from shared.secrets import resolve_secret

        def connect() -> DotdigitalClient:
            password = resolve_secret(
                account.api_password_secret_name,
                self.settings,
                owner=f"email account '{account.name}'",
            )
            return DotdigitalClient.connect(
                self.settings.dotdigital_discovery_url,
                account.api_user,
                password,
                http=self.http,
                retry=self.retry,
            )

        return self._dotdigital.get(account.account_id, connect)

    def adobe_client(self, account: EmailAccount, *, cached: bool = True) -> AdobeCampaignClient:
        """The account's ACS client (its token cached with it); `cached=False`: a new one from
        the settings stored now (Test Connection). Building does no I/O."""
        from shared.clients.adobe.client import AdobeCampaignClient
        from shared.errors import ConfigurationError
        from shared.secrets import resolve_secret

        connection = account.adobe
        if connection is None:
            raise ConfigurationError(
                f"Email account '{account.name}' has no Adobe Campaign connection settings"
            )

        def build() -> AdobeCampaignClient:
            secret = resolve_secret(
                connection.client_secret_name,
                self.settings,
                owner=f"email account '{account.name}'",
            )
            return AdobeCampaignClient.connect(
                connection.base_url,
                connection.ims_url,
                connection.client_id,
                secret,
                connection.scopes,
                http=self.http,
                retry=self.retry,
            )

        return self._adobe.get(account.account_id, build) if cached else build()


_installed: Runtime | None = None


@lru_cache(maxsize=1)
def _from_environment() -> Runtime:
    runtime = Runtime(get_settings())
    # The Functions Python model has no shutdown hook: close when the worker process exits.
    atexit.register(runtime.close)
    return runtime


def get_runtime() -> Runtime:
    """One runtime per Functions worker process: clients and token caches are reused."""
    return _installed or _from_environment()


def install_runtime(runtime: Runtime | None) -> None:
    """Make the functions use `runtime` (the local host and tests); None restores the default."""
    global _installed
    _installed = runtime
