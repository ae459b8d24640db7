"""The Azurite launcher: the default ports when they are free (Storage Explorer's "Local storage
emulator" connects there), free ports when one is taken, and a data folder cleared safely."""

from __future__ import annotations

import socket
from pathlib import Path

from azure.data.tables import TableServiceClient

from shared.azurite import (
    clear_azurite_data,
    free_port,
    start_azurite_preferring,
)


def _serves_tables(connection_string: str) -> bool:
    service = TableServiceClient.from_connection_string(connection_string)
    service.create_table("Probe")
    return any(t.name == "Probe" for t in service.list_tables())


def test_the_preferred_ports_are_used_when_all_are_free(tmp_path: Path) -> None:
    # Free ports stand in for 10000-10002, which another process may hold on this machine.
    preferred = (free_port(), free_port(), free_port())
    azurite = start_azurite_preferring(preferred, location=tmp_path)
    try:
        assert azurite.ports == preferred
        assert f"TableEndpoint=http://127.0.0.1:{preferred[2]}/" in azurite.connection_string
        assert _serves_tables(azurite.connection_string)
    finally:
        azurite.stop()


def test_one_taken_port_moves_all_three_to_free_ports(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()  # another Azurite, say
        preferred = (free_port(), taken.getsockname()[1], free_port())
        azurite = start_azurite_preferring(preferred, location=tmp_path)
        try:
            assert set(azurite.ports).isdisjoint(preferred)
            assert _serves_tables(azurite.connection_string)
        finally:
            azurite.stop()


def test_clearing_removes_azurites_files_and_nothing_else(tmp_path: Path) -> None:
    azurite = start_azurite_preferring((free_port(), free_port(), free_port()), location=tmp_path)
    try:
        _serves_tables(azurite.connection_string)
    finally:
        azurite.stop()
    mine = tmp_path / "notes.txt"
    mine.write_text("kept")
    assert any(p.name.startswith("__azurite_db_") for p in tmp_path.iterdir())

    assert clear_azurite_data(tmp_path)

    assert list(tmp_path.iterdir()) == [mine]
    assert not clear_azurite_data(tmp_path)
    assert not clear_azurite_data(tmp_path / "missing")
