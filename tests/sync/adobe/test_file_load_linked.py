"""Fields through lookups in the initial transfer by file (SFTP, the Dataverse and ACS
sandboxes, Azurite): each page's linked records are read in one `$batch` per hop, and the
values reach Campaign through the file and the import workflow."""

from __future__ import annotations

import math

import pytest

from sandbox.adobe.state import Workflow
from sandbox.dataverse.app import BATCH_TEMPLATE
from shared.accounts import EmailAccount
from shared.runtime import Runtime
from shared.storage.adobe_config_model import (
    Comparison,
    FieldMapping,
    FilterRule,
    RecordFilter,
    TableMapping,
)
from tests.fixtures.filedrop import SftpServer
from tests.fixtures.sandboxes import AdobeSandbox, DataverseSandbox
from tests.sync.adobe.file_load_world import (
    Transfer,
    add_contacts,
    profile_mapping,
    sftp_import_workflow,
)
from tests.sync.adobe.test_file_load_sftp import PASSWORD_SETTING, remote, sftp_settings

CONTACTS = 250
PAGE_SIZE = 100


def linked_mapping() -> TableMapping:
    mapping = profile_mapping()
    mapping.fields += [
        FieldMapping(dynamics_field="parentcustomerid.name", campaign_field="title"),
        FieldMapping(dynamics_field="parentcustomerid.primarycontactid.fullname",
                     campaign_field="middleName"),
    ]  # fmt: skip
    return mapping


@pytest.fixture
def workflow(adobe_sandbox: AdobeSandbox, sftp_server: SftpServer) -> Workflow:
    return sftp_import_workflow(adobe_sandbox, sftp_server)


def test_linked_fields_go_in_the_file_read_once_per_hop_for_each_page(
    sync_runtime: Runtime, globex: EmailAccount, sftp_server: SftpServer, workflow: Workflow,
    dataverse_sandbox: DataverseSandbox, adobe_sandbox: AdobeSandbox,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.setenv(PASSWORD_SETTING, sftp_server.password)
    dv = dataverse_sandbox.state
    boss = dv.insert("contact", {"firstname": "Grace", "lastname": "Hopper"})
    companies = [
        dv.insert("account", {"name": name, "primarycontactid@odata.bind": f"/contacts({boss})"})
        for name in ("Contoso", "Fabrikam")
    ]
    parent = {"parentcustomerid_account@odata.bind": lambda n: f"/accounts({companies[n % 2]})"}
    people = add_contacts(dataverse_sandbox, CONTACTS, **parent)
    transfer = Transfer(sync_runtime, globex, sftp_settings(sftp_server), linked_mapping(),
                        page_size=PAGE_SIZE)  # fmt: skip
    batches = dv.counters.count("POST", BATCH_TEMPLATE)

    outcome = transfer.run()

    assert (outcome.rows, outcome.rejected) == (CONTACTS + 1, [])
    header = remote(sftp_server, outcome.remote_name).decode().splitlines()[0]
    assert header == "externalId\temail\tfirstName\tlastName\ttitle\tmiddleName"
    pages = math.ceil((CONTACTS + 1) / PAGE_SIZE)
    # Each page: its accounts in one $batch, their primary contacts in a second.
    assert dv.counters.count("POST", BATCH_TEMPLATE) - batches == 2 * pages
    held = {p["externalId"]: p for p in adobe_sandbox.state.profiles()}
    assert [held[p]["title"] for p in people[:2]] == ["Contoso", "Fabrikam"]
    assert {held[p]["middleName"] for p in people} == {"Grace Hopper"}
    assert held[boss]["title"] in ("", None)  # no parent: the field is empty


def test_a_lookup_mapped_and_filtered_on_directly_is_read_by_its_web_api_name(
    sync_runtime: Runtime, globex: EmailAccount, sftp_server: SftpServer, workflow: Workflow,
    dataverse_sandbox: DataverseSandbox, adobe_sandbox: AdobeSandbox,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    # Dataverse refuses `$select=parentcustomerid`: the column is `_parentcustomerid_value`.
    monkeypatch.setenv(PASSWORD_SETTING, sftp_server.password)
    dv = dataverse_sandbox.state
    company = dv.insert("account", {"name": "Contoso"})
    employed = add_contacts(dataverse_sandbox, 3, **{
        "parentcustomerid_account@odata.bind": lambda n: f"/accounts({company})"})  # fmt: skip
    for n in range(2):  # no company: filtered out
        dv.insert("contact", {"lastname": f"Alone{n}", "emailaddress1": f"alone{n}@x.test"})
    mapping = profile_mapping()
    mapping.fields.append(FieldMapping(dynamics_field="parentcustomerid", campaign_field="title"))
    mapping.filter = RecordFilter(
        rules=[FilterRule(dynamics_field="parentcustomerid", comparison=Comparison.IS_NOT_EMPTY)]
    )
    transfer = Transfer(sync_runtime, globex, sftp_settings(sftp_server), mapping)

    outcome = transfer.run()

    assert (outcome.rows, outcome.rejected) == (3, [])
    held = {p["externalId"]: p for p in adobe_sandbox.state.profiles()}
    assert sorted(held) == sorted(employed)
    assert {p["title"] for p in held.values()} == {company.lower()}
