"""Where what belongs to the user lives: ``$BASTION_HOME``, default ``~/.local/share/bastion``.

Keys, the vault, scanner tool environments, the vulnerability database and the user's own
audit log live there; no job can see it. :func:`bastion_home` only names it;
:func:`ensure_bastion_home` also creates it. Like :mod:`bastion.errors`, this root module may be
imported by every package, leaf packages included: one rule, written once.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

__all__ = ["HOME_ENV", "bastion_home", "ensure_bastion_home"]

HOME_ENV = "BASTION_HOME"


def bastion_home(environ: Mapping[str, str] | None = None) -> Path:
    """``$BASTION_HOME`` (``~`` expanded), else ``~/.local/share/bastion``; not created."""
    configured = (os.environ if environ is None else environ).get(HOME_ENV, "")
    if configured:
        return Path(configured).expanduser()
    return Path.home() / ".local" / "share" / "bastion"


def ensure_bastion_home(environ: Mapping[str, str] | None = None) -> Path:
    """:func:`bastion_home`, created (with its parents) mode 0700 if it does not exist yet.

    Callers that are about to write there (a database, a key, a log) use this one; callers that
    only look (a gate finding its tools) use :func:`bastion_home`, so a scan never creates it.
    An existing folder's mode is left as the user set it.
    """
    home = bastion_home(environ)
    home.mkdir(parents=True, exist_ok=True, mode=0o700)
    return home
