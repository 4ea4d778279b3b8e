"""The shipped tool catalogue: every tool pinned, hashed and named by its digest."""

from __future__ import annotations

import re
from importlib import resources

import pytest

from bastion.errors import UsageError
from bastion.scanners.tools import Tool, parse_tool, spec_for


@pytest.mark.parametrize("tool", list(Tool))
def test_every_tool_has_a_hashed_pinned_requirement_set(tool: Tool) -> None:
    spec = spec_for(tool)
    text = spec.requirements.decode()
    pinned = re.findall(r"^([A-Za-z0-9_.-]+)==", text, flags=re.MULTILINE)
    assert tool.value in pinned
    # Every pinned distribution carries at least one sha256 hash.
    assert text.count("--hash=sha256:") >= len(pinned)
    source = (
        resources.files("bastion.scanners.tools")
        .joinpath("requirements", f"{tool.value}.in")
        .read_text(encoding="utf-8")
    )
    assert f"{tool.value}=={spec.version}" in source


@pytest.mark.parametrize("tool", list(Tool))
def test_environment_name_changes_with_the_pins(tool: Tool) -> None:
    spec = spec_for(tool)
    assert spec.env_name == f"{tool.value}-{spec.version}-{spec.digest[:12]}"
    assert len(spec.digest) == 64


def test_parse_tool_accepts_any_case_and_names_the_choices() -> None:
    assert parse_tool(" Semgrep ") is Tool.SEMGREP
    with pytest.raises(UsageError) as info:
        parse_tool("trivy")
    assert "bandit, semgrep, checkov" in info.value.diagnostics()
