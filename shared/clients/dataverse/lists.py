"""Marketing lists and their members (CED `list.md`; PAD
`webapi/associate-disassociate-entities-using-web-api.md`).

- `lists`: `listid`, `listname`, `type` (false static / true dynamic), `createdfromcode`
  (1 account, 2 contact, 4 lead), `query` (FetchXML of a dynamic list), `statecode`,
  `membercount`.
- Static members: the N:N navigation `lists(<id>)/listcontact_association` (or
  `listlead_association`, `listaccount_association`), paged like any collection.
- Dynamic members are not stored: they are the rows the list's FetchXML query returns.
- Either way a member read can stop after any page and continue later from the page's
  `resume` position (a nextLink for static lists, a page number and paging cookie for dynamic
  ones).
- Add: the bound action `AddMemberList` (`{"EntityId": <guid>}`) per member inside `$batch`
  (continue-on-error, so one bad id does not stop the others), or one `$ref` POST.
  Adding a member twice changes nothing, so these requests are safe to resend.
- Remove: `DELETE lists(<id>)/listcontact_association(<member id>)/$ref`.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from enum import IntEnum

from pydantic import BaseModel, ConfigDict

from shared.clients.dataverse.batch import (
    MAX_BATCH_REQUESTS,
    BatchOutcome,
    BatchRequest,
    execute_batch,
)
from shared.clients.dataverse.fetchxml import FetchXmlPosition, iter_fetchxml_pages
from shared.clients.dataverse.odata import (
    check_guid,
    entity_path,
    max_page_size_preference,
)
from shared.clients.dataverse.paging import (
    LinkPosition,
    Record,
    collection_target,
    iter_collection,
)
from shared.clients.dataverse.transport import DataverseTransport
from shared.clients.dataverse.writes import retrieve
from shared.dynamics_schema import (
    LIST_CONNECTOR_COLUMNS,
    LIST_EMAIL_ACCOUNT,
    LIST_EMAIL_ACTIVATED,
    LIST_MEMBERSHIP_ACTION,
)

LIST_COLUMNS = (
    "listid",
    "listname",
    "type",
    "createdfromcode",
    "query",
    "statecode",
    "membercount",
    "modifiedon",
    *LIST_CONNECTOR_COLUMNS,
)


class MemberType(IntEnum):
    """`list.createdfromcode`: the table a marketing list's members come from."""

    ACCOUNT = 1
    CONTACT = 2
    LEAD = 4

    @property
    def logical_name(self) -> str:
        return self.name.lower()

    @property
    def entity_set(self) -> str:
        return self.logical_name + "s"

    @property
    def navigation(self) -> str:
        """The N:N navigation property, the same name on both sides."""
        return f"list{self.logical_name}_association"

    @property
    def primary_key(self) -> str:
        return self.logical_name + "id"


class MarketingList(BaseModel):
    model_config = ConfigDict(frozen=True)

    list_id: str
    name: str
    dynamic: bool
    member_type: MemberType
    query: str | None = None
    state: int = 0
    member_count: int | None = None
    modified_on: str | None = None
    # The connector's columns (shared.dynamics_schema); None where a list never had them set.
    email_account_id: str | None = None
    email_activated: bool = False
    membership_action: int | None = None

    @property
    def active(self) -> bool:
        return self.state == 0


def marketing_list(row: Record) -> MarketingList:
    return MarketingList(
        list_id=str(row["listid"]),
        name=str(row.get("listname") or ""),
        dynamic=bool(row.get("type")),
        member_type=MemberType(int(row["createdfromcode"])),
        query=row.get("query") or None,
        state=int(row.get("statecode") or 0),
        member_count=row.get("membercount"),
        modified_on=row.get("modifiedon"),
        email_account_id=row.get(LIST_EMAIL_ACCOUNT) or None,
        email_activated=bool(row.get(LIST_EMAIL_ACTIVATED)),
        membership_action=row.get(LIST_MEMBERSHIP_ACTION),
    )


def iter_marketing_lists(
    transport: DataverseTransport, *, active_only: bool, page_size: int
) -> Iterator[MarketingList]:
    target = collection_target(
        "lists", LIST_COLUMNS, filter="statecode eq 0" if active_only else None
    )
    for page in iter_collection(
        transport, target, label="lists", preferences=[max_page_size_preference(page_size)]
    ):
        for row in page.records:
            yield marketing_list(row)


def get_marketing_list(transport: DataverseTransport, list_id: str) -> MarketingList | None:
    row = retrieve(transport, "lists", list_id, LIST_COLUMNS)
    return None if row is None else marketing_list(row)


MemberPosition = LinkPosition | FetchXmlPosition
"""Where a member read continues: a nextLink (static list) or a FetchXML page (dynamic)."""


@dataclass(frozen=True)
class MemberPage:
    number: int  # 1-based
    records: list[Record]
    resume: MemberPosition | None  # the position just after this page; None after the last


def iter_members(
    transport: DataverseTransport,
    mlist: MarketingList,
    select: Sequence[str],
    *,
    page_size: int,
    resume: MemberPosition | None = None,
) -> Iterator[MemberPage]:
    """Pages of members (at least one page, maybe empty): the stored ones of a static list, the
    query's rows of a dynamic one; from the first page, or from `resume`. Lookup columns are
    named `_x_value` in `select` and in the rows for both kinds."""
    member_type = mlist.member_type
    if not mlist.dynamic:
        if resume is not None and not isinstance(resume, LinkPosition):
            raise ValueError(f"a FetchXML position cannot continue static list {mlist.list_id}")
        path = f"{entity_path('lists', mlist.list_id)}/{member_type.navigation}"
        pages = iter_collection(
            transport,
            collection_target(path, select),
            label=f"lists({check_guid(mlist.list_id)})/{member_type.navigation}",
            preferences=[max_page_size_preference(page_size)],
            resume=resume,
        )
        for page in pages:
            yield MemberPage(page.number, page.records, page.resume)
        return
    if resume is not None and not isinstance(resume, FetchXmlPosition):
        raise ValueError(f"a nextLink position cannot continue dynamic list {mlist.list_id}")
    if not mlist.query:
        yield MemberPage(1, [], None)
        return
    columns = list(dict.fromkeys([*select, member_type.primary_key]))
    for fetched in iter_fetchxml_pages(
        transport,
        member_type.entity_set,
        mlist.query,
        select=columns,
        page_size=page_size,
        resume=resume,
        label=f"dynamic list {mlist.list_id}",
    ):
        yield MemberPage(fetched.number, fetched.records, fetched.resume)


def _batched(values: Iterable[str], size: int) -> Iterator[list[str]]:
    iterator = iter(values)
    while chunk := list(itertools.islice(iterator, size)):
        yield chunk


def _merge(outcomes: list[BatchOutcome]) -> BatchOutcome:
    return BatchOutcome(
        results=[r for outcome in outcomes for r in outcome.results],
        http_requests=sum(o.http_requests for o in outcomes),
    )


def add_members(
    transport: DataverseTransport,
    list_id: str,
    member_ids: Iterable[str],
    *,
    max_batch_size: int = MAX_BATCH_REQUESTS,
) -> BatchOutcome:
    """`AddMemberList` per member, in batches; failures are per member in the outcome."""
    check_guid(list_id)
    outcomes = []
    for chunk in _batched(member_ids, max_batch_size):
        requests = [
            BatchRequest.action(
                "lists", list_id, "AddMemberList", {"EntityId": check_guid(member)},
                safe_to_resend=True,
            )
            for member in chunk
        ]  # fmt: skip
        outcomes.append(execute_batch(transport, requests, max_batch_size=max_batch_size))
    return _merge(outcomes)


def remove_members(
    transport: DataverseTransport,
    list_id: str,
    member_type: MemberType,
    member_ids: Iterable[str],
    *,
    max_batch_size: int = MAX_BATCH_REQUESTS,
) -> BatchOutcome:
    check_guid(list_id)
    base = f"{entity_path('lists', list_id)}/{member_type.navigation}"
    outcomes = []
    for chunk in _batched(member_ids, max_batch_size):
        requests = [BatchRequest("DELETE", f"{base}({check_guid(m)})/$ref") for m in chunk]
        outcomes.append(execute_batch(transport, requests, max_batch_size=max_batch_size))
    return _merge(outcomes)


def add_member(
    transport: DataverseTransport, list_id: str, member_type: MemberType, member_id: str
) -> None:
    """One member through the N:N `$ref` POST."""
    target = entity_path(member_type.entity_set, member_id)
    transport.send(
        "POST",
        f"{entity_path('lists', list_id)}/{member_type.navigation}/$ref",
        operation=f"POST lists({check_guid(list_id)})/{member_type.navigation}/$ref",
        json_body={"@odata.id": transport.entity_url(target)},
    )


def remove_member(
    transport: DataverseTransport, list_id: str, member_type: MemberType, member_id: str
) -> None:
    path = f"{entity_path('lists', list_id)}/{member_type.navigation}({check_guid(member_id)})/$ref"
    transport.send("DELETE", path, operation=f"DELETE {path}")
