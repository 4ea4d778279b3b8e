"""Where the vulnerability database lives: ``$BASTION_HOME/osv``.

``$BASTION_HOME`` defaults to ``~/.local/share/bastion``.
"""

from __future__ import annotations

from pathlib import Path

from bastion.home import bastion_home

__all__ = ["osv_dir"]


def osv_dir() -> Path:
    """The directory holding one SQLite index file per ecosystem."""
    return bastion_home() / "osv"
