"""What ``bastion tools list`` shows: each tool, its pinned version, installed or not.

>>> [status.tool for status in list_tools(Path("/nonexistent"))]
['bandit', 'semgrep', 'checkov']
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bastion.scanners.tools.catalog import Tool
from bastion.scanners.tools.environment import ToolEnvironment

__all__ = ["ToolStatus", "list_tools"]


@dataclass(frozen=True, slots=True)
class ToolStatus:
    """One tool environment as the CLI reports it."""

    tool: str
    version: str
    installed: bool
    path: Path
    size_bytes: int
    created: str | None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "tool": self.tool,
            "version": self.version,
            "installed": self.installed,
            "path": str(self.path),
            "size_bytes": self.size_bytes,
            "created": self.created,
        }


def list_tools(home: Path | None = None) -> list[ToolStatus]:
    """The status of every tool's environment under ``home`` (default: the Bastion home)."""
    statuses: list[ToolStatus] = []
    for tool in Tool:
        env = ToolEnvironment.for_tool(tool, home)
        manifest = env.manifest()
        installed = env.is_installed()
        statuses.append(
            ToolStatus(
                tool=tool.value,
                version=env.spec.version,
                installed=installed,
                path=env.path,
                size_bytes=env.size_bytes() if installed else 0,
                created=manifest.created if manifest else None,
            )
        )
    return statuses
