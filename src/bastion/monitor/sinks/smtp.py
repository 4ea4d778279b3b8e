"""Alerts by e-mail (SMTP, STARTTLS when asked). A server that is down or refuses is a
DeliveryError: the alert stays queued and is retried."""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Sequence
from email.message import EmailMessage

from bastion.monitor.alerts import Alert
from bastion.monitor.interface import DeliveryError, MonitorError

__all__ = ["SmtpSink", "alert_email"]


def alert_email(alert: Alert, sender: str, recipients: Sequence[str]) -> EmailMessage:
    """The message for one alert."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = ", ".join(recipients)
    message["Subject"] = f"[bastion {alert.severity.value}] {alert.title}"
    lines = [
        alert.title,
        "",
        alert.detail,
        "",
        f"rule:     {alert.rule}",
        f"severity: {alert.severity.value}",
        f"alert:    #{alert.id} ({alert.state.value})",
    ]
    if alert.repo:
        lines.append(f"repo:     {alert.repo}")
    lines.append(f"since:    {alert.created_at.isoformat()}")
    message.set_content("\n".join(lines) + "\n")
    return message


class SmtpSink:
    """Sends each alert as one e-mail."""

    def __init__(
        self,
        host: str,
        port: int,
        sender: str,
        recipients: Sequence[str],
        *,
        name: str = "smtp",
        starttls: bool = True,
        timeout: float = 10.0,
    ) -> None:
        if not recipients:
            raise MonitorError("an SMTP sink needs at least one recipient")
        self.name, self.host, self.port = name, host, port
        self.sender, self.recipients = sender, tuple(recipients)
        self.starttls, self.timeout = starttls, timeout

    def send(self, alert: Alert) -> None:
        """Hand the e-mail to the server; DeliveryError if it is down or refuses."""
        message = alert_email(alert, self.sender, self.recipients)
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as client:
                if self.starttls:
                    client.starttls(context=ssl.create_default_context())
                client.send_message(message)
        except (smtplib.SMTPException, OSError) as exc:
            raise DeliveryError(f"SMTP {self.host}:{self.port}: {exc}") from exc
