"""Each contact's opt-in or opt-out of each marketing preference, with the date it last changed
(`dateModifed` in the API): what `GET /v2/contacts/{email}/subscriptions` and
`GET /v2/contacts/with-preference/{id}/opt-ins-since/{date}` report.

`ContactRecord.preferences` stays the set of opted-in ids (the v3 contact's `preferences` and
the seed generator use it); this store adds the dates and the explicit opt-outs. A preference a
contact is opted in to without a stored date (set by the generator) dates from the contact's
creation.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sandbox.dotdigital.contacts import ContactRecord, ContactStore


@dataclass(frozen=True)
class OptIn:
    preference_id: int
    opted_in: bool
    modified: float  # sandbox clock seconds


@dataclass
class OptIns:
    """contact id -> preference id -> (opted in, modified)."""

    by_contact: dict[int, dict[int, tuple[bool, float]]] = field(default_factory=dict)

    def change(
        self, contact: ContactRecord, preference_id: int, opted_in: bool, when: float
    ) -> bool:
        """Opt the contact in or out; the date moves only when the value changes. True if it
        changed."""
        current = self.of(contact).get(preference_id)
        if current is not None and current.opted_in == opted_in:
            return False
        self.by_contact.setdefault(contact.id, {})[preference_id] = (opted_in, when)
        if opted_in:
            contact.preferences.add(preference_id)
        else:
            contact.preferences.discard(preference_id)
        return True

    def of(self, contact: ContactRecord) -> dict[int, OptIn]:
        """The contact's opt-ins and opt-outs by preference id."""
        stored = self.by_contact.get(contact.id, {})
        found = {pid: OptIn(pid, opted, when) for pid, (opted, when) in stored.items()}
        for pid in contact.preferences:
            if pid not in found or not found[pid].opted_in:
                found[pid] = OptIn(pid, True, contact.created)
        return found

    def contact_ids(self, store: ContactStore) -> set[int]:
        """Every contact with an opt-in or opt-out on record."""
        ids = {cid for cid in self.by_contact if cid in store.contacts}
        ids.update(cid for cid, contact in store.contacts.items() if contact.preferences)
        return ids
