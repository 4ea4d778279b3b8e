"""Gate options shared by the tool-driven gates, and paths reported by tools."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bastion.errors import GateError, UsageError
from bastion.scanners.tools.options import DEFAULT_EXCLUDES, ToolGateOptions, string_list
from bastion.scanners.tools.source import read_line, to_relative


def test_defaults() -> None:
    options = ToolGateOptions.parse("sast", {}, frozenset())
    assert options.timeout == 600.0
    assert options.exclude == DEFAULT_EXCLUDES


def test_exclude_adds_to_the_defaults() -> None:
    options = ToolGateOptions.parse("iac", {"exclude": "generated"}, frozenset())
    assert options.exclude[-1] == "generated"
    assert set(DEFAULT_EXCLUDES) <= set(options.exclude)


@pytest.mark.parametrize("value", [0, -1, True, "10m", None])
def test_bad_timeout_is_an_error(value: object) -> None:
    with pytest.raises(UsageError, match="bastion/sast: option `timeout`"):
        ToolGateOptions.parse("sast", {"timeout": value}, frozenset())


def test_unknown_option_lists_the_known_ones() -> None:
    with pytest.raises(UsageError) as info:
        ToolGateOptions.parse("sast", {"timout": 5}, frozenset({"tools"}))
    assert "'timout'" in info.value.message
    assert "exclude, timeout, tools" in info.value.diagnostics()


@given(st.lists(st.text(min_size=1).filter(str.strip), max_size=5))
def test_string_lists_round_trip(items: list[str]) -> None:
    assert string_list("g", "x", items) == tuple(item.strip() for item in items)


@pytest.mark.parametrize("value", [3, [1], ["ok", ""], {"a": 1}])
def test_string_list_rejects_other_shapes(value: object) -> None:
    with pytest.raises(UsageError, match="must be a list of strings"):
        string_list("g", "x", value)


def test_reported_paths_become_repository_relative(tmp_path: Path) -> None:
    assert to_relative(tmp_path, "./a/b.py") == "a/b.py"
    assert to_relative(tmp_path, str(tmp_path / "c.tf")) == "c.tf"
    with pytest.raises(GateError, match="outside the scanned tree"):
        to_relative(tmp_path, "../escape.py")
    with pytest.raises(GateError):
        to_relative(tmp_path, ".")


def test_read_line(tmp_path: Path) -> None:
    (tmp_path / "f.py").write_text("one\ntwo\r\nthree")
    assert read_line(tmp_path, "f.py", 2) == "two"
    assert read_line(tmp_path, "f.py", 9) == ""
    assert read_line(tmp_path, "f.py", None) == ""
    assert read_line(tmp_path, "missing.py", 1) == ""
