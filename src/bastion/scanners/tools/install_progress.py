"""Say each tool install of a first run as it starts: ``installing Semgrep 1.180.0 (1 of 3)…``.

A first run or scan installs about 700 MB of scanner environments (Semgrep ~375 MB,
Checkov ~290 MB, Bandit ~45 MB on disk); without a line per tool it sat silent for minutes.

    >>> progress = InstallProgress.plan([], print)
    >>> progress.total
    0
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from bastion.scanners.tools.catalog import Tool
from bastion.scanners.tools.environment import ToolEnvironment
from bastion.scanners.tools.installer import InstallSource, ensure_installed

__all__ = ["APPROX_INSTALLED_MB", "InstallProgress", "install_line", "tools_named"]

APPROX_INSTALLED_MB = {Tool.SEMGREP: 375, Tool.CHECKOV: 290, Tool.BANDIT: 45}
"""Each environment's size on disk, measured on the pinned versions (rounded)."""

_DISPLAY = {Tool.SEMGREP: "Semgrep", Tool.CHECKOV: "Checkov", Tool.BANDIT: "Bandit"}


def install_line(env: ToolEnvironment, index: int, total: int) -> str:
    """``installing Semgrep 1.180.0 (1 of 3, about 375 MB)…``."""
    tool = env.spec.tool
    return (
        f"installing {_DISPLAY[tool]} {env.spec.version} ({index} of {total}, about "
        f"{APPROX_INSTALLED_MB[tool]} MB)…"
    )


def tools_named(names: Iterable[str]) -> list[Tool]:
    """The :class:`Tool` members among ``names`` (a gate's ``tool_versions()`` keys)."""
    wanted = set(names)
    return [tool for tool in Tool if tool.value in wanted]


@dataclass
class InstallProgress:
    """The tools a run will install, counted once, each said as its install starts."""

    pending: list[ToolEnvironment]
    say: Callable[[str], None]
    done: int = 0
    _said: set[Tool] = field(default_factory=set)

    @classmethod
    def plan(
        cls, tools: Iterable[Tool], say: Callable[[str], None], home: Path | None = None
    ) -> InstallProgress:
        """Every one of ``tools`` not installed yet under ``home`` (default Bastion home)."""
        envs = [ToolEnvironment.for_tool(tool, home) for tool in dict.fromkeys(tools)]
        return cls([env for env in envs if not env.is_installed()], say)

    @property
    def total(self) -> int:
        """How many installs the run will do."""
        return len(self.pending)

    def install(self, tools: Iterable[Tool], source: InstallSource | None = None) -> None:
        """Install those of ``tools`` still pending, a line each (ToolMissingError if not)."""
        wanted = set(tools)
        for env in self.pending:
            tool = env.spec.tool
            if tool not in wanted or tool in self._said or env.is_installed():
                continue
            self._said.add(tool)
            self.done += 1
            self.say(install_line(env, self.done, self.total))
            ensure_installed(env, source)
