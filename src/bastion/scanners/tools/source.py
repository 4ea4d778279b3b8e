"""Map a path a tool reported back into the scanned tree, and read the line it flagged.

    >>> to_relative(Path("/repo"), "./service/app.py")
    'service/app.py'

A finding's match key is the flagged line's text, read here from the file rather than taken
from the tool (Semgrep without a login prints "requires login" instead of the line).
"""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath

from bastion.errors import GateError

__all__ = ["read_line", "to_relative"]


def to_relative(root: Path, reported: str) -> str:
    """The repository-relative POSIX path of ``reported`` (absolute or relative to root).

    A path that resolves outside ``root`` means the tool scanned something it was not
    given; the gate fails closed rather than report on it.
    """
    candidate = Path(reported)
    if not candidate.is_absolute():
        candidate = root / candidate
    resolved_root = os.path.normpath(root.absolute())
    normalised = os.path.normpath(candidate.absolute())
    relative = os.path.relpath(normalised, resolved_root)
    if relative == os.curdir or relative.startswith(os.pardir):
        raise GateError(f"a scanner reported a path outside the scanned tree: {reported!r}")
    return PurePosixPath(*Path(relative).parts).as_posix()


def read_line(root: Path, relative: str, line: int | None) -> str:
    """Text of ``line`` (1-based) in ``root/relative``; empty if unreadable or absent."""
    if line is None or line < 1:
        return ""
    try:
        with (root / relative).open(encoding="utf-8", errors="replace") as handle:
            for number, text in enumerate(handle, start=1):
                if number == line:
                    return text.rstrip("\r\n")
    except OSError:
        return ""
    return ""
