"""The ACS sandbox's import workflow, over HTTP: the signal (its trigger href read from the
workflow) loads the file its `fileName` names from the drop into the resource, reconciled on
the key; a missing or malformed file fails the import, not the signal."""

from __future__ import annotations

import gzip
import ssl
from collections.abc import Iterator

import httpx
import pytest

from sandbox.adobe.imports import FileImport
from tests.fixtures.sandboxes import AdobeSandbox


@pytest.fixture
def acs(adobe_sandbox: AdobeSandbox, sandbox_ssl_context: ssl.SSLContext) -> Iterator[httpx.Client]:
    with httpx.Client(verify=sandbox_ssl_context, timeout=5) as client:
        token = client.post(f"{adobe_sandbox.ims_url}/ims/token/v3", data={
            "grant_type": "client_credentials", "client_id": adobe_sandbox.client_id,
            "client_secret": adobe_sandbox.client_secret.get_secret_value(),
            "scope": adobe_sandbox.scopes,
        }).json()["access_token"]  # fmt: skip
        client.base_url = httpx.URL(adobe_sandbox.base_url + "/")
        client.headers.update({"Authorization": f"Bearer {token}",
                               "X-Api-Key": adobe_sandbox.client_id})  # fmt: skip
        yield client


def signal(acs: httpx.Client, workflow: str, **parameters: object) -> httpx.Response:
    activity = acs.get(f"workflow/execution/{workflow}").json()["activities"]["activity"]
    href = activity["signal"]["trigger"]["href"]
    return acs.post(href, json={"source": "test", "parameters": parameters})


def test_the_signal_imports_the_named_file_into_profiles(
    acs: httpx.Client, adobe_sandbox: AdobeSandbox
) -> None:
    state = adobe_sandbox.state
    existing = state.insert("profile", {"externalId": "c-1", "email": "old@x.test"})
    files = {
        "load.txt.gz": gzip.compress(b"externalId;email;blackListEmail\n")
        + gzip.compress(b"c-1;new@x.test;1\nc-2;two@x.test;0\n"),
    }
    workflow = state.add_workflow("WKF1", signals={"signal": ("fileName", "rows")})
    workflow.imports["signal"] = FileImport("profile", "externalId", files.get, separator=";")

    answer = signal(acs, "WKF1", fileName="load.txt.gz", rows=2)

    assert answer.status_code == 200
    [result] = workflow.imports["signal"].results
    assert (result.rows, result.created, result.updated, result.error) == (2, 1, 1, None)
    profiles = {p["externalId"]: p for p in state.profiles()}
    assert profiles["c-1"]["email"] == "new@x.test" and profiles["c-1"]["blackListEmail"] is True
    assert profiles["c-2"]["blackListEmail"] is False
    assert state.tables["profile"].rows[existing]["email"] == "new@x.test"


def test_a_missing_or_malformed_file_fails_the_import_not_the_signal(
    acs: httpx.Client, adobe_sandbox: AdobeSandbox
) -> None:
    files = {"bad.txt": b"externalId\temail\nc-1\n"}
    for number in (1, 2):
        workflow = adobe_sandbox.state.add_workflow(
            f"WKF{number}", signals={"signal": ("fileName",)}
        )
        workflow.imports["signal"] = FileImport("profile", "externalId", files.get)

    assert signal(acs, "WKF1", fileName="gone.txt").status_code == 200
    assert signal(acs, "WKF2", fileName="bad.txt").status_code == 200

    errors = [adobe_sandbox.state.workflows[f"WKF{n}"].imports["signal"].results[0].error
              for n in (1, 2)]  # fmt: skip
    assert errors == [
        "Load file: 'gone.txt' not found in the file drop",
        "Load file: line 2 has 1 columns, the header 2",
    ]
    assert adobe_sandbox.state.profiles() == []
