"""The ``with:`` options every tool-driven gate understands, checked before any tool runs.

    >>> opts = ToolGateOptions.parse("sast", {"timeout": 120}, extra=frozenset())
    >>> opts.timeout
    120.0

A misspelt or ill-typed option is an error naming the gate, the option and the fix; it is
never ignored, because an ignored ``exclude`` or ``timeout`` silently changes what is scanned.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bastion.errors import UsageError
from bastion.scanners.gate_options import check_option_keys

__all__ = [
    "COMMON_OPTIONS",
    "DEFAULT_EXCLUDES",
    "DEFAULT_TIMEOUT_SECONDS",
    "ToolGateOptions",
    "string_list",
]

DEFAULT_TIMEOUT_SECONDS = 600.0

# Directories that hold third-party or generated code, never the project's own.
DEFAULT_EXCLUDES: tuple[str, ...] = (
    ".git",
    ".hg",
    ".svn",
    ".venv",
    "venv",
    ".tox",
    ".nox",
    "node_modules",
    "__pycache__",
    ".mypy_cache",
    ".pytest_cache",
    ".ruff_cache",
    "site-packages",
    ".terraform",
)

# The keys every tool-driven gate accepts; a gate adds its own (``Gate.option_keys``).
COMMON_OPTIONS = frozenset({"timeout", "exclude"})


def string_list(gate: str, name: str, value: Any) -> tuple[str, ...]:
    """A ``with:`` value that must be a string or a list of non-empty strings."""
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list | tuple) or not all(
        isinstance(item, str) and item.strip() for item in items
    ):
        raise UsageError(
            f"bastion/{gate}: option `{name}` must be a list of strings",
            hint=f'write e.g. `{name}: ["first", "second"]`',
        )
    return tuple(item.strip() for item in items)


def _timeout(gate: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise UsageError(
            f"bastion/{gate}: option `timeout` must be a positive number of seconds, got {value!r}",
            hint="write e.g. `timeout: 600`",
        )
    return float(value)


@dataclass(frozen=True, slots=True)
class ToolGateOptions:
    """Options shared by the gates that drive external tools."""

    timeout: float = DEFAULT_TIMEOUT_SECONDS
    exclude: tuple[str, ...] = DEFAULT_EXCLUDES

    @classmethod
    def parse(cls, gate: str, options: Mapping[str, Any], extra: frozenset[str]) -> ToolGateOptions:
        """Check ``options`` (``extra`` names the gate's own keys, parsed by the gate)."""
        check_option_keys(gate, options, COMMON_OPTIONS | extra)
        timeout = _timeout(gate, options.get("timeout", DEFAULT_TIMEOUT_SECONDS))
        exclude = DEFAULT_EXCLUDES
        if "exclude" in options:
            exclude = DEFAULT_EXCLUDES + string_list(gate, "exclude", options["exclude"])
        return cls(timeout=timeout, exclude=exclude)
