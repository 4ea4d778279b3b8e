"""Where environments live, when they count as installed, what a sandbox must bind."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from bastion.errors import ToolMissingError
from bastion.home import bastion_home
from bastion.scanners.tools import Tool, ToolEnvironment, ToolManifest, list_tools

from .tool_fakes import fake_environment


def test_home_comes_from_the_environment_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BASTION_HOME", "/srv/bastion-home")
    assert bastion_home() == Path("/srv/bastion-home")
    monkeypatch.delenv("BASTION_HOME")
    assert bastion_home() == Path.home() / ".local" / "share" / "bastion"


def test_missing_environment_names_the_install_command(tmp_path: Path) -> None:
    env = ToolEnvironment.for_tool(Tool.SEMGREP, tmp_path)
    assert not env.is_installed()
    with pytest.raises(ToolMissingError) as info:
        env.executable()
    text = info.value.diagnostics()
    assert "bastion tools install semgrep" in text
    assert "--find-links" in text
    assert info.value.exit_code == 3


def test_half_built_environment_is_not_installed(tmp_path: Path) -> None:
    env = ToolEnvironment.for_tool(Tool.BANDIT, tmp_path)
    (env.path / "bin").mkdir(parents=True)
    (env.path / "bin" / "bandit").write_text("#!/bin/sh\n")
    assert not env.is_installed()  # no manifest: the installer never finished


def test_manifest_for_other_pins_is_not_installed(tmp_path: Path) -> None:
    env = fake_environment(tmp_path, Tool.CHECKOV, "exit 0")
    assert env.is_installed()
    stale = ToolManifest("checkov", "0.1", "0" * 64, "2020-01-01T00:00:00+00:00", "3.11.7")
    env.manifest_path.write_text(stale.to_json())
    assert not env.is_installed()
    env.manifest_path.write_text("[not a manifest]")
    assert env.manifest() is None


def test_required_binds_are_the_env_and_its_base_python(tmp_path: Path) -> None:
    env = fake_environment(tmp_path, Tool.BANDIT, "exit 0")
    assert env.required_binds() == [env.path, Path(sys.base_prefix)]


def test_manifest_rejects_incomplete_documents() -> None:
    with pytest.raises(ValueError, match="required field"):
        ToolManifest.from_json('{"tool": "bandit"}')
    with pytest.raises(ValueError, match="object"):
        ToolManifest.from_json("[]")


def test_list_tools_reports_installed_and_missing(tmp_path: Path) -> None:
    fake_environment(tmp_path, Tool.BANDIT, "exit 0")
    statuses = {status.tool: status for status in list_tools(tmp_path)}
    assert set(statuses) == {"bandit", "semgrep", "checkov"}
    assert statuses["bandit"].installed
    assert statuses["bandit"].size_bytes > 0
    assert statuses["bandit"].to_dict()["created"] == "2026-01-01T00:00:00+00:00"
    assert not statuses["semgrep"].installed
    assert statuses["semgrep"].size_bytes == 0
