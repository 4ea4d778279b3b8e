"""A first run says each tool install as it starts: 'installing Semgrep 1.180.0 (1 of 3)…'."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bastion.engine.gates import prepare_gates
from bastion.scanners.tools import InstallSource, Tool, ToolEnvironment, spec_for
from bastion.scanners.tools.environment import TOOLS_DIR_ENV

from .tool_fakes import fake_environment

CLI = (sys.executable, "-m", "bastion.cli.main")


@pytest.fixture(autouse=True)
def _own_tools_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """A home whose `tools/` is empty (not the suite's shared one)."""
    monkeypatch.delenv(TOOLS_DIR_ENV, raising=False)
    monkeypatch.setenv("BASTION_HOME", str(tmp_path))
    return tmp_path


def test_a_run_says_each_install_with_its_place_in_the_count(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    installed: list[Tool] = []

    def fake_install(env: ToolEnvironment, source: InstallSource | None = None) -> ToolEnvironment:
        installed.append(env.spec.tool)
        return fake_environment(tmp_path, env.spec.tool, "exit 0")

    # pip would download ~700 MB; the installer itself is tested in test_tool_installer.
    monkeypatch.setattr("bastion.scanners.tools.install_progress.ensure_installed", fake_install)
    monkeypatch.setattr("bastion.scanners.sast.gate.ensure_installed", lambda env, source: env)
    monkeypatch.setattr("bastion.scanners.iac.gate.ensure_installed", lambda env, source: env)
    monkeypatch.setattr("bastion.scanners.iac.gate.warm_checkov", lambda env: None)
    lines: list[str] = []
    prepare_gates(["secrets", "sast", "iac", "sast"], lines.append, quiet_seconds=60.0)
    semgrep, bandit, checkov = (
        spec_for(t).version for t in (Tool.SEMGREP, Tool.BANDIT, Tool.CHECKOV)
    )
    assert lines == [
        f"installing Bandit {bandit} (1 of 3, about 45 MB)…",
        f"installing Semgrep {semgrep} (2 of 3, about 375 MB)…",
        f"installing Checkov {checkov} (3 of 3, about 290 MB)…",
    ]
    assert installed == [Tool.BANDIT, Tool.SEMGREP, Tool.CHECKOV]
    lines.clear()
    prepare_gates(["sast", "iac"], lines.append, quiet_seconds=60.0)
    assert lines == []  # installed: nothing to say


def test_tools_install_says_each_install(tmp_path: Path) -> None:
    fake_environment(tmp_path, Tool.SEMGREP, "exit 0")
    empty = tmp_path / "wheels"
    empty.mkdir()
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "bastion.cli.main",
            "tools",
            "install",
            "semgrep",
            "bandit",
            "--find-links",
            str(empty),
        ],
        capture_output=True,
        text=True,
        env={"BASTION_HOME": str(tmp_path), "PATH": "/usr/bin:/bin"},
        check=False,
        timeout=120,
    )
    assert done.returncode == 3  # no wheels: the install fails, after saying it started
    version = spec_for(Tool.BANDIT).version
    assert f"installing Bandit {version} (1 of 1, about 45 MB)…" in done.stderr
    assert "semgrep" in done.stderr
    assert "already installed" in done.stderr
