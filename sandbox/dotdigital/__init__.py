"""Dotdigital v2 API sandbox (account-info region discovery, contact data fields)."""

from sandbox.dotdigital.app import ACCOUNT_INFO, DATA_FIELDS, create_dotdigital_app
from sandbox.dotdigital.state import (
    DEMO_API_PASSWORD,
    DEMO_API_USER,
    RESERVED_FIELDS,
    DataFieldRecord,
    DotdigitalState,
)

__all__ = [
    "ACCOUNT_INFO",
    "DATA_FIELDS",
    "DEMO_API_PASSWORD",
    "DEMO_API_USER",
    "RESERVED_FIELDS",
    "DataFieldRecord",
    "DotdigitalState",
    "create_dotdigital_app",
]
