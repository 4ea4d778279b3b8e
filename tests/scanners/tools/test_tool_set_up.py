"""``set_up``: a tool's environment, then its warm-up, so the first scan pays neither."""

from __future__ import annotations

from pathlib import Path

import pytest

from bastion.errors import ToolMissingError
from bastion.scanners.tools import InstallSource, Tool, ToolEnvironment, set_up

from .tool_fakes import fake_environment


class RecordingWarmUp:
    """A warm-up that records the environment and the ``force`` flag it was called with."""

    def __init__(self) -> None:
        self.calls: list[tuple[Path, bool]] = []

    def __call__(self, env: ToolEnvironment, force: bool) -> None:
        assert env.is_installed()  # a warm-up always finds its tool installed
        self.calls.append((env.path, force))


def test_an_installed_tool_is_still_warmed(tmp_path: Path) -> None:
    env = fake_environment(tmp_path, Tool.CHECKOV, "exit 0")
    warm_up = RecordingWarmUp()
    manifest = set_up(env, warm_up=warm_up)
    assert manifest.version == env.spec.version
    assert warm_up.calls == [(env.path, False)]


def test_without_a_warm_up_set_up_only_installs(tmp_path: Path) -> None:
    env = fake_environment(tmp_path, Tool.BANDIT, "exit 0")
    assert set_up(env).created == "2026-01-01T00:00:00+00:00"


def test_a_failed_install_warms_nothing(tmp_path: Path) -> None:
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    env = ToolEnvironment.for_tool(Tool.CHECKOV, tmp_path / "home")
    warm_up = RecordingWarmUp()
    with pytest.raises(ToolMissingError, match="pip install failed"):
        set_up(env, InstallSource(find_links=wheels), warm_up=warm_up)
    assert warm_up.calls == []
