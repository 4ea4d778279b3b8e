"""Tool environments: each external scanner in its own pinned, hashed virtual environment.

    >>> from bastion.scanners.tools import Tool, ToolEnvironment
    >>> ToolEnvironment.for_tool(Tool.SEMGREP).spec.tool
    <Tool.SEMGREP: 'semgrep'>

Scanners conflict with each other and with Bastion (Checkov replaces detect-secrets' module
with its own fork and pins old shared libraries), so each gets an environment under
``$BASTION_HOME/tools``, created on first use or ahead of time with ``bastion tools install``.
"""

from bastion.scanners.tools.catalog import Tool, ToolSpec, parse_tool, spec_for
from bastion.scanners.tools.environment import (
    ToolEnvironment,
    ToolManifest,
    install_command,
    sandbox_environment,
)
from bastion.scanners.tools.install_progress import InstallProgress, install_line, tools_named
from bastion.scanners.tools.installer import (
    InstallSource,
    WarmUp,
    ensure_installed,
    install,
    set_up,
)
from bastion.scanners.tools.process import ToolRun, run_tool
from bastion.scanners.tools.status import ToolStatus, list_tools

__all__ = [
    "InstallProgress",
    "InstallSource",
    "Tool",
    "ToolEnvironment",
    "ToolManifest",
    "ToolRun",
    "ToolSpec",
    "ToolStatus",
    "WarmUp",
    "ensure_installed",
    "install",
    "install_command",
    "install_line",
    "list_tools",
    "parse_tool",
    "run_tool",
    "sandbox_environment",
    "set_up",
    "spec_for",
    "tools_named",
]
