"""Where the vulnerability database lives: ``$BASTION_HOME/osv``.

``$BASTION_HOME`` defaults to ``~/.local/share/bastion``.
"""

from __future__ import annotations

from pathlib import Path

from bastion.home import bastion_home as user_home

__all__ = ["bastion_home", "osv_dir"]


def bastion_home() -> Path:
    """Bastion's state directory: ``$BASTION_HOME`` or ``~/.local/share/bastion``."""
    return user_home()


def osv_dir() -> Path:
    """The directory holding one SQLite index file per ecosystem."""
    return bastion_home() / "osv"
