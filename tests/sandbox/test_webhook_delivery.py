"""How the Dataverse sandbox delivers webhook posts: auth per service endpoint, the 256 KB
cut, one retry only for 502/503/504, recorded failures, hold / release, reset and stop."""

from __future__ import annotations

import httpx
import pytest

from sandbox.dataverse import DataverseState
from sandbox.dataverse.plugin_registration import (
    AUTH_HTTP_HEADER,
    AUTH_HTTP_QUERY_STRING,
    AUTH_WEBHOOK_KEY,
    IMAGE_POST,
)
from tests.fixtures.sandboxes import DataverseSandbox
from tests.fixtures.webhook_receiver import (
    WEBHOOK_KEY,
    Receiver,
    attributes,
    delivered,
    new_contact,
    parameters,
    register_step,
)

# Authentication ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("authtype", "authvalue", "query", "headers"),
    [
        (AUTH_WEBHOOK_KEY, WEBHOOK_KEY, {"code": WEBHOOK_KEY}, {}),
        (
            AUTH_HTTP_HEADER,
            '<settings><setting name="x-functions-key" value="k1" />'
            '<setting name="x-extra" value="two" /></settings>',
            {},
            {"x-functions-key": "k1", "x-extra": "two"},
        ),
        (
            AUTH_HTTP_QUERY_STRING,
            '<settings><setting name="code" value="k1" /><setting name="tenant" value="t 2" />'
            "</settings>",
            {"code": "k1", "tenant": "t 2", "route": "kept"},
            {},
        ),
    ],
    ids=["WebhookKey", "HttpHeader", "HttpQueryString"],
)
def test_each_auth_type_is_sent_as_dataverse_sends_it(
    dataverse_sandbox: DataverseSandbox,
    webhook_receiver: Receiver,
    authtype: int,
    authvalue: str,
    query: dict[str, str],
    headers: dict[str, str],
) -> None:
    state = dataverse_sandbox.state
    contact_id = new_contact(state)
    url = webhook_receiver.url + ("?route=kept" if "route" in query else "")
    register_step(state, url, "Update", "contact", authtype=authtype, authvalue=authvalue)

    state.update("contact", contact_id, {"firstname": "James"})

    [post] = delivered(state, webhook_receiver)
    assert post.query == query
    for name, value in headers.items():
        assert post.headers[name] == value


# Size, failures, switches -----------------------------------------------------------------------


def test_a_payload_over_256_kb_loses_its_parameters_and_images_and_says_so(
    dataverse_sandbox: DataverseSandbox, webhook_receiver: Receiver
) -> None:
    state = dataverse_sandbox.state
    list_id = state.insert("list", {"listname": "Dynamic", "createdfromcode": 2, "type": True})
    register_step(
        state, webhook_receiver.url, "Update", "list", images=(("Post", IMAGE_POST, "listname"),)
    )

    state.update("list", list_id, {"query": "<fetch>" + "x" * 300_000 + "</fetch>"})
    state.update("list", list_id, {"listname": "Small"})

    big, small = delivered(state, webhook_receiver)
    assert big.headers["x-ms-dynamics-msg-size-exceeded"]
    assert len(big.body) < 256 * 1024
    removed = {"ParentContext", "InputParameters", "PreEntityImages", "PostEntityImages"}
    assert removed.isdisjoint(big.json())
    assert (big.json()["MessageName"], big.json()["PrimaryEntityId"]) == ("Update", list_id)
    assert "x-ms-dynamics-msg-size-exceeded" not in small.headers
    assert attributes(small.json()["PostEntityImages"][0]["value"]) == {"listname": "Small"}


def test_502_is_retried_once_and_500_is_a_recorded_failure(
    dataverse_sandbox: DataverseSandbox, webhook_receiver: Receiver
) -> None:
    state = dataverse_sandbox.state
    contact_id = new_contact(state)
    step_id = register_step(state, webhook_receiver.url, "Update", "contact")
    webhook_receiver.statuses.extend([502, 200, 503, 504, 500])

    state.update("contact", contact_id, {"firstname": "A"})  # 502, then 200
    state.update("contact", contact_id, {"firstname": "B"})  # 503, 504: failed after one retry
    state.update("contact", contact_id, {"firstname": "C"})  # 500: failed, no retry

    posts = delivered(state, webhook_receiver)
    names = [attributes(parameters(p.json())["Target"])["firstname"] for p in posts]
    assert names == ["A", "A", "B", "B", "C"]
    assert posts[0].body == posts[1].body  # the retry is the same post
    counts = state.webhooks.counts
    assert (counts.posted, counts.retried, counts.failed) == (5, 2, 2)
    assert counts.answered == {502: 1, 200: 1, 503: 1, 504: 1, 500: 1}
    assert [(f.status, f.step_id, f.message) for f in state.webhooks.failures] == [
        (504, step_id, "Update"),
        (500, step_id, "Update"),
    ]


def test_an_unreachable_or_malformed_endpoint_is_a_recorded_failure_and_delivery_goes_on(
    dataverse_sandbox: DataverseSandbox, webhook_receiver: Receiver
) -> None:
    state = dataverse_sandbox.state
    contact_id = new_contact(state)
    register_step(state, "http://127.0.0.1:9/hook", "Update", "contact")
    register_step(state, "http://[::1/hook", "Update", "contact")
    register_step(state, webhook_receiver.url, "Update", "contact")

    state.update("contact", contact_id, {"firstname": "James"})
    state.update("contact", contact_id, {"firstname": "Jim"})

    assert len(delivered(state, webhook_receiver)) == 2
    failures = state.webhooks.failures
    assert [f.status for f in failures] == [None] * 4
    assert sum("ConnectError" in f.error for f in failures) == 2
    assert state.webhooks.counts.failed == 4


def test_delivery_can_be_held_and_released_and_never_runs_inside_the_request(
    dataverse_sandbox: DataverseSandbox, dataverse_api: httpx.Client, webhook_receiver: Receiver
) -> None:
    state = dataverse_sandbox.state
    contact_id = new_contact(state)
    register_step(state, webhook_receiver.url, "Update", "contact")
    state.webhooks.hold()

    assert dataverse_api.patch(f"contacts({contact_id})", json={"firstname": "X"}).is_success
    state.update("contact", contact_id, {"firstname": "Y"})

    assert not state.wait_for_webhooks(0.2)
    assert state.webhooks.queued == 2
    assert webhook_receiver.posts == []
    state.webhooks.release()
    names = [
        attributes(parameters(p.json())["Target"])["firstname"]
        for p in delivered(state, webhook_receiver)
    ]
    assert names == ["X", "Y"]  # in order


def test_reset_forgets_queued_posts_and_counts(
    dataverse_sandbox: DataverseSandbox, webhook_receiver: Receiver
) -> None:
    state = dataverse_sandbox.state
    contact_id = new_contact(state)
    register_step(state, webhook_receiver.url, "Update", "contact")
    state.webhooks.hold()
    state.update("contact", contact_id, {"firstname": "X"})

    state.reset()

    assert state.wait_for_webhooks(1.0)
    assert webhook_receiver.posts == []
    assert state.webhooks.counts.posted == 0


def test_stopping_ends_the_delivery_thread() -> None:
    state = DataverseState()
    contact_id = state.insert("contact", {"lastname": "Solo"})
    register_step(state, "http://127.0.0.1:9/hook", "Update", "contact")
    state.update("contact", contact_id, {"firstname": "X"})
    thread = state.webhooks._thread
    assert thread is not None and thread.is_alive()

    state.webhooks.stop()

    assert not thread.is_alive()
