"""Dataverse Web API client (app-only auth through Entra ID with msal).

`DataverseClient` is the one object the sync types use; each concern lives in its own module:

| module | what |
|---|---|
| `auth` | `MsalTokenProvider`: client-credentials tokens cached by msal |
| `transport` | headers, token refresh on 401, retries, concurrency cap, errors |
| `odata` | names, keys, query strings, Prefer, entity ids |
| `paging` | `$select` + `odata.maxpagesize` reads following `@odata.nextLink` |
| `changes` | change tracking: delta links, `$deletedEntity`, fallback to full reads |
| `batch` | `$batch` multipart, change sets, continue-on-error, per-request results |
| `writes` | create, update (If-Match), upsert by alternate key, delete, retrieve |
| `bulk` | many records of one table: CreateMultiple / UpdateMultiple / UpsertMultiple |
| `fetchxml` | FetchXML queries paged with paging cookies |
| `lists` | marketing lists, static and dynamic members, add/remove members |
| `activities` | notes and activities with the right `@odata.bind` names |
| `metadata` | table columns (`EntityDefinitions`) |
| `customization` | metadata writes (tables, columns, lookups) in a solution |
| `plugin_registration` | WhoAmI, webhook service endpoints, steps and images |

Page reads resume: every page says where the read continues (`page.resume`, a small
JSON-safe pydantic model, None after the last page), and every page iterator takes such a
position (`resume=`) to continue with the next page without reading the earlier ones.

Errors: `ApiError(status, code)` for what the service refused, `PreconditionFailed` (412),
`AuthenticationError`, `RetriesExhausted` after the bounded retries (it names the operation),
`OutcomeUnknown` when a create lost its answer.
"""

from __future__ import annotations

import ssl
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from functools import cached_property
from types import TracebackType
from typing import Any

import httpx

from shared.clients.dataverse import (
    activities,
    batch,
    bulk,
    changes,
    fetchxml,
    lists,
    metadata,
    paging,
    writes,
)
from shared.clients.dataverse.auth import (
    AzureCliTokenProvider,
    MsalTokenProvider,
    TokenProvider,
)
from shared.clients.dataverse.batch import BatchItem, BatchOutcome, BatchResult
from shared.clients.dataverse.bulk import BulkOutcome
from shared.clients.dataverse.changes import ChangeFeed, ChangePosition
from shared.clients.dataverse.fetchxml import FetchXmlPage, FetchXmlPosition
from shared.clients.dataverse.lists import MarketingList, MemberPage, MemberPosition, MemberType
from shared.clients.dataverse.metadata import CrmAttribute
from shared.clients.dataverse.odata import MAX_PAGE_SIZE, Key
from shared.clients.dataverse.paging import LinkPosition, Page, Record
from shared.clients.dataverse.plugin_registration import PluginRegistration
from shared.clients.dataverse.transport import (
    API_PATH,
    DEFAULT_MAX_CONCURRENCY,
    ODATA_HEADERS,
    DataverseTransport,
)
from shared.clients.dataverse.writes import CreatedRecord
from shared.clients.retry import RetryPolicy
from shared.errors import ConfigurationError
from shared.settings import DataverseCredential, Settings
from shared.telemetry.http import traced_client

__all__ = [
    "API_PATH",
    "DEFAULT_MAX_CONCURRENCY",
    "ODATA_HEADERS",
    "CrmAttribute",
    "DataverseClient",
    "MsalTokenProvider",
    "TokenProvider",
]


class DataverseClient:
    def __init__(
        self,
        org_url: str,
        tokens: TokenProvider,
        *,
        http: httpx.Client,
        retry: RetryPolicy,
        owns_http: bool = False,
        max_concurrency: int = DEFAULT_MAX_CONCURRENCY,
    ) -> None:
        self.transport = DataverseTransport(
            org_url, tokens, http=http, retry=retry, max_concurrency=max_concurrency
        )
        self.org_url = self.transport.org_url
        self.api_url = self.transport.api_url
        self._http = http
        self._owns_http = owns_http

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        *,
        retry: RetryPolicy | None = None,
        http: httpx.Client | None = None,
        max_concurrency: int = DEFAULT_MAX_CONCURRENCY,
    ) -> DataverseClient:
        """A client for the environment in the DATAVERSE_* settings (HTTP_CA_BUNDLE honoured)."""
        url, sign_in = _sign_in(settings)  # settings checked before anything is built
        owns_http = http is None
        if http is None:
            verify: ssl.SSLContext | bool = True
            if settings.http_ca_bundle is not None:
                verify = ssl.create_default_context(cafile=str(settings.http_ca_bundle))
            http = traced_client(
                timeout=settings.http_timeout_seconds, verify=verify, default_platform="dataverse"
            )
        tokens = sign_in(http)
        return cls(
            url,
            tokens,
            http=http,
            retry=retry or RetryPolicy.from_settings(settings),
            owns_http=owns_http,
            max_concurrency=max_concurrency,
        )

    def close(self) -> None:
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> DataverseClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def max_concurrency(self) -> int:
        return self.transport.max_concurrency

    @cached_property
    def plugin_registration(self) -> PluginRegistration:
        """WhoAmI and the org's webhook registrations (service endpoints, steps, images)."""
        return PluginRegistration(self.transport)

    # Metadata -----------------------------------------------------------------------------

    def entity_attributes(self, logical_name: str) -> list[CrmAttribute]:
        """The columns of a table (contact, lead, account, ...), display name falling back to
        the logical name when the column has no label."""
        return metadata.entity_attributes(self.transport, logical_name)

    def total_record_count(self, logical_name: str) -> int:
        """The table's number of records (RetrieveTotalRecordCount: a snapshot taken within
        the last 24 hours, not capped at 5,000 as `$count` is)."""
        return metadata.total_record_count(self.transport, logical_name)

    def table_info(self, logical_name: str) -> metadata.TableInfo | None:
        """The table's primary key, change tracking and activity flags; None if no such table."""
        return metadata.table_info(self.transport, logical_name)

    def lookup_targets(self, logical_name: str) -> dict[str, tuple[str, ...]]:
        """Lookup column -> the tables it can point to (one metadata call per table)."""
        return metadata.lookup_targets(self.transport, logical_name)

    # Reads --------------------------------------------------------------------------------

    def iter_pages(
        self,
        entity_set: str,
        select: Sequence[str],
        *,
        filter: str | None = None,
        page_size: int = MAX_PAGE_SIZE,
        resume: LinkPosition | None = None,
        order_by: str | None = None,
        count: bool = False,
    ) -> Iterator[Page]:
        """The rows of `entity_set` page by page (`$select` always, `odata.maxpagesize`), from
        the first page or from `resume` (a page's `resume`, with the same query); `order_by` is
        a `$orderby` value, `count` asks for `@odata.count` (`Page.count`) on the first page."""
        return paging.iter_pages(
            self.transport,
            entity_set,
            select,
            filter=filter,
            page_size=page_size,
            resume=resume,
            order_by=order_by,
            count=count,
        )

    def iter_records(
        self,
        entity_set: str,
        select: Sequence[str],
        *,
        filter: str | None = None,
        page_size: int = MAX_PAGE_SIZE,
    ) -> Iterator[Record]:
        for page in self.iter_pages(entity_set, select, filter=filter, page_size=page_size):
            yield from page.records

    def read_changes(
        self,
        entity_set: str,
        select: Sequence[str],
        delta_link: str | None,
        *,
        page_size: int = MAX_PAGE_SIZE,
        resume: ChangePosition | None = None,
        formatted_values: bool = False,
    ) -> ChangeFeed:
        """Rows changed and deleted since `delta_link` (None: a first, full read), or the rest
        of an interrupted change read from `resume`. The first page is requested now, so
        `full_resync_reason` is known on return. `formatted_values`: with choice labels and
        lookups' tables."""
        return changes.read_changes(
            self.transport, entity_set, select, delta_link, page_size=page_size, resume=resume,
            formatted_values=formatted_values,
        )  # fmt: skip

    def iter_fetchxml_pages(
        self,
        entity_set: str,
        fetch_xml: str,
        *,
        select: Sequence[str] | None = None,
        page_size: int = MAX_PAGE_SIZE,
        resume: FetchXmlPosition | None = None,
    ) -> Iterator[FetchXmlPage]:
        """The query's rows page by page (paging cookies), from page 1 or from `resume`.
        `select` takes Web API names (`_x_value` for a lookup)."""
        return fetchxml.iter_fetchxml_pages(
            self.transport,
            entity_set,
            fetch_xml,
            select=select,
            page_size=page_size,
            resume=resume,
        )

    def retrieve(
        self, entity_set: str, key: Key, select: Sequence[str], *, formatted_values: bool = False
    ) -> Record | None:
        """One row with its `@odata.etag`, by id or alternate key; None if missing.
        `formatted_values`: with the choices' labels and lookups' tables."""
        return writes.retrieve(
            self.transport, entity_set, key, select, formatted_values=formatted_values
        )

    # Writes -------------------------------------------------------------------------------

    def create(
        self,
        entity_set: str,
        data: Mapping[str, Any],
        *,
        return_representation: bool = False,
        select: Sequence[str] | None = None,
    ) -> CreatedRecord:
        return writes.create(
            self.transport,
            entity_set,
            data,
            return_representation=return_representation,
            select=select,
        )

    def update(
        self,
        entity_set: str,
        key: Key,
        data: Mapping[str, Any],
        *,
        if_match: str | None = None,
    ) -> None:
        """Update an existing row (never creates). With `if_match` (an ETag read earlier) a
        row changed since raises `PreconditionFailed`."""
        writes.update(self.transport, entity_set, key, data, if_match=if_match)

    def upsert(
        self,
        entity_set: str,
        key: Key,
        data: Mapping[str, Any],
        *,
        create_only: bool = False,
    ) -> str | None:
        """Update the row with this id / alternate key, or create it. Returns its id."""
        return writes.upsert(self.transport, entity_set, key, data, create_only=create_only)

    def delete(self, entity_set: str, key: Key, *, if_match: str | None = None) -> None:
        writes.delete(self.transport, entity_set, key, if_match=if_match)

    def create_multiple(
        self,
        entity_set: str,
        records: Sequence[tuple[str | None, Mapping[str, Any]]],
        *,
        chunk_size: int = bulk.DEFAULT_CHUNK_SIZE,
        via_batch: bool | None = None,
    ) -> BulkOutcome:
        """Create (id or None, columns) records with CreateMultiple (`$batch` on tables without
        it). Give every record its id to make a lost answer safe to resend: a replay then
        finds the id taken (`BulkFailure.taken`) and never creates a second record."""
        return bulk.write_multiple(
            self.transport,
            entity_set,
            "CreateMultiple",
            records,
            chunk_size=chunk_size,
            via_batch=via_batch,
        )

    def update_multiple(
        self,
        entity_set: str,
        records: Sequence[tuple[Key, Mapping[str, Any]]],
        *,
        chunk_size: int = bulk.DEFAULT_CHUNK_SIZE,
        via_batch: bool | None = None,
    ) -> BulkOutcome:
        """Update existing (key, changed columns) records with UpdateMultiple; records that
        Dataverse refuses are isolated and reported in `failures`, the others written."""
        return bulk.write_multiple(
            self.transport,
            entity_set,
            "UpdateMultiple",
            records,
            chunk_size=chunk_size,
            via_batch=via_batch,
        )

    def upsert_multiple(
        self,
        entity_set: str,
        records: Sequence[tuple[Key, Mapping[str, Any]]],
        *,
        chunk_size: int = bulk.DEFAULT_CHUNK_SIZE,
        via_batch: bool | None = None,
    ) -> BulkOutcome:
        """Create or update (id or alternate key, columns) records with UpsertMultiple."""
        return bulk.write_multiple(
            self.transport,
            entity_set,
            "UpsertMultiple",
            records,
            chunk_size=chunk_size,
            via_batch=via_batch,
        )

    def execute_batch(
        self,
        items: Sequence[BatchItem],
        *,
        continue_on_error: bool = True,
        max_batch_size: int = batch.MAX_BATCH_REQUESTS,
    ) -> BatchOutcome:
        """Send requests and change sets in `$batch` calls of at most `max_batch_size`
        requests; one `BatchResult` per request."""
        return batch.execute_batch(
            self.transport,
            items,
            continue_on_error=continue_on_error,
            max_batch_size=max_batch_size,
        )

    def batch_rows(self, result: BatchResult, label: str) -> list[Record]:
        """The rows a `$batch` GET answered, following a nextLink should it ever match more
        rows than one page holds."""
        body: Any = result.body
        rows: list[Record] = list(body.get("value") or []) if isinstance(body, dict) else []
        next_link = body.get("@odata.nextLink") if isinstance(body, dict) else None
        if next_link:
            for page in paging.iter_collection(self.transport, str(next_link), label=label):
                rows.extend(page.records)
        return rows

    # Marketing lists ----------------------------------------------------------------------

    def iter_marketing_lists(
        self, *, active_only: bool = True, page_size: int = MAX_PAGE_SIZE
    ) -> Iterator[MarketingList]:
        return lists.iter_marketing_lists(
            self.transport, active_only=active_only, page_size=page_size
        )

    def get_marketing_list(self, list_id: str) -> MarketingList | None:
        return lists.get_marketing_list(self.transport, list_id)

    def iter_list_members(
        self,
        marketing_list: MarketingList,
        select: Sequence[str],
        *,
        page_size: int = MAX_PAGE_SIZE,
        resume: MemberPosition | None = None,
    ) -> Iterator[MemberPage]:
        """Pages of members: stored members of a static list, query rows of a dynamic one
        (lookups as `_x_value` either way); from the first page or from `resume`."""
        return lists.iter_members(
            self.transport, marketing_list, select, page_size=page_size, resume=resume
        )

    def add_list_members(
        self,
        list_id: str,
        member_ids: Iterable[str],
        *,
        max_batch_size: int = batch.MAX_BATCH_REQUESTS,
    ) -> BatchOutcome:
        return lists.add_members(self.transport, list_id, member_ids, max_batch_size=max_batch_size)

    def remove_list_members(
        self,
        list_id: str,
        member_type: MemberType,
        member_ids: Iterable[str],
        *,
        max_batch_size: int = batch.MAX_BATCH_REQUESTS,
    ) -> BatchOutcome:
        return lists.remove_members(
            self.transport, list_id, member_type, member_ids, max_batch_size=max_batch_size
        )

    def add_list_member(self, list_id: str, member_type: MemberType, member_id: str) -> None:
        lists.add_member(self.transport, list_id, member_type, member_id)

    def remove_list_member(self, list_id: str, member_type: MemberType, member_id: str) -> None:
        lists.remove_member(self.transport, list_id, member_type, member_id)

    # Notes and activities -----------------------------------------------------------------

    def create_note(self, regarding: str, regarding_id: str, *, subject: str, text: str) -> str:
        """A note (annotation) on a contact/lead/account; returns the annotationid."""
        return activities.create_note(
            self.transport, regarding, regarding_id, subject=subject, text=text
        )

    def create_activity(
        self, activity: str, regarding: str, regarding_id: str, fields: Mapping[str, Any]
    ) -> str:
        """An activity (task, phonecall, a custom activity) regarding a row; its activityid."""
        return activities.create_activity(self.transport, activity, regarding, regarding_id, fields)


def _sign_in(settings: Settings) -> tuple[str, Callable[[httpx.Client], TokenProvider]]:
    """The org URL and how to get its tokens, as DATAVERSE_CREDENTIAL says: the app's secret,
    or the Azure CLI's identity (which needs no tenant, client id or secret)."""
    if settings.dataverse_credential is DataverseCredential.AZURE_CLI:
        settings.require("dataverse_url")
        cli_url = settings.dataverse_url
        if not cli_url:  # require() raised already
            raise ConfigurationError("DATAVERSE_URL is not set")
        return cli_url, lambda _http: AzureCliTokenProvider(cli_url)
    settings.require(
        "dataverse_url", "dataverse_tenant_id", "dataverse_client_id", "dataverse_client_secret"
    )
    url, tenant_id = settings.dataverse_url, settings.dataverse_tenant_id
    client_id, secret = settings.dataverse_client_id, settings.dataverse_client_secret
    if not (url and tenant_id and client_id and secret):  # require() raised already
        raise ConfigurationError("Dataverse settings are incomplete")
    authority_host = settings.dataverse_authority_host
    return url, lambda http: MsalTokenProvider(
        tenant_id, client_id, secret, org_url=url, authority_host=authority_host, http_client=http
    )
