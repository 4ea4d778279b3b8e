"""Where alerts go: signed webhooks, Slack-compatible JSON, SMTP.

>>> sink = WebhookSink("https://hooks.example/bastion", secret=b"0123456789abcdef")
"""

from __future__ import annotations

from bastion.monitor.sinks.http import UrllibPoster
from bastion.monitor.sinks.interface import Poster, Sink
from bastion.monitor.sinks.smtp import SmtpSink, alert_email
from bastion.monitor.sinks.webhook import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    SlackSink,
    WebhookSink,
    sign,
    slack_message,
)

__all__ = [
    "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
    "Poster",
    "Sink",
    "SlackSink",
    "SmtpSink",
    "UrllibPoster",
    "WebhookSink",
    "alert_email",
    "sign",
    "slack_message",
]
