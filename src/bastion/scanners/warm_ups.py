"""Each tool's warm-up: first-run work ``bastion tools install`` does ahead of time.

    >>> from bastion.scanners.tools import Tool
    >>> warm_up_for(Tool.BANDIT) is None
    True

Bandit and Semgrep start as fast the first time as any other; Checkov compiles its HCL
grammar unless a cache exists (:mod:`bastion.scanners.iac.grammar_cache`).
"""

from __future__ import annotations

from typing import assert_never

from bastion.scanners.iac.grammar_cache import warm_checkov
from bastion.scanners.tools import Tool, WarmUp

__all__ = ["warm_up_for"]


def warm_up_for(tool: Tool) -> WarmUp | None:
    """The warm-up of ``tool``, or None when it has none."""
    match tool:
        case Tool.CHECKOV:
            return warm_checkov
        case Tool.BANDIT | Tool.SEMGREP:
            return None
        case _:
            assert_never(tool)
