"""AddressBooks: Dotdigital address books -> Dynamics static marketing lists.

Every address book of the account except the platform's reserved ones syncs into the marketing
list linked to it; a book with no link gets a new static list, linked with origin "Dotdigital".
Members are matched by email (`shared.sync.marketing_lists.book_pull`); the list's membership action
decides what an unknown email does. Only the three "allow" actions let book members into a
list: "Ignore new and existing address book members not in this marketing list" and "Remove
address book members not in this marketing list" govern the address book side (the two-way
sync leaves or removes them), so those lists get nothing from here. Dynamic lists are never
written: their members come from their query.

Members are only ever added here. Members removed from a book (and unsubscribes) are left to
the Unsubscribes sync, which removes them from the list and records the list unsubscriber.

Progress (`RunProgress`, the cursor) is checkpointed after each page (the book's v2 skip
offset, with its running counts) and after each book.
"""

from __future__ import annotations

import uuid
from collections.abc import Generator

from shared.accounts import EmailAccount, Platform
from shared.audit import AuditDetail, AuditStatus, Counts, Messages
from shared.clients.dataverse.client import DataverseClient
from shared.clients.dataverse.lists import MarketingList, MemberType
from shared.clients.dotdigital.address_books import AddressBook
from shared.clients.dotdigital.client import DotdigitalClient
from shared.dynamics_schema import (
    LIST_EMAIL_ACCOUNT,
    LIST_EMAIL_ACTIVATED,
    LIST_MEMBERSHIP_ACTION,
    MembershipAction,
)
from shared.engine import Direction, Run, Steps, SyncDeclaration, SyncResult, SyncTypeTemplate
from shared.errors import PreconditionFailed
from shared.mappings.model import MappedEntity
from shared.sync.marketing_lists.book_pull import PullPlan, pull_page
from shared.sync.marketing_lists.links_repo import ListLink, list_links
from shared.sync.marketing_lists.pull_leads import lead_template
from shared.sync.marketing_lists.pull_progress import RunProgress
from shared.sync.marketing_lists.values import email_field
from shared.sync_types import SyncType

RESERVED_BOOKS = frozenset({"test", "all contacts"})
PAGE_SIZE = 1000  # the most v2 hands out per call; one lookup $batch per page
ORIGIN = "Dotdigital"
# A book's new list gets an id derived from the account and the book: a run that dies after
# creating the list but before saving the link finds the same list again, never a second one.
LIST_ID_NAMESPACE = uuid.UUID("5c0f2a8e-3d47-4b6a-8e21-9a7d0c4f6b13")
# New lists hold contacts and only known ones: the connector does not create CRM records
# nobody asked for. To turn a book's unknown emails into leads, link it to a lead list set to
# "Allow known leads or create new leads if no match found".
NEW_LIST_ACTION = MembershipAction.KNOWN_CONTACTS_ONLY
NEW_LIST_MEMBER_TYPE = MemberType.CONTACT
ALLOW_ACTIONS = frozenset(
    {
        MembershipAction.KNOWN_CONTACTS_ONLY,
        MembershipAction.KNOWN_LEADS_ONLY,
        MembershipAction.KNOWN_OR_NEW_LEADS,
    }
)
DYNAMIC_LIST = "Dynamic marketing list: its members come from its query, not from Dotdigital."
INACTIVE_LIST = "The marketing list is inactive: nothing added."
NOT_ACTIVATED = "The marketing list is not activated for email: nothing added."
KEPT_OUT = "Membership action '{0}': address book members are not added to this marketing list."


def _action(mlist: MarketingList) -> MembershipAction | None:
    values = {action.value for action in MembershipAction}
    value = mlist.membership_action
    return MembershipAction(value) if value in values and value is not None else None


def _reserved(book: AddressBook) -> bool:
    return book.name.strip().lower() in RESERVED_BOOKS


class AddressBooks(SyncTypeTemplate[RunProgress]):
    declaration = SyncDeclaration(
        SyncType.ADDRESS_BOOKS,
        frozenset({Platform.DOTDIGITAL}),
        Direction.TO_DYNAMICS,
        summary="address books -> static marketing lists (members by email, leads on demand)",
    )
    cursor_model = RunProgress

    def __init__(self, *, page_size: int = PAGE_SIZE) -> None:
        self.page_size = page_size

    def start(self, run: Run[RunProgress]) -> RunProgress:
        return RunProgress()

    def run(self, run: Run[RunProgress]) -> Steps:
        platform = run.platform(DotdigitalClient)
        dataverse = run.services.dataverse()
        for book in platform.iter_address_books():
            if _reserved(book) or book.id in run.cursor.done:
                continue
            yield from self._sync_book(run, platform, dataverse, book)
        return _result(run)

    def _sync_book(
        self,
        run: Run[RunProgress],
        platform: DotdigitalClient,
        dataverse: DataverseClient,
        book: AddressBook,
    ) -> Generator[None, None, None]:
        progress = run.cursor
        state = progress.start(book.id)
        created_before = state.list_created
        plan = self._plan(run, dataverse, book)
        if isinstance(plan, AuditDetail):
            run.detail(plan)
            progress.finish(book.id, plan)
            yield
            return
        if state.list_created and not created_before:
            yield  # the new list and its link are saved: the detail will say it was created
        members = platform.iter_address_book_contacts(
            book.id,
            with_full_data=plan.new_leads is not None,
            select=self.page_size,
            skip=state.skip,
        )
        for page in members.pages():
            if page.items:
                result = pull_page(dataverse, plan, page.items)
                state.add(result)
                run.counts += Counts(
                    read=result.read,
                    created=result.created,
                    updated=result.added,
                    failed=len(result.failures),
                )
            if page.resume is None:
                break  # the last page's work is saved with the book's detail, just below
            state.skip = page.resume
            yield
        detail = state.detail(book.name)
        run.detail(detail)  # keyed by the book's name: writing it again on a replay is harmless
        progress.finish(book.id, detail)
        yield

    def _plan(
        self, run: Run[RunProgress], dataverse: DataverseClient, book: AddressBook
    ) -> PullPlan | AuditDetail:
        """How the book's members enter its list, or the book's detail when none can."""
        account = run.account
        services = run.services
        progress = run.cursor
        link = list_links(services).by_address_book(account.account_id, book.id)
        if link is None:
            mlist = _create_list(dataverse, account, book)
            list_links(services).save(
                account.account_id,
                ListLink(
                    list_id=mlist.list_id,
                    list_name=mlist.name,
                    member_type=mlist.member_type.logical_name,
                    address_book_id=book.id,
                    address_book_name=book.name,
                    origin=ORIGIN,
                    linked_utc=services.clock(),
                ),
            )
            assert progress.book is not None
            progress.book.list_created = True
        else:
            found = dataverse.get_marketing_list(link.list_id)
            if found is None:
                return AuditDetail(
                    item=book.name, status=AuditStatus.FAILED, message=Messages.LIST_NULL
                )
            mlist = found
        if mlist.email_account_id != account.account_id:
            return AuditDetail(
                item=book.name, status=AuditStatus.FAILED, message=Messages.LIST_ACCOUNT_MISMATCH
            )
        action = _action(mlist)
        message = ""
        if mlist.dynamic:
            message = DYNAMIC_LIST
        elif not mlist.active:
            message = INACTIVE_LIST
        elif not mlist.email_activated:
            message = NOT_ACTIVATED
        elif action not in ALLOW_ACTIONS:
            label = action.label if action is not None else "not set"
            message = KEPT_OUT.format(label)
        if message:
            return AuditDetail(item=book.name, status=AuditStatus.COMPLETED, message=message)

        mappings = services.mappings.for_account(account.account_id)
        entity = MappedEntity(mlist.member_type.logical_name)
        new_leads = None
        if action is MembershipAction.KNOWN_OR_NEW_LEADS and mlist.member_type is MemberType.LEAD:
            new_leads = lead_template(
                book.name,
                mappings,
                services.data_labels.for_account(account.account_id),
                services.crm_fields.for_account(account.account_id, "lead"),
            )
        return PullPlan(
            mlist=mlist,
            email_column=email_field(mappings, entity),
            only_active=account.sync_only_open_leads_and_active_contacts,
            new_leads=new_leads,
        )


def _create_list(
    dataverse: DataverseClient, account: EmailAccount, book: AddressBook
) -> MarketingList:
    """A static list for the book, created once whatever happens to this run."""
    list_id = str(uuid.uuid5(LIST_ID_NAMESPACE, f"{account.account_id}/{book.id}"))
    created = MarketingList(
        list_id=list_id,
        name=book.name,
        dynamic=False,
        member_type=NEW_LIST_MEMBER_TYPE,
        email_account_id=account.account_id,
        email_activated=True,
        membership_action=NEW_LIST_ACTION.value,
    )
    try:
        dataverse.upsert(
            "lists",
            list_id,
            {
                "listname": book.name,
                "type": False,
                "createdfromcode": NEW_LIST_MEMBER_TYPE.value,
                LIST_EMAIL_ACCOUNT: account.account_id,
                LIST_EMAIL_ACTIVATED: True,
                LIST_MEMBERSHIP_ACTION: NEW_LIST_ACTION.value,
            },
            create_only=True,
        )
    except PreconditionFailed:
        # Created by an earlier attempt of this run: use it as it is now.
        return dataverse.get_marketing_list(list_id) or created
    return created


def _result(run: Run[RunProgress]) -> SyncResult:
    progress = run.cursor
    if not progress.details:
        return SyncResult(AuditStatus.COMPLETED, Messages.NO_NEW_OBJECTS)
    counts = run.counts
    errors = list(progress.errors)
    if counts.failed:
        errors.append(f"{counts.failed} address book members failed to sync")
    if not errors:
        return SyncResult(
            AuditStatus.COMPLETED,
            f"{progress.synced_books} address books synced: {counts.updated} members added, "
            f"{counts.created} leads created",
        )
    status = AuditStatus.FAILED if not progress.synced_books else AuditStatus.COMPLETED_WITH_ERRORS
    return SyncResult(status, "; ".join(errors))
