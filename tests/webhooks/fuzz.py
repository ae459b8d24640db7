"""Generated webhook posts for the endpoint's fuzz test (1,000 in CI) and bench/webhook_fuzz.py
(10,000): random bytes and JSON, and mutations of the valid variants, each with what it must do.

Kinds, and the rule `check` holds each answer to (always: never 5xx, a 4xx is one line):
- random: random bytes or JSON values (never a valid context): never recorded.
- invalid: a valid variant with one change that breaks it (a required key dropped, a wrong
  type in a key the connector reads): 400, never recorded.
- neutral: a valid variant with a change the connector must take (an unknown key, an optional
  key dropped, a big or odd value where the connector does not read): 202, recorded.
- arbitrary: any key at any depth dropped or replaced (by another type, a huge string, deep
  nesting), the oversize header at random: any 2xx/4xx, recorded only when answered 202.
"""

from __future__ import annotations

import copy
import json
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from hypothesis import strategies as st

from shared.pipeline.webhook_intake import WebhookRequest, receive
from shared.runtime import Runtime
from shared.webhooks.event import MESSAGES
from tests.webhooks import bodies

REQUIRED = (
    "MessageName", "PrimaryEntityName", "PrimaryEntityId", "CorrelationId", "OrganizationId",
    "UserId", "InitiatingUserId", "Depth", "OperationCreatedOn",
)  # fmt: skip
GUIDS = ("PrimaryEntityId", "CorrelationId", "UserId", "InitiatingUserId")
OPTIONAL = (
    "ParentContext", "SharedVariables", "OwningExtension", "BusinessUnitId", "OrganizationName",
    "Stage", "Mode", "RequestId", "SecondaryEntityName", "OutputParameters", "OperationId",
    "IsExecutingOffline", "IsInTransaction", "IsOfflinePlayback", "IsolationMode",
)  # fmt: skip
UNREAD = ("ParentContext", "SharedVariables", "OwningExtension", "OrganizationName", "RequestId")

leaves = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30)
)
json_values = st.recursive(
    leaves,
    lambda inner: (
        st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=12), inner, max_size=5)
    ),
    max_leaves=25,
)


def _nested(depth: int) -> Any:
    value: Any = "bottom"
    for n in range(depth):
        value = [value] if n % 2 else {"k": value}
    return value


def _deep(depth: int) -> str:
    """A marker `_encoded` replaces with JSON nested `depth` levels (json.dumps would overflow
    Python's stack past ~1,000 levels, the parser under test must not)."""
    return f"@@deep-{depth}@@"


_DEEP = re.compile(r'"@@deep-(\d+)@@"')


def _deep_json(match: re.Match[str]) -> str:
    half = int(match.group(1)) // 2
    return '{"k": [' * half + "0" + "]}" * half


huge_strings = st.builds(
    lambda n, c: c * n, st.integers(10_000, 1_200_000), st.sampled_from('a\n"\\é\u2028')
)
# Big but under the 1 MiB limit (in UTF-8), for values the connector must take.
big_strings = st.builds(lambda n, c: c * n, st.integers(10_000, 200_000), st.sampled_from('a\n"é'))
deep_values = st.builds(_deep, st.integers(50, 5_000))
odd_values = json_values | huge_strings | deep_values
not_guids = json_values.filter(lambda v: not (isinstance(v, str) and bodies.is_guid_text(v)))


@dataclass(frozen=True)
class Case:
    kind: str
    body: bytes
    size_exceeded: bool = False


def _encoded(body: Any) -> bytes:
    return _DEEP.sub(_deep_json, json.dumps(body, ensure_ascii=False)).encode(
        "utf-8", "surrogatepass"
    )


@st.composite
def _variant(draw: st.DrawFn) -> dict[str, Any]:
    return bodies.VARIANTS[draw(st.sampled_from(list(bodies.VARIANTS)))]()


@st.composite
def random_cases(draw: st.DrawFn) -> Case:
    if draw(st.booleans()):
        return Case("random", draw(st.binary(max_size=200)))
    return Case("random", _encoded(draw(json_values)))


@st.composite
def invalid_cases(draw: st.DrawFn) -> Case:
    body = draw(_variant())
    change = draw(st.sampled_from(["drop", "guid", "message", "depth", "date", "target", "inputs"]))
    if change == "drop":
        del body[draw(st.sampled_from(REQUIRED))]
    elif change == "guid":
        body[draw(st.sampled_from(GUIDS))] = draw(not_guids)
    elif change == "message":
        body["MessageName"] = draw(st.text(max_size=20).filter(lambda t: t not in MESSAGES))
    elif change == "depth":
        body["Depth"] = draw(
            st.sampled_from([None, "deep", "1.5", "", [], {}]) | st.integers(max_value=-1)
        )
    elif change == "date":
        body["OperationCreatedOn"] = draw(
            st.sampled_from(
                ["/Date(abc)/", "/Date(1506409448000)", "yesterday", "2017-09-26T07:04:08"]
            )
            | st.integers()
            | st.lists(st.integers(), max_size=2)
        )
    elif change == "target":
        body["InputParameters"] = [{"key": "Target", "value": draw(leaves | st.lists(leaves))}]
    else:
        body["InputParameters"] = draw(leaves | st.dictionaries(st.text(max_size=5), leaves))
    return Case("invalid", _encoded(body))


@st.composite
def neutral_cases(draw: st.DrawFn) -> Case:
    body = draw(_variant())
    change = draw(st.sampled_from(["add", "drop", "unread"]))
    if change == "add":
        body[draw(st.text(min_size=1, max_size=20).filter(lambda k: k not in body))] = draw(
            json_values
        )
    elif change == "drop":
        body.pop(draw(st.sampled_from(OPTIONAL)), None)
    else:
        body[draw(st.sampled_from(UNREAD))] = draw(
            json_values | big_strings | st.builds(_nested, st.integers(1, 60))
        )
    return Case("neutral", _encoded(body))


@st.composite
def arbitrary_cases(draw: st.DrawFn) -> Case:
    body: Any = draw(_variant())
    for _ in range(draw(st.integers(1, 3))):
        body = _mutate(draw, body)
    return Case("arbitrary", _encoded(body), size_exceeded=draw(st.booleans()))


def _mutate(draw: st.DrawFn, body: Any) -> Any:
    """Walk down a random path and drop or replace what is there."""
    root = copy.deepcopy(body)
    parent, key, node = None, None, root
    while isinstance(node, dict | list) and node and draw(st.integers(0, 3)) > 0:
        parent, key = (
            node,
            draw(st.sampled_from(list(node) if isinstance(node, dict) else range(len(node)))),
        )
        node = parent[key]
    if parent is None:
        return draw(odd_values)
    if draw(st.booleans()):
        del parent[key]
    else:
        parent[key] = draw(odd_values)
    return root


cases = random_cases() | invalid_cases() | neutral_cases() | arbitrary_cases()


@dataclass
class Tally:
    by_kind: Counter[tuple[str, int]] = field(default_factory=Counter)
    recorded_from: Counter[str] = field(default_factory=Counter)

    @property
    def server_errors(self) -> int:
        return sum(n for (_, status), n in self.by_kind.items() if status >= 500)


def check(rt: Runtime, case: Case, tally: Tally, key: str, recorder: Any) -> int:
    """Post `case` through `receive`; assert the rules of its kind; count it in `tally`."""
    headers = bodies.headers(size_exceeded=case.size_exceeded)
    before = len(recorder.events)
    answer = receive(
        rt, WebhookRequest("POST", case.body, headers, {"code": key}), recorder=recorder
    )
    recorded = len(recorder.events) - before
    tally.by_kind[(case.kind, answer.status)] += 1
    tally.recorded_from[case.kind] += recorded
    assert answer.status < 500, answer.body
    assert recorded == (1 if answer.status == 202 else 0)
    if answer.status >= 400:
        detail = answer.body["detail"]
        assert "\n" not in detail and len(detail) <= 500, detail
    if case.kind in ("random", "invalid"):
        assert answer.status == 400, (case.kind, answer.body)
    elif case.kind == "neutral":
        assert answer.status == 202, answer.body
    return answer.status
