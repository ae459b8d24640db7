"""How far an AddressBooks run has got: the JSON cursor its checkpoints save, and the audit
detail each address book ends with. Counts of the book in progress travel in the cursor, so a
book read over several slices still gets one detail row with its whole counts."""

from __future__ import annotations

from pydantic import BaseModel

from shared.audit import AuditDetail, AuditStatus, Counts
from shared.engine.cursor import Cursor
from shared.sync.marketing_lists.book_pull import PageResult

MAX_FAILURE_KEYS = 5  # emails (with their error) named in a book's detail message


class BookProgress(BaseModel):
    book_id: int
    skip: int = 0  # the v2 offset the next page starts at (the client's page position)
    read: int = 0
    added: int = 0
    created: int = 0
    already: int = 0
    failed: int = 0
    skipped: dict[str, int] = {}
    failures: list[str] = []
    list_created: bool = False

    def add(self, page: PageResult) -> None:
        self.read += page.read
        self.added += page.added
        self.created += page.created
        self.already += page.already
        self.failed += len(page.failures)
        for reason, count in page.skipped.items():
            self.skipped[reason] = self.skipped.get(reason, 0) + count
        room = MAX_FAILURE_KEYS - len(self.failures)
        self.failures += [f"{email}: {why}" for email, why in list(page.failures.items())[:room]]

    @property
    def counts(self) -> Counts:
        return Counts(read=self.read, created=self.created, updated=self.added, failed=self.failed)

    def message(self) -> str:
        parts = ["New static marketing list created."] if self.list_created else []
        parts.append(
            f"{self.added} members added, {self.created} leads created, "
            f"{self.already} already in the list."
        )
        if self.skipped:
            parts.append("; ".join(f"{r}: {n}" for r, n in sorted(self.skipped.items())) + ".")
        if self.failed:
            more = ", ..." if self.failed > len(self.failures) else ""
            parts.append(f"Failed: {self.failed} ({'; '.join(self.failures)}{more}).")
        return " ".join(parts)

    def detail(self, book_name: str) -> AuditDetail:
        status = AuditStatus.COMPLETED_WITH_ERRORS if self.failed else AuditStatus.COMPLETED
        return AuditDetail(
            item=book_name, status=status, message=self.message(), counts=self.counts
        )


class RunProgress(Cursor):
    """The AddressBooks cursor."""

    done: list[int] = []  # address books finished in this run
    book: BookProgress | None = None  # the book being read
    details: int = 0  # detail rows written (over all slices)
    synced_books: int = 0
    failed_books: int = 0
    errors: list[str] = []  # distinct messages of books that failed

    def start(self, book_id: int) -> BookProgress:
        if self.book is None or self.book.book_id != book_id:
            self.book = BookProgress(book_id=book_id)
        return self.book

    def finish(self, book_id: int, detail: AuditDetail) -> None:
        self.book = None
        self.done.append(book_id)
        self.details += 1
        if detail.status is AuditStatus.FAILED:
            self.failed_books += 1
            if detail.message not in self.errors:
                self.errors.append(detail.message)
        else:
            self.synced_books += 1
