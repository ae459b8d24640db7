"""The webhook's key check: the one secret `DYNAMICS_WEBHOOK_KEY`, in any carrier Dataverse uses.

WebhookKey and HttpQueryString send it as the query `code=<key>` (which is also how the
Functions host takes a function key); HttpHeader as the header `x-functions-key: <key>`.
Every carrier present is compared in constant time, and the post passes when one matches.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from enum import StrEnum

from pydantic import SecretStr

QUERY = "code"
HEADER = "x-functions-key"


class KeyCheck(StrEnum):
    PASSED = "passed"
    MISSING = "no key was sent"
    WRONG = "the key does not match"
    NOT_CONFIGURED = "this app has no webhook key configured (DYNAMICS_WEBHOOK_KEY)"


def check_key(
    expected: SecretStr | None, headers: Mapping[str, str], query: Mapping[str, str]
) -> KeyCheck:
    """Whether the post carries the webhook key. `headers` in any case; `query` as sent."""
    secret = expected.get_secret_value() if expected is not None else ""
    if not secret:
        return KeyCheck.NOT_CONFIGURED
    carried = [value for name, value in headers.items() if name.lower() == HEADER]
    carried += [value for name, value in query.items() if name == QUERY]
    if not carried:
        return KeyCheck.MISSING
    wanted = _bytes(secret)
    # No short cut: each carrier is compared in full, so the time says nothing about which.
    matches = [hmac.compare_digest(_bytes(value), wanted) for value in carried]
    return KeyCheck.PASSED if any(matches) else KeyCheck.WRONG


def _bytes(text: str) -> bytes:
    # compare_digest takes str only when ASCII; "surrogatepass" keeps any str encodable and
    # two different strings different.
    return text.encode("utf-8", "surrogatepass")
