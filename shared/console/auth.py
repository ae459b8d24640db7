"""Who may use the console: in Azure, a person signed in by App Service Authentication (Entra
ID) holding the admin API's `Connector.Admin` role; outside Azure (the local host, `make demo`)
the local operator, as the admin API's function keys are not checked locally either."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

ROLE: Final = "Connector.Admin"
# Set by App Service on every instance; absent on a developer's machine and the local host.
IN_AZURE: Final = "WEBSITE_INSTANCE_ID"
# "True" when App Service Authentication is on: only then is the principal header Easy Auth's
# own (it strips one sent by the client); without it anyone could send the header.
AUTH_ENABLED: Final = "WEBSITE_AUTH_ENABLED"
PRINCIPAL_HEADER: Final = "x-ms-client-principal"
ROLE_CLAIMS: Final = ("roles", "http://schemas.microsoft.com/ws/2008/06/identity/claims/role")
SIGN_IN_PATH: Final = "/.auth/login/aad"


@dataclass(frozen=True)
class Viewer:
    name: str
    local: bool


@dataclass(frozen=True)
class NotAllowed:
    """The request may not see the console: `status` and one line saying what to do."""

    status: int
    message: str
    sign_in: bool = False


def viewer(headers: Mapping[str, str], environ: Mapping[str, str]) -> Viewer | NotAllowed:
    if not environ.get(IN_AZURE):
        return Viewer(name="local operator", local=True)
    if environ.get(AUTH_ENABLED, "").lower() != "true":
        return NotAllowed(
            503,
            "The console needs App Service Authentication (Entra ID) on this function app: "
            "set it up as the README's 'Operator console' section says.",
        )
    raw = headers.get(PRINCIPAL_HEADER)
    if not raw:
        return NotAllowed(401, "Sign in with your work account to use the console.", sign_in=True)
    claims = _claims(raw)
    if claims is None:
        return NotAllowed(401, "Sign in again: the sign-in could not be read.", sign_in=True)
    if ROLE not in {value for kind, value in claims if kind in ROLE_CLAIMS}:
        return NotAllowed(
            403,
            f"Your account does not hold the {ROLE} role of the admin API's app registration: "
            "ask an Entra ID administrator to assign it.",
        )
    names = [value for kind, value in claims if kind in ("name", "preferred_username")]
    return Viewer(name=names[0] if names else "signed in", local=False)


def _claims(raw: str) -> list[tuple[str, str]] | None:
    """Easy Auth's principal: base64 JSON `{"claims": [{"typ": ..., "val": ...}], ...}`."""
    try:
        principal = json.loads(base64.b64decode(raw, validate=False))
        return [(str(c["typ"]), str(c["val"])) for c in principal.get("claims", [])]
    except (binascii.Error, ValueError, TypeError, KeyError, AttributeError):
        return None
