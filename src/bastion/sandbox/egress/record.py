"""What the proxy records about every request a job makes."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

__all__ = ["EgressLog", "EgressRecord"]


@dataclass(frozen=True, slots=True)
class EgressRecord:
    """One request (a CONNECT tunnel or one plain HTTP exchange), allowed or denied.

    ``host`` and ``port`` are what the job asked for; ``address`` the IP the proxy
    connected to (None if it did not connect). ``bytes_up`` counts bytes from the job to
    the destination, ``bytes_down`` the other way, headers included. ``duration`` is in
    seconds.
    """

    job: str
    host: str
    port: int
    method: str
    bytes_up: int
    bytes_down: int
    allowed: bool
    reason: str
    started: datetime
    duration: float
    address: str | None = None


EgressLog = Callable[[EgressRecord], None]
"""Receives each record, from the proxy's own thread: it must be thread-safe and quick."""
