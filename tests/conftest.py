"""Shared fixtures: real Azurite and real sandbox servers, started on free ports."""

pytest_plugins = [
    "tests.fixtures.azurite",
    "tests.fixtures.sandboxes",
    "tests.fixtures.runtime",
    "tests.fixtures.sync_runtime",
    "tests.fixtures.webhook_receiver",
    "tests.fixtures.engagement_rows",
    "tests.fixtures.filedrop",
]
