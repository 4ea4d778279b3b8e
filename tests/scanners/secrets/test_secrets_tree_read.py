"""The tree scan's fast paths decide exactly as the plain ones did (issue 19 speed work).

Small files are read in one call and large ones probed first; the minified check counts a
prefix before the whole file; the package imports its names lazily so that a tree scan's
fresh process does not load the git modes. Each shortcut is checked against the long way.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bastion.scanners.secrets.tree import TreeOptions, TreeResult, _minified, _read

_SIZES = [0, 1, 8191, 8192, 8193, 64 * 1024 - 1, 64 * 1024, 64 * 1024 + 1, 300_000]


@pytest.mark.parametrize("size", _SIZES)
def test_read_returns_every_byte_on_both_sides_of_the_small_limit(
    tmp_path: Path, size: int
) -> None:
    path = tmp_path / "f.txt"
    data = bytes(97 + i % 26 for i in range(size))
    path.write_bytes(data)
    result = TreeResult()
    assert _read(str(path), "f.txt", TreeOptions(), result) == data
    assert not result.skipped
    assert not result.unreadable


@pytest.mark.parametrize("size", [100, 70_000])
@pytest.mark.parametrize("nul_at", [0, 8191, 8192])
def test_read_skips_a_nul_in_the_first_8_kib_only(tmp_path: Path, size: int, nul_at: int) -> None:
    path = tmp_path / "f.bin"
    data = bytearray(b"x" * size)
    if nul_at < size:
        data[nul_at] = 0
    path.write_bytes(bytes(data))
    result = TreeResult()
    got = _read(str(path), "f.bin", TreeOptions(), result)
    if nul_at < min(size, 8192):
        assert got is None
        assert result.skipped["binary (NUL byte in the first 8 KiB)"] == 1
    else:
        assert got == bytes(data)


def test_read_stops_at_the_size_limit_before_reading(tmp_path: Path) -> None:
    path = tmp_path / "big.txt"
    path.write_bytes(b"a" * 2_000)
    result = TreeResult()
    assert _read(str(path), "big.txt", TreeOptions(max_file_size=1_999), result) is None
    assert result.skipped["larger than 1999 bytes"] == 1


@given(
    lines=st.lists(st.integers(min_value=0, max_value=1_200), min_size=1, max_size=60),
    mean=st.integers(min_value=1, max_value=600),
)
def test_minified_matches_counting_every_newline(lines: list[int], mean: int) -> None:
    data = b"\n".join(b"a" * n for n in lines)
    options = TreeOptions(minified_min_size=0, minified_mean_line=mean)
    assert _minified(data, options) == ((data.count(b"\n") + 1) * mean < len(data))


def test_minified_ignores_files_under_the_minimum_size() -> None:
    assert not _minified(b"a" * 1_000, TreeOptions(minified_min_size=1_001))
    assert _minified(b"a" * 1_001, TreeOptions(minified_min_size=1_001, minified_mean_line=500))


def test_the_gate_entry_does_not_import_the_git_modes() -> None:
    code = (
        "import sys, bastion.scanners.secrets.__main__\n"
        "from bastion.scanners.registry import load_gate\n"
        "load_gate('secrets')\n"
        "print(sorted(m for m in sys.modules if m.endswith(('.history', '.hook'))))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert "bastion.scanners.secrets.history" not in out
    assert "bastion.scanners.secrets.hook" not in out
