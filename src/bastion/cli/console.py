"""The two consoles: data to stdout, people to stderr (Rich styling only on a terminal)."""

from __future__ import annotations

from rich.console import Console

__all__ = ["err_console", "out_console"]

out_console = Console(soft_wrap=True)
err_console = Console(stderr=True, soft_wrap=True)
