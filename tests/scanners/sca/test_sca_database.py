"""Importing OSV records, the per-ecosystem index, its status and the bundled snapshot."""

from __future__ import annotations

import datetime as dt
import json
import zipfile
from pathlib import Path

import pytest

from bastion.scanners.sca.archive import Limits, iter_records
from bastion.scanners.sca.database import Database, import_path, status
from bastion.scanners.sca.errors import ArchiveError, DatabaseError
from bastion.scanners.sca.index import EcosystemIndex, IndexMeta, index_path

from .sca_data import OSV


def _zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def test_import_directory_of_yaml_and_json(tmp_path: Path) -> None:
    summary = import_path(OSV, tmp_path / "osv")
    # A mixed folder (pypa/, go/, crates/ side by side) is a plain folder of records.
    assert (summary.layout, summary.records, summary.skipped) == ("folder of OSV records", 17, 1)
    assert summary.skipped_examples == ("README.md",)
    by_name = {m.ecosystem: m for m in summary.metas}
    assert set(by_name) == {"PyPI", "Go", "crates.io"}
    assert by_name["PyPI"].withdrawn == 1
    assert by_name["Go"].withdrawn == 1
    assert by_name["crates.io"].withdrawn == 1
    assert by_name["PyPI"].records == 10
    index = EcosystemIndex.open(tmp_path / "osv", "PyPI")
    ids = [a.id for a in index.lookup("PyPI", "Requests")]
    assert ids == [
        "PYSEC-2014-13",
        "PYSEC-2014-14",
        "PYSEC-2015-17",
        "PYSEC-2018-28",
        "PYSEC-2023-74",
    ]
    # The withdrawn aiohttp record is never matched.
    assert index.lookup("PyPI", "aiohttp") == []
    assert [m.ecosystem for m in status(tmp_path / "osv")] == ["Go", "PyPI", "crates.io"]


def test_import_zip_with_source_and_date(tmp_path: Path) -> None:
    members = {p.name: p.read_bytes() for p in (OSV / "go").glob("*.json")}
    archive = _zip(tmp_path / "all.zip", members)
    [meta] = import_path(
        archive, tmp_path / "osv", source="mirror", snapshot_date="2026-08-21"
    ).metas
    assert (meta.ecosystem, meta.source, meta.snapshot_date, meta.records) == (
        "Go",
        "mirror",
        "2026-08-21",
        2,
    )
    assert meta.age_days(dt.date(2026, 8, 31)) == 10
    assert meta.to_dict()["packages"] == 2


def test_reimport_replaces_only_that_ecosystem(tmp_path: Path) -> None:
    import_path(OSV, tmp_path)
    import_path(OSV / "go", tmp_path, source="again")
    metas = {m.ecosystem: m.source for m in status(tmp_path)}
    assert metas["Go"] == "again"
    assert metas["PyPI"].startswith("import:")


def test_ecosystem_filter(tmp_path: Path) -> None:
    metas = import_path(OSV, tmp_path, ecosystems=["Go"]).metas
    assert [m.ecosystem for m in metas] == ["Go"]
    with pytest.raises(ArchiveError, match="no OSV records for RubyGems"):
        import_path(OSV, tmp_path, ecosystems=["RubyGems"])


def test_malformed_record_aborts_the_whole_import(tmp_path: Path) -> None:
    import_path(OSV / "go", tmp_path)
    before = status(tmp_path)
    good = (OSV / "go" / "GO-2020-0001.json").read_bytes()
    archive = _zip(
        tmp_path / "bad.zip", {"a.json": good, "b.json": b'{"id": "X",\n "modified": 3}'}
    )
    with pytest.raises(ArchiveError, match=r"b\.json.*'modified'"):
        import_path(archive, tmp_path)
    broken = _zip(tmp_path / "bad2.zip", {"c.json": b'{"id":\n\n oops}'})
    with pytest.raises(ArchiveError, match=r"c\.json:3"):
        import_path(broken, tmp_path)
    yaml_dir = tmp_path / "yaml"
    yaml_dir.mkdir()
    (yaml_dir / "x.yaml").write_text("id: [unclosed\n")
    with pytest.raises(ArchiveError, match=r"x\.yaml:2"):
        import_path(yaml_dir, tmp_path)
    assert status(tmp_path) == before
    assert not list(tmp_path.glob(".*.tmp"))


def test_zip_bomb_member_and_total_caps(tmp_path: Path) -> None:
    bomb = _zip(tmp_path / "bomb.zip", {"big.json": b" " * 2_000_000})
    with pytest.raises(ArchiveError, match="larger than"):
        list(iter_records(bomb, Limits(member_bytes=1_000_000)))
    many = {
        f"{i}.json": json.dumps(
            {"id": f"X-{i}", "modified": "2024-01-01T00:00:00Z", "affected": []}
        ).encode()
        for i in range(5)
    }
    archive = _zip(tmp_path / "many.zip", many)
    with pytest.raises(ArchiveError, match="more than 3 records"):
        list(iter_records(archive, Limits(members=3)))
    with pytest.raises(ArchiveError, match="uncompressed"):
        list(iter_records(archive, Limits(total_bytes=100)))


def test_unreadable_sources(tmp_path: Path) -> None:
    (tmp_path / "not.zip").write_bytes(b"PK\x03\x04 not really")
    with pytest.raises(ArchiveError, match="not a readable zip"):
        import_path(tmp_path / "not.zip", tmp_path / "osv")
    with pytest.raises(ArchiveError, match="does not exist"):
        import_path(tmp_path / "missing", tmp_path / "osv")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ArchiveError, match="holds no OSV records"):
        import_path(empty, tmp_path / "osv")


def test_corrupt_or_missing_index_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(DatabaseError, match="no Go vulnerability index"):
        EcosystemIndex.open(tmp_path, "Go")
    index_path(tmp_path, "Go").write_bytes(b"not sqlite at all, not at all, not at all")
    with pytest.raises(DatabaseError, match="unreadable"):
        EcosystemIndex.open(tmp_path, "Go")
    with pytest.raises(DatabaseError, match="not an ecosystem name"):
        index_path(tmp_path, "../evil")


def test_bundled_snapshot_when_nothing_imported(tmp_path: Path) -> None:
    db = Database.open(tmp_path)
    assert db.bundled
    assert "PyPI of 2024-10-10" in db.notes[0]
    assert "not coverage" in db.notes[0]
    assert db.ecosystems() == ["Go", "PyPI", "crates.io", "npm"]
    facts = db.describe(["PyPI"])
    assert facts["database_bundled_snapshot"] is True
    assert facts["database_date"] == "2024-10-10"
    assert facts["database_age_days"] == IndexMeta("PyPI", "", "2024-10-10", "", 0, 0, 0).age_days()
    with pytest.raises(DatabaseError, match="no RubyGems vulnerability data in the bundled") as e:
        db.index("RubyGems")
    assert "bastion db update --ecosystem RubyGems" in (e.value.hint or "")
    db.close()


def test_imported_database_is_preferred_and_missing_ecosystems_fail_closed(tmp_path: Path) -> None:
    import_path(OSV / "go", tmp_path)
    db = Database.open(tmp_path)
    assert not db.bundled
    assert db.notes == []
    assert db.ecosystems() == ["Go"]
    assert [a.id for a in db.index("Go").lookup("Go", "github.com/gin-gonic/gin")] == [
        "GO-2020-0001"
    ]
    with pytest.raises(DatabaseError, match="PyPI packages cannot be judged") as caught:
        db.index("PyPI")
    assert "bastion db update --ecosystem PyPI" in caught.value.diagnostics()
    facts = db.describe(["Go"])
    assert facts["database_ecosystems"]["Go"]["records"] == 2
    db.close()


def test_yaml_timestamps_become_strings(tmp_path: Path) -> None:
    (tmp_path / "r.yaml").write_text(
        "id: PYSEC-X\nmodified: 2024-05-01T10:00:00Z\npublished: 2024-05-01\naffected: []\n"
    )
    [(_, record)] = list(iter_records(tmp_path))
    assert record["modified"] == "2024-05-01T10:00:00Z"
    assert record["published"] == "2024-05-01"
