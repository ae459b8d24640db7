"""One page of ingress: each record's decision, then its write, against Campaign's own keys.

A record is read by its key first (`/<resource>/<key>`, the CRM-id custom key): absent ->
create, present -> update its href, filtered out with "delete filtered out" or deleted in
Dynamics with "apply deletes" -> delete it if present. Reading first makes each page's counts
known before anything is written, so the page's intent is checkpointed and a replay after a
kill counts what an unkilled run counts (the records it created then read as present). Only
records holding the key are ever touched: Campaign's own records are never modified.

A create is not sent twice blindly: after a lost answer it is sent once more, and a duplicate
key (PGS-220000) then proves the first one landed. A lookup to another mapped table becomes a
link to that table's record in Campaign (`{"PKey": ...}` as the API answered it); when
Campaign does not have the parent yet, the record waits for a later run (no ordering
guarantee between tables: a child can arrive first)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from shared import deadline
from shared.clients.adobe.client import AdobeCampaignClient
from shared.clients.adobe.errors import DuplicateKey, RecordNotFound
from shared.errors import BadInputError, ConflictError, NotFoundError, OutcomeUnknown
from shared.sync.adobe import filters
from shared.sync.adobe.filters import FilterOutcome
from shared.sync.adobe.ingress.schema import TableSchema
from shared.sync.adobe.linked_columns import LinkedPage, unread_message
from shared.sync.adobe.record_values import Write, campaign_record

# Errors of one record's content or of its row in Campaign: the record is skipped and named.
RECORD_ERRORS = (BadInputError, ConflictError, NotFoundError, ValueError)


class Action(StrEnum):
    CREATE = "created"
    UPDATE = "updated"
    DELETE = "deleted"
    NONE = "unchanged"
    WAIT = "waiting"  # its parent is not in Campaign yet


@dataclass
class Step:
    key: str
    action: Action
    href: str = ""
    values: dict[str, Any] = field(default_factory=dict)
    error: str = ""  # set when the record failed (planning or writing)
    retry: bool = False  # failed in a way the next run should try again (lost answer)


class ParentCache:
    """Parents' PKeys by (resource, key) for one slice: many children share a parent."""

    def __init__(self, client: AdobeCampaignClient) -> None:
        self._client = client
        self._known: dict[tuple[str, str], str] = {}

    def pkey(self, resource: str, key: str) -> str | None:
        found = self._known.get((resource, key))
        if found is not None:
            return found
        record = self._client.get_by_key(resource, key)
        if record is None or not record.get("PKey"):
            return None
        self._known[(resource, key)] = str(record["PKey"])
        return self._known[(resource, key)]


@dataclass
class PageWriter:
    client: AdobeCampaignClient
    schema: TableSchema
    load: bool  # the initial load or a replay: every mapped field
    parents: ParentCache
    workers: int = 1

    @property
    def resource(self) -> str:
        return self.schema.mapping.campaign_resource

    def _each(self, items: list[Any], work: Callable[[Any], Step]) -> list[Step]:
        return deadline.in_parallel(work, items, self.workers)

    def plan(
        self,
        upserts: Sequence[Mapping[str, Any]],
        deleted: Sequence[str],
        linked: LinkedPage | None = None,
    ) -> list[Step]:
        """Each record's step; `linked` holds the page's values of columns through lookups."""
        page = linked or LinkedPage()
        steps = self._each(list(upserts), lambda record: self._plan_upsert(record, page))
        steps += self._each(list(deleted), self._plan_delete)
        return steps

    def write(self, steps: list[Step]) -> list[Step]:
        return self._each(steps, self._write)

    # Decisions ---------------------------------------------------------------------------------

    def _existing(self, key: str) -> dict[str, Any] | None:
        return self.client.get_by_key(self.resource, key)

    def _plan_upsert(self, record: Mapping[str, Any], linked: LinkedPage) -> Step:
        schema = self.schema
        key = schema.key_of(record)
        try:
            values, labels = schema.values(record)
            outcome = filters.decide(schema.mapping.filter, values)
            if outcome is FilterOutcome.SKIP:
                return Step(key, Action.NONE)
            if key in linked.unread:
                return Step(key, Action.NONE, error=unread_message(linked.unread[key]), retry=True)
            values.update(linked.values.get(key, {}))
            labels.update(linked.labels.get(key, {}))
            existing = self._existing(key)
            if outcome is FilterOutcome.DELETE:
                if existing is None:
                    return Step(key, Action.NONE)
                return Step(key, Action.DELETE, href=str(existing["href"]))
            write = Write.LOAD if self.load else Write.CREATE if existing is None else Write.UPDATE
            fields = campaign_record(schema.mapping, values, labels, schema.choices, write)
            for mapping in schema.mapping.fields:
                parent = schema.links.get(mapping.dynamics_field)
                if parent is None or mapping.campaign_field not in fields:
                    continue
                parent_key = values.get(mapping.dynamics_field)
                if not parent_key:
                    del fields[mapping.campaign_field]  # no parent: the link is left as it is
                    continue
                pkey = self.parents.pkey(parent.campaign_resource, str(parent_key))
                if pkey is None:
                    return Step(key, Action.WAIT)
                fields[mapping.campaign_field] = {"PKey": pkey}
            if existing is None:
                return Step(key, Action.CREATE, values=fields)
            if not fields:
                return Step(key, Action.NONE)  # only fields without "apply updates" mapped
            return Step(key, Action.UPDATE, href=str(existing["href"]), values=fields)
        except RECORD_ERRORS as error:
            return Step(key, Action.NONE, error=str(error))

    def _plan_delete(self, key: str) -> Step:
        if not self.schema.mapping.apply_deletes:
            return Step(key, Action.NONE)
        try:
            existing = self._existing(key)
        except RECORD_ERRORS as error:
            return Step(key, Action.NONE, error=str(error))
        if existing is None:
            return Step(key, Action.NONE)
        return Step(key, Action.DELETE, href=str(existing["href"]))

    # Writes ------------------------------------------------------------------------------------

    def _write(self, step: Step) -> Step:
        try:
            if step.action is Action.CREATE:
                self._create(step)
            elif step.action is Action.UPDATE:
                try:
                    self.client.update(step.href, step.values)
                except RecordNotFound:  # deleted in Campaign since it was read
                    self._create(step)
            elif step.action is Action.DELETE:
                self.client.delete(step.href)
        except OutcomeUnknown as error:
            step.error, step.retry = str(error), True
        except RECORD_ERRORS as error:
            step.error = str(error)
        return step

    def _create(self, step: Step) -> None:
        try:
            try:
                self.client.create(self.resource, step.values)
            except OutcomeUnknown:
                # Sent again once: if the first one landed, the key makes this one a conflict.
                self.client.create(self.resource, step.values)
        except DuplicateKey:
            # It exists: created by this page before a kill, by the lost answer above, or in
            # the meantime. The page counted it as planned; its values are written.
            existing = self._existing(step.key)
            if existing is None:
                raise
            self.client.update(str(existing["href"]), step.values)
