"""What the function app checks as it starts (function_app.py), so a misconfiguration shows
in the host's startup log, naming the setting, rather than as a failed run or a 401 later."""

from __future__ import annotations

import logging
import os

from shared.settings import Settings, app_setting_names
from shared.vault_references import is_reference, unresolved_message

log = logging.getLogger(__name__)


def check_app_settings() -> None:
    """Refuse the product's own settings when one is invalid or still a Key Vault reference
    (ConfigurationError: no function can work without them); log any other app setting still
    holding a reference (an account's password: only that account's runs fail, each saying so).
    """
    Settings()  # its validation names every refused setting in one line
    product = app_setting_names()
    others = [
        (name, value)
        for name, value in sorted(os.environ.items())
        if name not in product and is_reference(value)
    ]
    if others:
        log.error(
            "%s Until then, the email accounts whose password setting it is cannot sync.",
            unresolved_message(others),
        )
