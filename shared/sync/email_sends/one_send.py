"""One email send, stage by stage: the checks (campaign, list, account), the list's sync (its
MarketingListsDataOut, run inside this run), the send to the list's address book, the record.

Never twice: the intent (row Sending, the book, and whether the campaign had gone to that book
before) is checkpointed before the send call, the platform's answer (its send id) before the
record. A slice that resumes a send without an answer asks Dotdigital which books the campaign
was sent to (`GET /v2/campaigns/{id}/address-books`) before sending: the book there, and not
there before, means the send happened; the book not there means it did not (the resumed slice
runs a lease or more after the call, long enough for the platform to list a send it took); the
book there before, or an intent from an earlier run, cannot tell, and the row ends Failed with
what to check. A lost answer in the slice itself (`OutcomeUnknown`) is asked about at once and
never resent: only a send Dotdigital lists counts as Sent.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any, Literal, cast

from pydantic import BaseModel

from shared.audit import AuditDetail, AuditStatus, Counts, Messages
from shared.clients.dataverse.client import DataverseClient
from shared.clients.dataverse.lists import MarketingList
from shared.clients.dotdigital.client import DotdigitalClient
from shared.clients.dotdigital.errors import UnsafeCampaignSendError
from shared.engine import Run
from shared.errors import ApiError, OutcomeUnknown, SyncError
from shared.sync.email_sends.rows import SendRow, SendStatus, move, read_campaign
from shared.sync.marketing_lists.data_out import DataOutCursor, MarketingListsDataOut
from shared.sync.marketing_lists.links_repo import list_links
from shared.sync.marketing_lists.two_way import relay

AGAIN = "then set its Status back to Requested"
NOT_SENT = "Nothing was sent"
UNKNOWN = (
    "The connector lost track of this send and cannot tell from Dotdigital whether it was made "
    "(the campaign had been sent to address book '{book}' before): check the campaign's sends "
    "in Dotdigital, {again} only if it was not sent."
)
LOST = (
    "Dotdigital's answer to the send was lost and it does not list address book '{book}' among "
    "the campaign's sends yet: check the campaign in Dotdigital, {again} only if it was not "
    "sent (the connector never resends a send whose answer it lost)."
)
FAILED_SEND_STATUSES = ("NotSent", "Cancelled")
DRY_RUN_BOOK = -1  # the first book a dry run "creates" (shared.engine.dry_run)


class SendProgress(BaseModel):
    """One send in progress, saved in the run's cursor."""

    send_id: str
    stage: Literal["check", "list", "sending", "sent"] = "check"
    item: str = ""  # "campaign -> list": the audit detail
    campaign_id: int = 0  # the platform's
    list_id: str = ""
    list_name: str = ""
    list_sync: DataOutCursor | None = None
    book_id: int = 0
    book_name: str = ""
    book_contacts: int = 0
    # Had the campaign gone to the book before this send? None: not known (an intent left by
    # an earlier run, which did not keep it).
    sent_before: bool | None = None
    platform_send_id: str | None = None
    platform_status: str = ""


class Outcome(BaseModel):
    status: SendStatus
    message: str
    audit_message: str = ""  # the seed's text where it has one; else `message`


class OneSend:
    """Works one send from its saved progress on; `run.cursor.current` holds it."""

    def __init__(self, run: Run[Any], data_out: MarketingListsDataOut, p: SendProgress) -> None:
        self.run = run
        self.data_out = data_out
        self.p = p
        self.account_id = run.account.account_id
        self.dataverse: DataverseClient = run.services.dataverse()

    @property
    def platform(self) -> DotdigitalClient:
        return self.run.platform(DotdigitalClient)

    def work(self, row: SendRow) -> Generator[None, None, Outcome]:
        """Yields at each checkpoint; returns the send's outcome (the row is written)."""
        p = self.p
        if p.stage == "check":
            refusal = self._check(row)
            if refusal is not None:
                return self._settle(refusal)
            if row.status == SendStatus.SENDING and self._left_sending():
                p.stage = "sending"
            else:
                p.stage = "list"
                move(
                    self.dataverse,
                    p.send_id,
                    SendStatus.SYNCHRONISING_LIST,
                    f"Synchronising marketing list '{p.list_name}'",
                )
            yield
        if p.stage == "list":
            outcome = yield from self._sync_list()
            if outcome is not None:
                return self._settle(outcome)
            self.run.memo[_fresh(p.send_id)] = True
            self.run.save_only()
            yield  # the intent is saved before the call
        if p.stage == "sending":
            outcome = self._send()
            if outcome is not None:
                return self._settle(outcome)
            self.run.save_only()
            yield  # the answer is saved before the record
        return self._settle(self._recorded())

    # Checks ----------------------------------------------------------------------------------

    def _check(self, row: SendRow) -> Outcome | None:
        p = self.p
        campaign = (
            read_campaign(self.dataverse, row.campaign_row_id) if row.campaign_row_id else None
        )
        mlist = self._marketing_list(row.list_id)
        p.list_name = mlist.name if mlist else ""
        p.item = f"{campaign.name if campaign else '(no campaign)'} -> " + (
            mlist.name if mlist else "(no marketing list)"
        )
        if campaign is None:
            return _refused(
                "The Email Send names no email campaign that exists in Dynamics: "
                f"choose an email campaign synced from Dotdigital, {AGAIN}."
            )
        if campaign.account_id.casefold() != self.account_id.casefold():
            return _refused(
                f"The email campaign '{campaign.name}' belongs to email account "
                f"'{campaign.account_id}', not '{self.account_id}': choose a "
                f"campaign of this account, {AGAIN}."
            )
        if not campaign.platform_id:
            return _refused(
                f"The email campaign '{campaign.name}' has no platform id (it did not "
                f"come from Dotdigital): choose an email campaign synced from "
                f"Dotdigital, {AGAIN}."
            )
        p.campaign_id = campaign.platform_id
        if mlist is None:
            return _refused(
                f"{Messages.LIST_NULL} The Email Send names no marketing list that "
                f"can be read: choose an existing marketing list, {AGAIN}.",
                audit=Messages.LIST_NULL,
            )
        if not mlist.active:
            return _refused(f"The marketing list '{mlist.name}' is inactive: activate it, {AGAIN}.")
        if not mlist.email_activated:
            return _refused(
                f"The marketing list '{mlist.name}' is not email-activated: set its "
                f"Email Activated, {AGAIN}."
            )
        if (mlist.email_account_id or "").strip().casefold() != self.account_id.casefold():
            return _refused(
                f"{Messages.LIST_ACCOUNT_MISMATCH}. The marketing list "
                f"'{mlist.name}' is not a list of email account '{self.account_id}': "
                f"choose one of its lists, {AGAIN}.",
                audit=Messages.LIST_ACCOUNT_MISMATCH,
            )
        p.list_id = mlist.list_id.lower()
        return None

    def _marketing_list(self, list_id: str | None) -> MarketingList | None:
        if not list_id:
            return None
        try:
            return self.dataverse.get_marketing_list(list_id)
        except SyncError:
            return None  # unreadable: refused as a list that cannot be retrieved

    def _left_sending(self) -> bool:
        """A row an earlier run left Sending: whether its send may have been made (its list has
        a book the campaign was sent to). If not, it is sent like a new request."""
        link = list_links(self.run.services).by_list(self.account_id, self.p.list_id)
        if link is None:
            return False
        self.p.book_id, self.p.book_name = link.address_book_id, link.address_book_name
        self.p.sent_before = None
        return link.address_book_id in (self._books_sent_to() or set())

    # The list --------------------------------------------------------------------------------

    def _sync_list(self) -> Generator[None, None, Outcome | None]:
        p = self.p
        run = self.run
        if p.list_sync is None:
            starting = run.child(cast(DataOutCursor, None), Counts(), run.add_detail)
            p.list_sync = self.data_out.start_for_lists(starting, [p.list_id])
            yield
        sub = run.child(p.list_sync, Counts(), run.add_detail)
        yield from relay(self.data_out.run(sub), lambda: None)
        stats = p.list_sync.stats
        error = next(iter(stats.failures), None) if stats.lists_failed else None
        link = list_links(run.services).by_list(self.account_id, p.list_id)
        if link is None and run.dry_run and error is None:
            return self._dry_run_send()
        if link is None:
            why = f": its sync failed ({error})" if error else ""
            return _refused(
                f"The marketing list '{p.list_name}' has no address book{why}. "
                f"{NOT_SENT}: once the list syncs, {AGAIN}."
            )
        if error:
            return Outcome(
                status=SendStatus.FAILED,
                message=f"The marketing list '{p.list_name}' did not sync to address "
                f"book '{link.address_book_name}': {error} {NOT_SENT}: "
                f"{AGAIN} to try again.",
            )
        try:
            book = self.platform.get_address_book(link.address_book_id)
        except ApiError as refused:
            if refused.status != 404:
                raise
            return _refused(
                f"The address book of marketing list '{p.list_name}' is gone from "
                f"Dotdigital. {NOT_SENT}: the list's next sync creates a new one; "
                f"{AGAIN}."
            )
        if book.contacts == 0:
            # A send without a book's contacts would go to ALL contacts of the account.
            return _refused(
                f"Address book '{book.name}' of marketing list '{p.list_name}' is "
                f"empty after the list's sync. {NOT_SENT}: add members with email "
                f"addresses to the list, {AGAIN}."
            )
        books = self._books_sent_to()
        if books is None:
            return _refused(self._no_platform_campaign())
        p.book_id, p.book_name, p.book_contacts = book.id, book.name, book.contacts
        p.sent_before = book.id in books
        p.stage = "sending"
        move(
            self.dataverse,
            p.send_id,
            SendStatus.SENDING,
            f"Sending to address book '{book.name}' ({book.contacts} contacts)",
        )
        return None

    def _dry_run_send(self) -> Outcome:
        """A dry run of a list pushed for the first time: its book exists only in the dry run's
        records (the sink's negative ids), so the send is recorded to that one."""
        self.platform.send_campaign(self.p.campaign_id, address_book_ids=[DRY_RUN_BOOK])
        return Outcome(
            status=SendStatus.SENT,
            message=f"Would be sent to the new address book of marketing list '{self.p.list_name}'",
        )

    def _books_sent_to(self) -> set[int] | None:
        """The books Dotdigital says the campaign was sent to; None if it has no such campaign."""
        try:
            return {b.id for b in self.platform.iter_campaign_address_books(self.p.campaign_id)}
        except ApiError as error:
            if error.status == 404:
                return None
            raise

    def _no_platform_campaign(self) -> str:
        return (
            f"Dotdigital has no campaign {self.p.campaign_id} (the email campaign of this "
            f"Email Send): choose a campaign that exists in Dotdigital, {AGAIN}."
        )

    # The send --------------------------------------------------------------------------------

    def _send(self) -> Outcome | None:
        """None once the platform's answer is in `p` (saved before the record)."""
        p = self.p
        if p.platform_send_id is not None:
            return None
        if not self.run.memo.pop(_fresh(p.send_id), False):
            reached = self._reached()  # resumed: ask before sending
            if reached == "yes":
                return self._sent_unanswered()
            if reached == "unknown":
                return Outcome(
                    status=SendStatus.FAILED, message=UNKNOWN.format(book=p.book_name, again=AGAIN)
                )
        try:
            sent = self.platform.send_campaign(p.campaign_id, address_book_ids=[p.book_id])
        except UnsafeCampaignSendError as unsafe:
            return _refused(f"{unsafe}. {NOT_SENT}.")
        except OutcomeUnknown:
            reached = self._reached()
            if reached == "yes":
                return self._sent_unanswered()
            if reached == "unknown":
                return Outcome(
                    status=SendStatus.FAILED,
                    message=UNKNOWN.format(book=p.book_name, again=AGAIN),
                )
            return Outcome(
                status=SendStatus.FAILED, message=LOST.format(book=p.book_name, again=AGAIN)
            )
        except ApiError as refused:
            if refused.status == 404 and refused.code == "ERROR_CAMPAIGN_NOT_FOUND":
                return _refused(self._no_platform_campaign())
            return Outcome(
                status=SendStatus.FAILED,
                message=f"Dotdigital refused the send: {refused} {NOT_SENT}: {AGAIN} to try again.",
            )
        p.platform_send_id, p.platform_status = sent.id, sent.status
        p.stage = "sent"
        self.run.memo[_answered(p.send_id)] = True
        return None

    def _reached(self) -> Literal["yes", "no", "unknown"]:
        books = self._books_sent_to() or set()
        if self.p.book_id not in books:
            return "no"
        return "yes" if self.p.sent_before is False else "unknown"

    def _sent_unanswered(self) -> Outcome:
        self.p.platform_status = "Sent"
        return Outcome(
            status=SendStatus.SENT,
            message=f"Sent to address book '{self.p.book_name}' (Dotdigital lists it "
            "among the campaign's sends; its send id was not received)",
        )

    def _recorded(self) -> Outcome:
        """The answer is saved: the record. A resumed slice reads the send's status first."""
        p = self.p
        assert p.platform_send_id is not None
        if not self.run.memo.pop(_answered(p.send_id), False) and p.platform_send_id:
            # Resumed: the answer is older than this slice; the send may have moved on since.
            p.platform_status = self.platform.campaign_send_status(p.platform_send_id).status
        if p.platform_status in FAILED_SEND_STATUSES:
            return Outcome(
                status=SendStatus.FAILED,
                message=f"Dotdigital reports the send as {p.platform_status}: "
                f"{AGAIN} to send it again.",
            )
        return Outcome(
            status=SendStatus.SENT,
            message=f"Sent to address book '{p.book_name}' ({p.book_contacts} contacts)",
        )

    # The outcome -----------------------------------------------------------------------------

    def _settle(self, outcome: Outcome) -> Outcome:
        p = self.p
        sent = outcome.status is SendStatus.SENT
        move(
            self.dataverse,
            p.send_id,
            outcome.status,
            outcome.message,
            sent_on=self.run.services.clock() if sent else None,
            platform_send_id=p.platform_send_id if sent else None,
        )
        return outcome


def _refused(message: str, *, audit: str = "") -> Outcome:
    return Outcome(status=SendStatus.REFUSED, message=message, audit_message=audit)


def _fresh(send_id: str) -> str:
    """Memo key: the intent of this send was saved in this slice, so no earlier call exists."""
    return f"email-send-intent:{send_id}"


def _answered(send_id: str) -> str:
    """Memo key: the platform answered the send in this slice (its status is fresh)."""
    return f"email-send-answer:{send_id}"


def settled_outcome(row: SendRow) -> Outcome | None:
    """A row found settled when its send is resumed: the attempt that died wrote it."""
    if row.status in (SendStatus.SENT, SendStatus.REFUSED, SendStatus.FAILED):
        return Outcome(status=SendStatus(row.status), message=row.message)
    return None


def detail_status(outcome: Outcome) -> AuditStatus:
    return AuditStatus.COMPLETED if outcome.status is SendStatus.SENT else AuditStatus.FAILED


def detail(item: str, outcome: Outcome) -> AuditDetail:
    sent = outcome.status is SendStatus.SENT
    return AuditDetail(
        item=item,
        status=detail_status(outcome),
        message=(outcome.audit_message or outcome.message)[:1000],
        counts=Counts(read=1, updated=int(sent), failed=int(not sent)),
    )
