"""``bastion tools list|install`` through the real command line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from bastion.cli import tools as tools_cli
from bastion.scanners.tools import Tool
from bastion.scanners.tools.environment import TOOLS_DIR_ENV

from .tool_fakes import fake_environment


@pytest.fixture(autouse=True)
def _own_tools_dir(monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests are about a home's own `tools/`, not the suite's shared one."""
    monkeypatch.delenv(TOOLS_DIR_ENV, raising=False)


def _app() -> typer.Typer:
    app = typer.Typer()
    tools_cli.register(app)
    return app


def test_list_json_shows_every_tool(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BASTION_HOME", str(tmp_path))
    fake_environment(tmp_path, Tool.CHECKOV, "exit 0")
    result = CliRunner().invoke(_app(), ["tools", "list", "--json"])
    assert result.exit_code == 0, result.output
    rows = {row["tool"]: row for row in json.loads(result.stdout)}
    assert rows["checkov"]["installed"] is True
    assert rows["bandit"]["installed"] is False
    assert rows["semgrep"]["path"].startswith(str(tmp_path / "tools"))


def test_list_table(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BASTION_HOME", str(tmp_path))
    fake_environment(tmp_path, Tool.BANDIT, "exit 0")
    result = CliRunner().invoke(_app(), ["tools", "list"])
    assert result.exit_code == 0
    assert "bandit" in result.stdout
    assert "yes" in result.stdout
    assert "no" in result.stdout


def test_install_reuses_an_installed_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BASTION_HOME", str(tmp_path))
    fake_environment(tmp_path, Tool.BANDIT, "exit 0")
    result = CliRunner().invoke(_app(), ["tools", "install", "bandit"])
    assert result.exit_code == 0
    assert "already installed" in result.stderr


def _bastion(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bastion.cli.main", *args],
        capture_output=True,
        text=True,
        env={"BASTION_HOME": str(home), "PATH": "/usr/bin:/bin"},
        check=False,
        timeout=120,
    )


def test_exit_codes_of_install_errors(tmp_path: Path) -> None:
    unknown = _bastion("tools", "install", "trivy", home=tmp_path)
    assert unknown.returncode == 2
    assert "use one of: bandit, semgrep, checkov" in unknown.stderr
    not_a_dir = _bastion("tools", "install", "--find-links", str(tmp_path / "x"), home=tmp_path)
    assert not_a_dir.returncode == 2
    assert "is not a directory" in not_a_dir.stderr
    empty = tmp_path / "wheels"
    empty.mkdir()
    offline = _bastion("tools", "install", "bandit", "--find-links", str(empty), home=tmp_path)
    assert offline.returncode == 3
    assert "bastion tools install bandit --find-links DIR" in offline.stderr
    assert "Traceback" not in offline.stderr


def test_requirements_prints_the_hashed_set() -> None:
    result = CliRunner().invoke(_app(), ["tools", "requirements", "bandit"])
    assert result.exit_code == 0
    assert result.stdout.startswith("bandit==") or "\nbandit==" in result.stdout
    assert "--hash=sha256:" in result.stdout
