"""The sink protocol: somewhere an alert is delivered. ``send`` raises DeliveryError when
the alert was not taken (it stays queued and is retried)."""

from __future__ import annotations

from typing import Protocol

from bastion.monitor.alerts import Alert

__all__ = ["Poster", "Sink"]


class Sink(Protocol):
    """Delivers one alert (already masked) or raises DeliveryError."""

    name: str

    def send(self, alert: Alert) -> None:
        """Deliver ``alert``."""
        ...


class Poster(Protocol):
    """The HTTP seam: POST ``body`` with ``headers``; the status code, or OSError."""

    def post(self, url: str, body: bytes, headers: dict[str, str], timeout: float) -> int:
        """POST and return the response status."""
        ...
