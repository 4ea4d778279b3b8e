"""Where what belongs to the user lives: ``$BASTION_HOME``, default ``~/.local/share/bastion``.

Keys, the vault, scanner tool environments, the vulnerability database and the user's own
audit log live there; no job can see it. Like :mod:`bastion.errors`, this root module may be
imported by every package, leaf packages included: one rule, written once.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

__all__ = ["HOME_ENV", "bastion_home"]

HOME_ENV = "BASTION_HOME"


def bastion_home(environ: Mapping[str, str] | None = None) -> Path:
    """``$BASTION_HOME`` (``~`` expanded), else ``~/.local/share/bastion``; not created."""
    configured = (os.environ if environ is None else environ).get(HOME_ENV, "")
    if configured:
        return Path(configured).expanduser()
    return Path.home() / ".local" / "share" / "bastion"
