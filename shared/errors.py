"""The product's errors: one tree, five categories, one table of what to do about each.

SyncError                        base: `category` says what to do; `str(error)` is audited
├── RetriableError               RETRIABLE: the same request later may succeed
│   ├── TransientHttpError       429, 5xx, timeout, dropped connection (clients/retry.py)
│   ├── RetriesExhausted         still failing after the bounded retries
│   ├── ImportStillRunning       a Dotdigital import outlived the client's wait
│   ├── SignalLockedOut          an ACS workflow signal within its 10-minute lockout (adobe/)
│   ├── StorageUnreachable       Table or Queue Storage did not answer (azure_errors.py)
│   ├── DropUnreachable          an SFTP or S3 file drop did not answer (clients/filedrop/)
│   └── CampaignUnreachable      ACS did not answer while a mapping was checked (service/)
├── FatalError                   FATAL: retrying cannot help until someone acts
│   ├── ConfigurationError       a setting or secret is missing or invalid
│   ├── CursorError              a saved cursor that cannot be used (engine/cursor.py)
│   ├── AuthenticationError      the platform, Dataverse or Storage refused the credentials
│   ├── OutcomeUnknown           a write not safe to resend lost its answer
│   ├── ProvisioningError        the org cannot take the connector's tables (provisioning.py)
│   ├── DropRefused              a file drop refused a transfer, or a part changed (filedrop/)
│   ├── WebhookRegistrationError the org cannot take the webhook's steps (webhook_changes.py)
│   ├── CampaignCheckFailed      ACS refused the credential while a mapping was checked (service/)
│   └── ApiError                 a 4xx the API explained (`status`, `code`)
│       ├── DataverseApiError    (clients/dataverse/transport.py)
│       ├── PagingLoopError      Dotdigital handed back a page twice (clients/dotdigital/errors.py)
│       ├── ImportFailedError    a contact import ended in a failure status (same module)
│       ├── EnrolmentLimitReached the hour's program enrolment calls are spent (dotdigital/)
│       ├── ForeignHref          an ACS link outside the account's base URL (clients/adobe/)
│       ├── JournalExpired       an I/O Events journal position past its 7 days (adobe/journal)
│       └── AdminProblem         the admin API's problem+json, as the console met it (console/)
├── BadInputError                BAD_INPUT: the request or the data breaks a rule; nothing done
│   ├── InvalidMessage           a queue message that breaks the contract: dead-letter it
│   ├── InvalidWebhook           a webhook body that is not a RemoteExecutionContext (webhooks/)
│   ├── ScheduleError            a schedule or sync window the product refuses (scheduling/)
│   ├── MappingError             a data mapping the product refuses (mappings/model.py)
│   ├── NotAvailable             a sync type the account's platform lacks (engine/registry.py)
│   ├── InvalidFetchXml          a marketing list's query that cannot be paged (dataverse/)
│   ├── InvalidSchedule          a schedule row a hand edit made unreadable (schedules_repo.py)
│   ├── UnsafeCampaignSendError  a campaign send that would reach ALL contacts (dotdigital/)
│   ├── EngineRefusal            ACS's engine refused the data (XTK/RST codes; clients/adobe/)
│   ├── ProgramNotActive         only an active program can be allowed (service/programs.py)
│   ├── UserUnusable             a disabled Dynamics user cannot be mapped (same module)
│   ├── AccountUnusable          the account's settings cannot reach its platform (same)
│   ├── AdobeConfigRefused       an ACS mapping breaks Adobe's limits (sync/adobe/limits.py)
│   ├── NotAdobeAccount          ACS configuration asked of another platform's account (service/)
│   ├── NoChangeTracking         a Dynamics table without change tracking cannot be mapped
│   ├── ChangeTrackingOff        a mapped table's change tracking was turned off (ingress/)
│   ├── ReplayTooLarge           an ACS replay of a table of 2,000,000 records or more (service/)
│   ├── UnknownColumn            a mapped Dynamics column the table's metadata lacks (service/)
│   ├── ResourceNotPublished     a cus resource ACS does not list (service/adobe_campaign_fields.py)
│   ├── UnknownCampaignField     a mapped Campaign field its resource's metadata lacks (same)
│   ├── CampaignTypeMismatch     a Dynamics column type the Campaign field cannot take (same)
│   └── UnreadableEvent          a Campaign email event without its id or time (sync/adobe/)
├── ConflictError                CONFLICT: the state changed, or exists already; re-read first
│   ├── ConcurrencyConflict      an ETag-conditional write lost a race
│   │   ├── LeaseLost            another worker took the run over: stop, write nothing more
│   │   ├── PreconditionFailed   an API refused a conditional write (HTTP 412)
│   │   ├── TransactionRefused   a Table transaction met a changed, gone or existing row
│   │   └── StoreConflict        a list snapshot's compaction met another writer (snapshot_repo)
│   ├── DuplicateMapping         the label is mapped for that entity already (mappings/model.py)
│   ├── DuplicateLabel           a data label of that name exists already (pipeline/admin.py)
│   ├── AccountExists            an email account with that id exists already (service/)
│   ├── DuplicateKey             ACS refused a repeated unique key, PGS-220000 (clients/adobe/)
│   ├── LabelInUse               a mapping still uses the data label (service/labels.py)
│   ├── UserAlreadyMapped        the Dynamics user is mapped to another platform user (service/)
│   └── AdobeMappedAlready       an ACS table, resource or field mapped already (sync/adobe/)
└── NotFoundError                NOT_FOUND: what the request names does not exist
    ├── AccountNotFound          no email account with that id (pipeline/admin.py)
    ├── RunNotFound              no audit row with that key (service/audit.py)
    ├── RecordNotFound           an ACS href or key names nothing (clients/adobe/)
    ├── LabelNotFound            no data label of that name (service/labels.py)
    ├── MappingNotFound          no mapping for that label and entity (service/mappings.py)
    ├── SuppressionNotFound      no email suppression row of that id (service/suppressions.py)
    ├── PersonNotFound           no contact or lead with that id (service/timeline.py)
    ├── ProgramNotFound          no such program, or not allowed (service/programs.py)
    ├── UserNotFound             no such platform or Dynamics user, or no mapping (same)
    ├── DynamicsTableNotFound    no Dynamics table of that name (service/adobe_dynamics.py)
    ├── MappedTableGone          a mapped Dynamics table the org no longer has (sync/adobe/ingress/)
    └── NotMapped                no ACS mapping of that table or field (service/adobe_config.py)

Outside the tree on purpose: `shared.deadline.OutOfTime`, the signal that a slice's time is up
(a BaseException, so that no handler of a sync type mistakes it for a failure).

`HANDLING` maps each category to what the worker, the CLI and the HTTP API do, so they agree.
Programming errors (a caller breaking a function's contract, e.g. a page size out of range)
stay `ValueError`/`TypeError`: they are bugs to fix, not conditions to handle.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType
from typing import ClassVar, Final


class Category(StrEnum):
    RETRIABLE = "retriable"
    FATAL = "fatal"
    BAD_INPUT = "bad input"
    CONFLICT = "conflict"
    NOT_FOUND = "not found"


@dataclass(frozen=True)
class Handling:
    """What to do about an error of one category.

    `retry_run`: the worker keeps the run's checkpoint and tries again later (bounded), rather
    than finishing it as Failed with `str(error)`. `http_status`: the HTTP API's answer.
    `exit_code`: the CLI's exit status."""

    retry_run: bool
    http_status: int
    exit_code: int


# Conflicts are retried because every retry starts by re-reading the state that changed.
# RETRIABLE exits 75, EX_TEMPFAIL of sysexits.h: "try again later" to cron and scripts;
# BAD_INPUT exits 2 like the CLI's own usage errors.
HANDLING: Final = MappingProxyType(
    {
        Category.RETRIABLE: Handling(retry_run=True, http_status=503, exit_code=75),
        Category.FATAL: Handling(retry_run=False, http_status=500, exit_code=1),
        Category.BAD_INPUT: Handling(retry_run=False, http_status=422, exit_code=2),
        Category.CONFLICT: Handling(retry_run=True, http_status=409, exit_code=3),
        Category.NOT_FOUND: Handling(retry_run=False, http_status=404, exit_code=4),
    }
)


def category_of(error: BaseException) -> Category:
    """A product error's category; anything else is a bug, which retrying does not fix."""
    return error.category if isinstance(error, SyncError) else Category.FATAL


def handling(error: BaseException) -> Handling:
    return HANDLING[category_of(error)]


class SyncError(Exception):
    """Base class. Raise a category's class or a subclass, never SyncError itself; keep the
    message readable and secret-free: it is written to the audit and printed by the CLI."""

    category: ClassVar[Category]

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        # Exactly one category per class, so `except RetriableError` and
        # `error.category is Category.RETRIABLE` always agree.
        found = {vars(k)["category"] for k in cls.__mro__ if "category" in vars(k)}
        if len(found) != 1:
            raise TypeError(f"{cls.__name__} must derive from exactly one category's class")

    def __init__(self, *args: object) -> None:
        if type(self) is SyncError:
            raise TypeError("raise a category's class (RetriableError, FatalError, ...)")
        super().__init__(*args)


class RetriableError(SyncError):
    category = Category.RETRIABLE


class FatalError(SyncError):
    category = Category.FATAL


class BadInputError(SyncError):
    category = Category.BAD_INPUT


class ConflictError(SyncError):
    category = Category.CONFLICT


class NotFoundError(SyncError):
    category = Category.NOT_FOUND


class RetriesExhausted(RetriableError):
    pass


class ConfigurationError(FatalError):
    pass


class AuthenticationError(FatalError):
    pass


class OutcomeUnknown(FatalError):
    """A call that is not safe to resend (a Dataverse create, a campaign send, a program
    enrolment) was sent and lost its answer: it may or may not have been applied.

    FATAL, not RETRIABLE: resending blindly could create a second record or send a campaign
    twice, so nothing retries it automatically. The run fails with this message; the next
    scheduled run re-reads both sides and redoes only what is missing."""


class ApiError(FatalError):
    def __init__(self, message: str, *, status: int, code: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


class InvalidMessage(BadInputError):
    pass


class ConcurrencyConflict(ConflictError):
    pass


class LeaseLost(ConcurrencyConflict):
    """Another worker took the run over (its lease expired): stop without writing more."""


class PreconditionFailed(ConcurrencyConflict):
    """An API refused a conditional write (HTTP 412): the record changed since it was read
    (a stale `If-Match` ETag) or it already exists (`If-None-Match: *`, a duplicate key).
    The message is the API's own, fit for the audit."""

    def __init__(self, message: str, *, status: int = 412, code: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
