"""One page of an address book into its Dynamics marketing list.

Per page: one `$batch` finds the emails in the list's member table and among its members
(`pull_match`); new leads then go out through CreateMultiple (`DataverseClient.create_multiple`,
the documented fastest way to write many rows), each with the id derived from its email, and
the members to add in one more `$batch` of `AddMemberList` calls. Everything is safe to resend:
a replayed create finds its id taken and changes nothing (the client resends a CreateMultiple
whose answer was lost only because every lead carries its own id), adding a member twice is a
no-op; so a lost answer is simply retried and a redelivered page ends the same. A lead
Dataverse refuses is isolated by the client (the rest of the page is written) and counted.

What each member becomes, by the list's plan:
- already in the list: nothing to do;
- a match in the member table: added; an active contact/account or open lead is preferred,
  one known only as inactive or disqualified is added only when the account does not "sync
  only open leads and active contacts" (else skipped and counted);
- no match: a new lead when the list allows it (lead lists set to "Allow known leads or create
  new leads if no match found"), else skipped and counted ("only known" actions);
- no email, or suppressed in Dotdigital: skipped and counted (the suppression and unsubscribe
  syncs own those people; adding them here would undo what those syncs did).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from shared.clients.dataverse.batch import BatchRequest
from shared.clients.dataverse.client import DataverseClient
from shared.clients.dataverse.lists import MarketingList
from shared.clients.dotdigital.contacts import ListContact
from shared.sync.marketing_lists.pull_leads import LeadTemplate, lead_id_for
from shared.sync.marketing_lists.pull_match import Lookup, Match, lookup_emails

# v2 contact statuses that take a contact out of every send (SoftBounced still receives mail).
SUPPRESSED_STATUSES = frozenset(
    {
        "Unsubscribed", "HardBounced", "IspComplained", "MailBlocked", "DirectComplaint",
        "Deleted", "SharedSuppression", "Suppressed", "NotAllowed", "DomainSuppression",
        "NoMxRecord",
    }
)  # fmt: skip


class Skipped:
    """Why a member was not added; the audit detail message shows these counts."""

    UNKNOWN = "Unknown emails skipped"
    INACTIVE = "Inactive or disqualified"
    SUPPRESSED = "Suppressed in Dotdigital"
    NO_EMAIL = "Without an email address"


@dataclass(frozen=True)
class PullPlan:
    """How one book's members enter one marketing list."""

    mlist: MarketingList
    email_column: str
    only_active: bool  # the account's "Sync only open leads and active contacts"
    new_leads: LeadTemplate | None  # set when unknown emails become leads


@dataclass
class PageResult:
    read: int = 0
    added: int = 0
    created: int = 0
    already: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    failures: dict[str, str] = field(default_factory=dict)  # email -> message


@dataclass(frozen=True)
class _Write:
    kind: str  # "create" | "add"
    email: str
    record_id: str


def choose_record(matches: list[Match], only_active: bool) -> Match | None:
    """The record to add: an active one first; an inactive/disqualified one only if allowed."""
    active = next((m for m in matches if m.active), None)
    if active is not None or only_active or not matches:
        return active
    return matches[0]


def decide(plan: PullPlan, lookup: Lookup, email: str, result: PageResult) -> str | None:
    """The id of the record to add for this email (a new lead's id if one is to be created),
    or None with the reason counted in `result`."""
    if email in lookup.failed:
        result.failures[email] = lookup.failed[email]
        return None
    if email in lookup.in_list:
        result.already += 1
        return None
    matches = lookup.matches.get(email, [])
    chosen = choose_record(matches, plan.only_active)
    if chosen is not None:
        return chosen.record_id
    if matches:
        result.skipped[Skipped.INACTIVE] += 1
        return None
    if plan.new_leads is None:
        result.skipped[Skipped.UNKNOWN] += 1
        return None
    return lead_id_for(email)


def page_members(contacts: Sequence[ListContact], result: PageResult) -> dict[str, ListContact]:
    """The page's members to look up, by lower-cased email (the first of any duplicates); those
    without an email or suppressed are counted in `result` instead."""
    members: dict[str, ListContact] = {}
    for contact in contacts:
        email = contact.email.strip().lower()
        if not email:
            result.skipped[Skipped.NO_EMAIL] += 1
        elif contact.status in SUPPRESSED_STATUSES:
            result.skipped[Skipped.SUPPRESSED] += 1
        else:
            members.setdefault(email, contact)
    return members


def pull_page(
    dataverse: DataverseClient, plan: PullPlan, contacts: Sequence[ListContact]
) -> PageResult:
    result = PageResult(read=len(contacts))
    members = page_members(contacts, result)
    lookup = lookup_emails(dataverse, plan.mlist, plan.email_column, list(members))

    creates: list[_Write] = []
    adds: list[_Write] = []
    for email in members:
        record_id = decide(plan, lookup, email, result)
        if record_id is None:
            continue
        if plan.new_leads is not None and email not in lookup.matches:
            creates.append(_Write("create", email, record_id))
        adds.append(_Write("add", email, record_id))
    if not adds:
        return result

    taken: set[str] = set()  # creates refused: a lead already has this id or this email
    not_created: set[str] = set()
    if creates:
        assert plan.new_leads is not None
        template = plan.new_leads
        new_leads = [(w.record_id, members[w.email]) for w in creates]
        outcome = dataverse.create_multiple(
            "leads",
            [(i, template.values(c.email.strip(), c.data_fields)) for i, c in new_leads],
        )
        refused = {failure.index: failure for failure in outcome.failures}
        for index, write in enumerate(creates):
            failure = refused.get(index)
            if failure is None:
                result.created += 1
            elif failure.taken:
                taken.add(write.email)
            else:
                not_created.add(write.email)
                result.failures[write.email] = failure.message
    adds = [w for w in adds if w.email not in taken and w.email not in not_created]
    if adds:
        answers = dataverse.execute_batch([_add_request(plan.mlist, w.record_id) for w in adds])
        for write, answer in zip(adds, answers.results, strict=True):
            if answer.ok:
                result.added += 1
            elif write.email not in result.failures:  # one failure per email
                result.failures[write.email] = answer.why
    if taken:
        _settle_taken(dataverse, plan, sorted(taken), result)
    return result


def _settle_taken(
    dataverse: DataverseClient,
    plan: PullPlan,
    emails: list[str],
    result: PageResult,
) -> None:
    """Creates refused because the lead exists (none of them was added yet). Either our own
    create went through on an attempt whose answer was lost (the request was resent): the lead
    has our id and this email, it was created by this run and is added now. Or another lead
    took the email since our lookup (an org with an alternate key on the email): add that one."""
    lookup = lookup_emails(dataverse, plan.mlist, plan.email_column, emails)
    adds: list[_Write] = []
    for email in emails:
        matches = lookup.matches.get(email, [])
        if any(m.record_id == lead_id_for(email) for m in matches):
            result.created += 1
        if email in lookup.failed:
            result.failures[email] = lookup.failed[email]
        elif email in lookup.in_list:
            result.already += 1
        elif (chosen := choose_record(matches, plan.only_active)) is not None:
            adds.append(_Write("add", email, chosen.record_id))
        elif matches:
            result.skipped[Skipped.INACTIVE] += 1
        else:
            result.failures[email] = "A lead with this email exists but could not be read"
    if not adds:
        return
    outcome = dataverse.execute_batch([_add_request(plan.mlist, w.record_id) for w in adds])
    for write, answer in zip(adds, outcome.results, strict=True):
        if answer.ok:
            result.added += 1
        else:
            result.failures[write.email] = answer.why


def _add_request(mlist: MarketingList, record_id: str) -> BatchRequest:
    return BatchRequest.action(
        "lists", mlist.list_id, "AddMemberList", {"EntityId": record_id}, safe_to_resend=True
    )
