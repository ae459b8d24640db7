"""The export writer: the import format, parts, gzip, refused values, bounded memory."""

from __future__ import annotations

import datetime as dt
import gzip
import tracemalloc
from collections.abc import Iterator, Mapping
from decimal import Decimal
from pathlib import Path

import pytest

from shared.clients.filedrop import ImportFormat, Manifest, ManifestFile, Value, export

COLUMNS = ["contactid", "email", "firstName", "birthDate", "created", "blackList", "score"]


def people(count: int) -> Iterator[Mapping[str, Value]]:
    for n in range(count):
        yield {
            "contactid": f"c0ffee00-0000-4000-8000-{n:012d}",
            "email": f"person{n}@example.com",
            "firstName": f"Person {n}",
            "birthDate": dt.date(1980, 1, 1) + dt.timedelta(days=n % 9000),
            "created": dt.datetime(2026, 11, 28, 1, 2, 3, tzinfo=dt.UTC) + dt.timedelta(hours=n),
            "blackList": n % 2 == 0,
            "score": Decimal(n) / 4,
        }


def whole_file(folder: Path, manifest: Manifest) -> bytes:
    return b"".join((folder / part.file).read_bytes() for part in manifest.parts)


def test_the_file_has_a_header_and_one_line_per_row_in_the_import_format(tmp_path: Path) -> None:
    rows = [
        {
            "contactid": "a1",
            "email": "ada@example.com",
            "firstName": "Ada",
            "birthDate": dt.date(1815, 12, 10),
            # written in UTC whatever zone it comes in
            "created": dt.datetime(2026, 3, 1, 9, 5, 7, tzinfo=dt.timezone(dt.timedelta(hours=2))),
            "blackList": True,
            "score": 1.5,
        },
        {"contactid": "b2", "email": "grace@example.com", "blackList": False, "score": None},
    ]
    manifest = export(
        rows, folder=tmp_path, stem="contacts", columns=COLUMNS, key="contactid",
        format=ImportFormat(separator=";"),
    )  # fmt: skip
    assert manifest.remote_name == "contacts.txt"
    assert whole_file(tmp_path, manifest).decode().splitlines() == [
        "contactid;email;firstName;birthDate;created;blackList;score",
        "a1;ada@example.com;Ada;1815/12/10;2026/03/01 07:05:07;1;1.5",
        "b2;grace@example.com;;;;0;",
    ]
    assert (manifest.rows, manifest.rejected, manifest.complete) == (2, [], True)


def test_parts_split_at_row_boundaries_and_make_the_same_file_as_one_part(tmp_path: Path) -> None:
    small = export(
        people(5000), folder=tmp_path / "small", stem="contacts", columns=COLUMNS,
        key="contactid", format=ImportFormat(), part_size=64 * 1024,
    )  # fmt: skip
    whole = export(
        people(5000), folder=tmp_path / "whole", stem="contacts", columns=COLUMNS,
        key="contactid", format=ImportFormat(), part_size=64 * 1024 * 1024,
    )  # fmt: skip
    assert len(small.parts) > 3 and len(whole.parts) == 1
    assert whole_file(tmp_path / "small", small) == whole_file(tmp_path / "whole", whole)
    for part in small.parts:
        data = (tmp_path / "small" / part.file).read_bytes()
        assert data.endswith(b"\n")  # no row is split between two parts
        assert len(data) == part.size
        if part is not small.parts[-1]:
            assert part.size >= 64 * 1024  # S3's minimum part rule depends on this
    assert sum(p.rows for p in small.parts) == 5000
    assert [p.number for p in small.parts] == list(range(1, len(small.parts) + 1))


def test_gzip_parts_concatenated_are_one_gzip_file_of_the_plain_text(tmp_path: Path) -> None:
    plain = export(
        people(20_000), folder=tmp_path / "plain", stem="contacts", columns=COLUMNS,
        key="contactid", format=ImportFormat(),
    )  # fmt: skip
    zipped = export(
        people(20_000), folder=tmp_path / "zipped", stem="contacts", columns=COLUMNS,
        key="contactid", format=ImportFormat(gzip=True), part_size=64 * 1024,
    )  # fmt: skip
    assert zipped.remote_name == "contacts.txt.gz"
    assert len(zipped.parts) > 1
    compressed = whole_file(tmp_path / "zipped", zipped)
    assert gzip.decompress(compressed) == whole_file(tmp_path / "plain", plain)
    # Deterministic: the same rows give the same bytes, so a re-export matches the manifest.
    again = export(
        people(20_000), folder=tmp_path / "again", stem="contacts", columns=COLUMNS,
        key="contactid", format=ImportFormat(gzip=True), part_size=64 * 1024,
    )  # fmt: skip
    assert [p.sha256 for p in again.parts] == [p.sha256 for p in zipped.parts]


@pytest.mark.parametrize(
    ("separator", "value", "refused"),
    [
        ("\t", "has\ta tab", "contains the separator"),
        (";", "Main St; Apt 4", "contains the separator"),
        (";", "has\ta tab", None),  # a tab is only a problem in a tab-separated file
        ("\t", "two\nlines", "contains a line break"),
        ("\t", "carriage\rreturn", "contains a line break"),
    ],
)
def test_a_value_the_format_cannot_carry_is_refused_with_its_key_never_altered(
    tmp_path: Path, separator: str, value: str, refused: str | None
) -> None:
    rows = [
        {"contactid": "ok-1", "email": "a@example.com"},
        {"contactid": "bad-1", "email": "b@example.com", "firstName": value},
        {"contactid": "ok-2", "email": "c@example.com"},
    ]
    fmt = ImportFormat(separator=";") if separator == ";" else ImportFormat()
    manifest = export(rows, folder=tmp_path, stem="c", columns=COLUMNS, key="contactid", format=fmt)
    lines = whole_file(tmp_path, manifest).decode().split("\n")
    if refused is None:
        assert manifest.rejected == [] and manifest.rows == 3
        assert any(value in line for line in lines)
    else:
        assert manifest.rows == 2
        assert [(r.key, r.column) for r in manifest.rejected] == [("bad-1", "firstName")]
        assert manifest.rejected[0].reason.startswith(refused)
        assert not any("bad-1" in line for line in lines)


def test_a_naive_datetime_is_a_bug_not_a_guess(tmp_path: Path) -> None:
    rows = [{"contactid": "x", "created": dt.datetime(2026, 1, 1)}]
    with pytest.raises(ValueError, match="timezone-aware"):
        export(rows, folder=tmp_path, stem="c", columns=COLUMNS, key="contactid",
               format=ImportFormat())  # fmt: skip


def test_a_finished_export_is_kept_and_an_unfinished_one_starts_over(tmp_path: Path) -> None:
    first = export(
        people(10), folder=tmp_path, stem="c", columns=COLUMNS, key="contactid",
        format=ImportFormat(),
    )  # fmt: skip
    # Called again (a resumed transfer): the finished export is what it returns, unread.
    assert export(iter(()), folder=tmp_path, stem="c", columns=COLUMNS, key="contactid",
                  format=ImportFormat()) == first  # fmt: skip
    unfinished = first.model_copy(update={"complete": False})
    ManifestFile(tmp_path).save(unfinished)
    redone = export(
        people(4), folder=tmp_path, stem="c", columns=COLUMNS, key="contactid",
        format=ImportFormat(),
    )  # fmt: skip
    assert redone.rows == 4 and redone.complete
    # Asked for another format, the old parts and their upload progress are not reused.
    zipped = export(
        people(4), folder=tmp_path, stem="c", columns=COLUMNS, key="contactid",
        format=ImportFormat(gzip=True),
    )  # fmt: skip
    assert zipped.remote_name == "c.txt.gz" and zipped.uploads == {}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.txt.gz.part00001", "manifest.json"]


def test_memory_stays_flat_however_many_rows(tmp_path: Path) -> None:
    def peak(count: int, folder: Path) -> int:
        tracemalloc.start()
        try:
            export(people(count), folder=folder, stem="c", columns=COLUMNS, key="contactid",
                   format=ImportFormat(gzip=True), part_size=256 * 1024)  # fmt: skip
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    few = peak(5_000, tmp_path / "few")
    many = peak(50_000, tmp_path / "many")
    # Ten times the rows; memory grows only by the manifest's list of parts, not the rows.
    assert many < few * 1.5 + 64 * 1024, (few, many)
