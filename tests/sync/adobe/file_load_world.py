"""The world of the file load tests: contacts in the Dataverse sandbox, the globex Adobe
account, a file drop (the SFTP server or moto's S3) that the ACS sandbox's import workflow
reads when its signal fires, and a way to run a transfer to its end or to kill it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import Any

from sandbox.adobe.imports import FileImport
from sandbox.adobe.state import Workflow
from shared.accounts import EmailAccount
from shared.runtime import Runtime
from shared.storage.adobe_config_model import TableMapping, default_profile_mapping
from shared.storage.adobe_file_drop import FileDropSettings
from shared.sync.adobe.file_drop_target import DropTarget, open_target
from shared.sync.adobe.file_load import FileLoadJob, FileLoadOutcome, plan_job, transfer
from shared.sync.adobe.file_load_progress import FileLoadProgress
from tests.fixtures.filedrop import SftpServer
from tests.fixtures.sandboxes import AdobeSandbox, DataverseSandbox

WORKFLOW = "WKF_D365_LOAD"
SIGNAL = "signal"


def add_contacts(dataverse: DataverseSandbox, count: int, **extra: Any) -> list[str]:
    """`count` contacts with distinct emails; `extra` values (or callables of n) on each."""
    ids = []
    for n in range(count):
        values = {"firstname": "Pat", "lastname": f"Load{n:05d}", "emailaddress1": f"p{n}@x.test"}
        values.update({k: v(n) if callable(v) else v for k, v in extra.items()})
        ids.append(dataverse.state.insert("contact", values))
    return ids


def import_workflow(
    adobe: AdobeSandbox, read_file: Callable[[str], bytes | None], *, resource: str = "profile",
    key: str = "externalId", separator: str = "\t",
) -> Workflow:  # fmt: skip
    workflow = adobe.state.add_workflow(
        WORKFLOW, "Load Dynamics", signals={SIGNAL: ("fileName", "rows")}
    )
    workflow.imports[SIGNAL] = FileImport(resource, key, read_file, separator=separator)
    return workflow


def sftp_import_workflow(adobe: AdobeSandbox, sftp_server: SftpServer) -> Workflow:
    """The import workflow, reading the files the transfer completed on the SFTP server."""

    def read(name: str) -> bytes | None:
        path = sftp_server.root / "d365_loads" / name
        return path.read_bytes() if path.exists() else None

    return import_workflow(adobe, read)


@dataclass
class Transfer:
    """Runs transfers of one table for one account against a runtime."""

    rt: Runtime
    account: EmailAccount
    settings: FileDropSettings
    mapping: TableMapping
    page_size: int = 100

    def job(self) -> FileLoadJob:
        job = plan_job(self.rt.dataverse(), self.account.account_id, self.mapping, self.settings)
        return replace(job, page_size=self.page_size)

    def target(self) -> DropTarget:
        return open_target(self.settings, self.rt.settings, owner="the test's file drop")

    def steps(self) -> Iterator[None]:
        return transfer(
            self.job(),
            dataverse=self.rt.dataverse(),
            adobe=self.rt.adobe_client(self.account),
            progress=self.rt.repository(FileLoadProgress),
            target=self.target(),
            now=self.rt.clock,
        )

    def run(self) -> FileLoadOutcome:
        steps = self.steps()
        while True:
            try:
                next(steps)
            except StopIteration as done:
                outcome = done.value
                assert isinstance(outcome, FileLoadOutcome)
                return outcome

    def run_until_killed(self, checkpoints: int) -> None:
        """Run to the `checkpoints`-th checkpoint, then die (nothing after it runs)."""
        steps = self.steps()
        for _ in range(checkpoints):
            next(steps)


def profile_mapping() -> TableMapping:
    return default_profile_mapping()
