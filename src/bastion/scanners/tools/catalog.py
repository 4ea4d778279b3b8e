"""The external scanners Bastion drives and the pinned requirement set it ships for each.

    >>> from bastion.scanners.tools.catalog import Tool, spec_for
    >>> spec_for(Tool.BANDIT).version
    '1.9.4'

Each tool's requirements live in ``requirements/<tool>.txt``, compiled with hashes from the
one-line ``requirements/<tool>.in`` (``uv pip compile --generate-hashes --python-version
3.11``). The digest of that file names the tool environment, so changing a pin makes a new
environment instead of mutating an old one.
"""

from __future__ import annotations

import enum
import hashlib
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources

from bastion.errors import UsageError

__all__ = ["Tool", "ToolSpec", "parse_tool", "spec_for"]


class Tool(enum.StrEnum):
    """Every scanner that runs from its own tool environment."""

    BANDIT = "bandit"
    SEMGREP = "semgrep"
    CHECKOV = "checkov"


@dataclass(frozen=True, slots=True)
class ToolSpec:
    """A tool's pinned requirement set and the console script that runs it."""

    tool: Tool
    version: str
    requirements: bytes
    executable: str

    @property
    def digest(self) -> str:
        """sha256 of the hashed requirement file: the environment's identity."""
        return hashlib.sha256(self.requirements).hexdigest()

    @property
    def env_name(self) -> str:
        """Directory name under ``$BASTION_HOME/tools``: ``<tool>-<version>-<digest12>``."""
        return f"{self.tool.value}-{self.version}-{self.digest[:12]}"


def _requirement_text(tool: Tool) -> bytes:
    return (
        resources.files("bastion.scanners.tools")
        .joinpath("requirements", f"{tool.value}.txt")
        .read_bytes()
    )


def _pinned_version(tool: Tool, requirements: bytes) -> str:
    # The tool's own pin, e.g. "bandit==1.9.4 \" at the start of a line.
    pattern = rf"^{re.escape(tool.value)}==([^\s\\;]+)"
    match = re.search(pattern, requirements.decode(), flags=re.MULTILINE | re.IGNORECASE)
    if match is None:
        raise RuntimeError(f"shipped requirements for {tool.value} do not pin {tool.value}")
    return match.group(1)


@cache
def spec_for(tool: Tool) -> ToolSpec:
    """The shipped spec for ``tool`` (read once from the package data)."""
    requirements = _requirement_text(tool)
    return ToolSpec(
        tool=tool,
        version=_pinned_version(tool, requirements),
        requirements=requirements,
        executable=tool.value,
    )


def parse_tool(name: str) -> Tool:
    """The :class:`Tool` called ``name``; a usage error listing the known tools otherwise."""
    try:
        return Tool(name.strip().lower())
    except ValueError:
        known = ", ".join(t.value for t in Tool)
        raise UsageError(f"unknown tool {name!r}", hint=f"use one of: {known}") from None
