"""Where the vulnerability database lives: ``$BASTION_HOME/osv``.

``$BASTION_HOME`` defaults to ``~/.local/share/bastion``.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["bastion_home", "osv_dir"]


def bastion_home() -> Path:
    """Bastion's state directory: ``$BASTION_HOME`` or ``~/.local/share/bastion``."""
    configured = os.environ.get("BASTION_HOME")
    if configured:
        return Path(configured).expanduser()
    return Path.home() / ".local" / "share" / "bastion"


def osv_dir() -> Path:
    """The directory holding one SQLite index file per ecosystem."""
    return bastion_home() / "osv"
