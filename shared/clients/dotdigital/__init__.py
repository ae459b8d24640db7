"""Dotdigital API client (v2 and v3): one module per API area, `DotdigitalClient` in front."""

from shared.clients.dotdigital.client import (
    USER_AGENT,
    DataField,
    DataFieldValue,
    DotdigitalClient,
    error_code,
)

__all__ = ["USER_AGENT", "DataField", "DataFieldValue", "DotdigitalClient", "error_code"]
