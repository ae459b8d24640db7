"""The initial transfer by file to S3 (moto's server over HTTP), into a custom resource: parts
of a multipart upload recorded in Table Storage, killed and resumed on a fresh runtime with
only the missing parts, an upload S3 no longer knows starting over, refused credentials."""

from __future__ import annotations

import gzip
import os

import pytest

from sandbox.adobe.state import Workflow
from shared.accounts import EmailAccount
from shared.clients.filedrop import DropRefused
from shared.runtime import Runtime
from shared.storage.adobe_config_model import FieldMapping, TableMapping
from shared.storage.adobe_file_drop import FileDropSettings, S3Destination
from shared.sync.adobe.file_load_progress import FileLoadProgress
from tests.fixtures.filedrop import S3Server
from tests.fixtures.sandboxes import AdobeSandbox, DataverseSandbox
from tests.sync.adobe.file_load_world import Transfer, add_contacts, import_workflow

KEY_ID_SETTING = "FILEDROP_TEST_S3_KEY_ID"
SECRET_SETTING = "FILEDROP_TEST_S3_SECRET"
PART_SIZE = 5 * 1024 * 1024  # S3's minimum, which moto enforces
CONTACTS = 7000  # about 2 KB each, 3,000 to a part: two full parts and a last one
RESOURCE = "cusContactNotes"


def notes_mapping() -> TableMapping:
    return TableMapping(
        dynamics_table="contact",
        campaign_resource=RESOURCE,
        campaign_key="crmId",
        fields=[
            FieldMapping(dynamics_field="contactid", campaign_field="crmId"),
            FieldMapping(dynamics_field="emailaddress1", campaign_field="email"),
            FieldMapping(dynamics_field="description", campaign_field="notes"),
        ],
    )


def s3_settings(server: S3Server, bucket: str, **changes: object) -> FileDropSettings:
    destination = S3Destination(
        bucket=bucket, endpoint_url=server.endpoint_url, region=server.region,
        access_key_id_setting=KEY_ID_SETTING, secret_access_key_setting=SECRET_SETTING,
    )  # fmt: skip
    values: dict[str, object] = {
        "destination": destination, "workflow_id": "WKF_D365_LOAD", "part_size": PART_SIZE,
    }  # fmt: skip
    values.update(changes)
    return FileDropSettings.model_validate(values)


@pytest.fixture(scope="module")
def notes() -> list[str]:
    """Random hex, so that the rows are as big as they look."""
    return [os.urandom(990).hex() for _ in range(CONTACTS)]


@pytest.fixture
def world(
    sync_runtime: Runtime, globex: EmailAccount, s3_server: S3Server, s3_bucket: str,
    dataverse_sandbox: DataverseSandbox, adobe_sandbox: AdobeSandbox, notes: list[str],
    monkeypatch: pytest.MonkeyPatch,
) -> Transfer:  # fmt: skip
    monkeypatch.setenv(KEY_ID_SETTING, s3_server.access_key_id)
    monkeypatch.setenv(SECRET_SETTING, s3_server.secret_access_key)
    add_contacts(dataverse_sandbox, CONTACTS, description=lambda n: notes[n])
    adobe_sandbox.state.add_custom_resource(
        RESOURCE, {"crmId": "", "email": "", "notes": ""}, unique=("crmId",)
    )
    settings = s3_settings(s3_server, s3_bucket)
    return Transfer(sync_runtime, globex, settings, notes_mapping(), page_size=500)


@pytest.fixture
def workflow(adobe_sandbox: AdobeSandbox, s3_server: S3Server, s3_bucket: str) -> Workflow:
    def read(name: str) -> bytes | None:
        try:
            body = s3_server.client().get_object(Bucket=s3_bucket, Key=f"d365_loads/{name}")
        except Exception:
            return None
        return bytes(body["Body"].read())

    return import_workflow(adobe_sandbox, read, resource=RESOURCE, key="crmId")


def test_a_table_goes_to_a_custom_resource_through_s3_parts(
    world: Transfer, workflow: Workflow, s3_server: S3Server, s3_bucket: str,
    adobe_sandbox: AdobeSandbox, dataverse_sandbox: DataverseSandbox,
) -> None:  # fmt: skip
    outcome = world.run()

    assert (outcome.parts, outcome.rows, outcome.sent_parts) == (3, CONTACTS, [1, 2, 3])
    rows = adobe_sandbox.state.tables[RESOURCE].rows.values()
    by_id = {row["crmId"]: row["notes"] for row in rows}
    assert set(by_id) == set(dataverse_sandbox.state.table("contact").ids_after(None))
    some = next(iter(by_id))
    assert by_id[some] == dataverse_sandbox.state.row("contact", some)["description"]  # type: ignore[index]
    uploads = s3_server.client().list_multipart_uploads(Bucket=s3_bucket).get("Uploads", [])
    assert uploads == []  # completed, nothing left behind


def test_killed_after_a_part_the_upload_resumes_with_the_missing_parts(
    world: Transfer, workflow: Workflow, s3_server: S3Server, s3_bucket: str,
    adobe_sandbox: AdobeSandbox,
) -> None:  # fmt: skip
    world.run_until_killed(1)
    state = world.rt.repository(FileLoadProgress).load("globex", "contact")
    assert state is not None and state.parts == 1 and state.upload_id
    listed = s3_server.client().list_parts(
        Bucket=s3_bucket, Key=f"d365_loads/{state.remote_name}", UploadId=state.upload_id
    )
    assert [p["PartNumber"] for p in listed["Parts"]] == [1]

    fresh = Runtime(world.rt.settings, clock=world.rt.clock, retry=world.rt.retry)
    outcome = Transfer(fresh, world.account, world.settings, world.mapping, page_size=500).run()

    assert outcome.sent_parts == [2, 3]
    body = s3_server.client().get_object(Bucket=s3_bucket, Key=f"d365_loads/{outcome.remote_name}")
    lines = body["Body"].read().decode().splitlines()
    assert len(lines) == CONTACTS + 1 and len(set(lines)) == CONTACTS + 1
    assert len(adobe_sandbox.state.tables[RESOURCE].rows) == CONTACTS
    assert len(adobe_sandbox.state.triggers) == 1


def test_an_upload_s3_no_longer_knows_starts_over(
    world: Transfer, workflow: Workflow, s3_server: S3Server, s3_bucket: str,
    adobe_sandbox: AdobeSandbox,
) -> None:  # fmt: skip
    world.run_until_killed(1)
    state = world.rt.repository(FileLoadProgress).load("globex", "contact")
    assert state is not None and state.upload_id
    s3_server.client().abort_multipart_upload(
        Bucket=s3_bucket, Key=f"d365_loads/{state.remote_name}", UploadId=state.upload_id
    )

    outcome = world.run()

    assert outcome.sent_parts == [1, 2, 3]
    assert "no longer holds the 1 parts recorded" in outcome.notes[0]
    assert len(adobe_sandbox.state.tables[RESOURCE].rows) == CONTACTS


def test_gzip_parts_make_one_file_the_import_reads(
    world: Transfer, workflow: Workflow, s3_server: S3Server, s3_bucket: str,
    adobe_sandbox: AdobeSandbox,
) -> None:  # fmt: skip
    world.settings = world.settings.model_copy(update={"gzip": True})
    outcome = world.run()

    assert outcome.remote_name.endswith(".txt.gz")
    body = s3_server.client().get_object(Bucket=s3_bucket, Key=f"d365_loads/{outcome.remote_name}")
    assert len(gzip.decompress(body["Body"].read()).splitlines()) == CONTACTS + 1
    assert len(adobe_sandbox.state.tables[RESOURCE].rows) == CONTACTS


def test_a_missing_bucket_is_refused_by_name(world: Transfer, workflow: Workflow) -> None:
    destination = world.settings.destination.model_copy(update={"bucket": "no-such-drop-bucket"})
    world.settings = world.settings.model_copy(update={"destination": destination})

    with pytest.raises(DropRefused, match=r"S3 refused the upload of s3://no-such-drop-bucket/"):
        world.run()
