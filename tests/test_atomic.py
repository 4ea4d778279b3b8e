"""Replacing a file whole, or not at all."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from bastion.atomic import replacing


@pytest.mark.parametrize("durable", [True, False])
def test_the_new_content_replaces_the_old_privately(tmp_path: Path, durable: bool) -> None:
    target = tmp_path / "state.json"
    target.write_bytes(b"old")
    with replacing(target, durable=durable) as out:
        out.write(b"new")
        assert target.read_bytes() == b"old"  # nobody sees a half-written file
    assert target.read_bytes() == b"new"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["state.json"]


def test_an_error_leaves_the_old_content_and_no_temporary_file(tmp_path: Path) -> None:
    target = tmp_path / "state.json"
    target.write_bytes(b"old")

    def write_half() -> None:
        with replacing(target) as out:
            out.write(b"ne")
            raise RuntimeError("half way")

    with pytest.raises(RuntimeError, match="half way"):
        write_half()
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["state.json"]


def test_a_symlinked_target_is_replaced_not_followed(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.write_bytes(b"keep")
    target = tmp_path / "link"
    target.symlink_to(elsewhere)
    with replacing(target) as out:
        out.write(b"new")
    assert elsewhere.read_bytes() == b"keep"
    assert not target.is_symlink()
    assert target.read_bytes() == b"new"
