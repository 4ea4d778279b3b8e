"""The two consoles: data to stdout, people to stderr (Rich styling only on a terminal)."""

from __future__ import annotations

import sys

from rich.console import Console

__all__ = ["err_console", "out_console"]

# Off a terminal Rich would assume 80 columns and cut table cells; logs and pipes get room.
out_console = Console(soft_wrap=True, width=None if sys.stdout.isatty() else 200)
err_console = Console(stderr=True, soft_wrap=True, width=None if sys.stderr.isatty() else 200)
