"""Hostile archives are refused before a record is read: climbing names, bombs, lies."""

from __future__ import annotations

import struct
import zipfile
from pathlib import Path

import pytest

from bastion.scanners.sca.archive import Limits, iter_records, open_records
from bastion.scanners.sca.database import import_path, status
from bastion.scanners.sca.errors import ArchiveError

from .sca_data import OSV

GOOD = (OSV / "go" / "GO-2020-0001.json").read_bytes()


def _zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


@pytest.mark.parametrize(
    "name", ["../../etc/cron.d/evil.json", "/etc/evil.json", "a/../../evil.json", "C:/evil.json"]
)
def test_a_climbing_member_name_refuses_the_whole_archive(tmp_path: Path, name: str) -> None:
    archive = _zip(tmp_path / "all.zip", {"GO-2020-0001.json": GOOD, name: GOOD})
    with pytest.raises(ArchiveError, match="unsafe path"):
        import_path(archive, tmp_path / "osv")
    assert status(tmp_path / "osv") == []


def test_a_huge_declared_size_is_refused_before_reading(tmp_path: Path) -> None:
    # 20 MiB of zeros deflates to about 20 KiB: a small zip bomb past the 16 MiB member cap.
    archive = _zip(tmp_path / "all.zip", {"GO-2020-0001.json": GOOD, "bomb.json": bytes(20 << 20)})
    assert archive.stat().st_size < 100_000
    with pytest.raises(ArchiveError, match=r"bomb\.json is larger than 16777216 bytes"):
        open_records(archive)  # refused while planning, before any member is inflated
    with pytest.raises(ArchiveError, match="uncompressed"):
        open_records(
            _zip(tmp_path / "two.zip", {"a.json": GOOD, "b.json": GOOD}),
            Limits(total_bytes=len(GOOD) + 1),
        )


def _lie_about_size(path: Path, name: str, declared: int) -> None:
    """Rewrite the central directory's uncompressed size of ``name`` (a lying archive)."""
    data = bytearray(path.read_bytes())
    entry = data.find(b"PK\x01\x02")
    while entry != -1:
        name_length = struct.unpack_from("<H", data, entry + 28)[0]
        if data[entry + 46 : entry + 46 + name_length] == name.encode():
            struct.pack_into("<I", data, entry + 24, declared)
            path.write_bytes(bytes(data))
            return
        entry = data.find(b"PK\x01\x02", entry + 4)
    raise AssertionError(f"{name} not in {path}")


def test_a_member_that_inflates_past_its_declared_size_is_refused(tmp_path: Path) -> None:
    archive = _zip(tmp_path / "all.zip", {"GO-2020-0001.json": GOOD, "liar.json": bytes(4096)})
    _lie_about_size(archive, "liar.json", 10)
    with pytest.raises(ArchiveError, match=r"liar\.json") as caught:
        list(iter_records(archive, Limits(member_bytes=len(GOOD) + 100)))
    # Inflating stops at the declared size and the CRC no longer matches, or at the cap.
    assert "CRC" in caught.value.message or "inflates past" in caught.value.message
    assert status(tmp_path / "osv") == []


def test_members_that_are_not_records_are_skipped_and_counted(tmp_path: Path) -> None:
    archive = _zip(tmp_path / "all.zip", {"GO-2020-0001.json": GOOD, "NOTICE.txt": b"hello"})
    plan, records = open_records(archive)
    assert (plan.records, plan.skipped) == (("GO-2020-0001.json",), ("NOTICE.txt",))
    assert [name for name, _ in records] == ["GO-2020-0001.json"]


def test_symlinks_in_a_tree_are_never_followed(tmp_path: Path) -> None:
    secret = tmp_path / "secret.json"
    secret.write_text('{"id": "SECRET"}')
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "GO-2020-0001.json").write_bytes(GOOD)
    (tree / "link.json").symlink_to(secret)
    plan, records = open_records(tree)
    assert plan.skipped == ("link.json",)
    assert [name for name, _ in records] == ["GO-2020-0001.json"]
