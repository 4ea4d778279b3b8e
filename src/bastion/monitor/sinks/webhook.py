"""Signed webhooks and Slack-compatible JSON.

A webhook body is the alert's JSON (:meth:`Alert.to_dict` plus ``"type": "bastion.alert"``);
``X-Bastion-Timestamp`` is the send time (Unix seconds) and ``X-Bastion-Signature`` is
``sha256=`` + hex HMAC-SHA256 over ``<timestamp>.<body>`` with the shared secret, so a
receiver checks the exact bytes and refuses replays older than its tolerance.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Callable

from bastion.monitor.alerts import Alert
from bastion.monitor.interface import DeliveryError, MonitorError, Severity
from bastion.monitor.sinks.http import UrllibPoster
from bastion.monitor.sinks.interface import Poster

__all__ = [
    "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
    "SlackSink",
    "WebhookSink",
    "sign",
    "slack_message",
]

SIGNATURE_HEADER = "X-Bastion-Signature"
TIMESTAMP_HEADER = "X-Bastion-Timestamp"
_MIN_SECRET = 16
_EMOJI = {
    Severity.CRITICAL: ":rotating_light:",
    Severity.HIGH: ":red_circle:",
    Severity.MEDIUM: ":large_orange_circle:",
    Severity.LOW: ":large_blue_circle:",
}


def sign(secret: bytes, timestamp: str, body: bytes) -> str:
    """The signature header value for ``body`` sent at ``timestamp``."""
    mac = hmac.new(secret, timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def _post(poster: Poster, url: str, body: bytes, headers: dict[str, str], timeout: float) -> None:
    try:
        status = poster.post(url, body, headers, timeout)
    except OSError as exc:
        raise DeliveryError(f"cannot reach the webhook: {exc}") from exc
    if not 200 <= status < 300:
        raise DeliveryError(f"the webhook answered HTTP {status}")


class WebhookSink:
    """POSTs each alert as JSON, HMAC-signed."""

    def __init__(
        self,
        url: str,
        secret: bytes,
        *,
        name: str = "webhook",
        poster: Poster | None = None,
        timeout: float = 10.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if len(secret) < _MIN_SECRET:
            raise MonitorError(f"a webhook secret needs at least {_MIN_SECRET} bytes")
        self.name, self.url, self._secret = name, url, secret
        self._poster = poster or UrllibPoster()
        self._timeout, self._clock = timeout, clock

    def send(self, alert: Alert) -> None:
        """POST the alert; DeliveryError unless a 2xx answer came back."""
        body = json.dumps({"type": "bastion.alert", **alert.to_dict()}, sort_keys=True).encode()
        stamp = str(int(self._clock()))
        headers = {
            "Content-Type": "application/json",
            TIMESTAMP_HEADER: stamp,
            SIGNATURE_HEADER: sign(self._secret, stamp, body),
        }
        _post(self._poster, self.url, body, headers, self._timeout)


def slack_message(alert: Alert) -> dict[str, object]:
    """A Slack-compatible incoming-webhook message (``text`` plus ``blocks``)."""
    head = f"{_EMOJI[alert.severity]} [{alert.severity.value}] {alert.title}"
    facts = f"rule `{alert.rule}` · alert #{alert.id}" + (f" · {alert.repo}" if alert.repo else "")
    return {
        "text": head,
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": f"*{head}*\n{alert.detail}"}},
            {"type": "context", "elements": [{"type": "mrkdwn", "text": facts}]},
        ],
    }


class SlackSink:
    """POSTs Slack-compatible JSON to an incoming-webhook URL (the URL is the secret)."""

    def __init__(
        self, url: str, *, name: str = "slack", poster: Poster | None = None, timeout: float = 10.0
    ) -> None:
        self.name, self.url = name, url
        self._poster = poster or UrllibPoster()
        self._timeout = timeout

    def send(self, alert: Alert) -> None:
        """POST the message; DeliveryError unless a 2xx answer came back."""
        body = json.dumps(slack_message(alert)).encode()
        _post(self._poster, self.url, body, {"Content-Type": "application/json"}, self._timeout)
