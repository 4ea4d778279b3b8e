"""The server's clock: injected, so tests can move time (session expiry, TOTP windows)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from bastion.store import utcnow

__all__ = ["Clock", "system_clock"]

Clock = Callable[[], datetime]
"""Returns the current time, timezone-aware."""


def system_clock() -> datetime:
    """The real time, in UTC."""
    return utcnow()
