"""``$BASTION_HOME/monitor.yml``: how often the server evaluates and delivers, and where
alerts go. Every mistake is a :class:`RuleFileError` naming the file and line, and the
server refuses to start on one (a typo must not quietly silence the alerts).

    version: 1
    interval_seconds: 30
    retry: {base_seconds: 30, max_attempts: 8}
    rules: rules.yml                 # a rule file (bastion.monitor.rulefile), beside this one
    sinks:
      webhook: {url: "https://hooks.example/bastion", secret: "at least 16 bytes of secret"}
      slack: {url: "https://hooks.slack.com/services/..."}
      smtp: {host: mail.example, port: 587, from: bastion@example.org,
             to: [security@example.org], starttls: true}

No file: evaluation every 60 s with the default rules and no sink (alerts are stored and
shown, nothing is sent).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from yaml.nodes import Node

from bastion.monitor.delivery import Backoff
from bastion.monitor.interface import RuleFileError
from bastion.monitor.rulefile import _Reader, compose_yaml, load_rule_file
from bastion.monitor.settings import RuleSettings
from bastion.monitor.sinks import Sink, SlackSink, SmtpSink, WebhookSink

__all__ = [
    "MONITOR_FILE",
    "MonitorConfig",
    "SmtpSettings",
    "WebhookSettings",
    "load_monitor_config",
    "parse_monitor_config",
]

MONITOR_FILE = "monitor.yml"
_KEYS = ("version", "interval_seconds", "retry", "rules", "sinks")
_SMTP_KEYS = {"host", "port", "from", "to", "starttls"}


@dataclass(frozen=True)
class WebhookSettings:
    """A signed webhook: where, and the shared HMAC secret (never shown)."""

    url: str
    secret: bytes = field(repr=False)


@dataclass(frozen=True)
class SmtpSettings:
    """An SMTP relay and the envelope of the alert e-mails."""

    host: str
    port: int
    sender: str
    recipients: tuple[str, ...]
    starttls: bool = True


@dataclass(frozen=True)
class MonitorConfig:
    """What the server's monitor runs with (defaults: no file)."""

    interval: float = 60.0
    backoff: Backoff = field(default_factory=Backoff)
    rules: RuleSettings = field(default_factory=RuleSettings)
    webhook: WebhookSettings | None = None
    slack_url: str | None = field(default=None, repr=False)
    smtp: SmtpSettings | None = None

    def sinks(self) -> list[Sink]:
        """One sink per configured destination."""
        sinks: list[Sink] = []
        if self.webhook is not None:
            sinks.append(WebhookSink(self.webhook.url, self.webhook.secret))
        if self.slack_url is not None:
            sinks.append(SlackSink(self.slack_url))
        if self.smtp is not None:
            smtp = self.smtp
            sinks.append(
                SmtpSink(smtp.host, smtp.port, smtp.sender, smtp.recipients, starttls=smtp.starttls)
            )
        return sinks


def _url(r: _Reader, node: Node, what: str) -> str:
    url = r.text(node, what)
    if not url.startswith(("https://", "http://")):
        raise r.fail(node, f"{what} must be an http(s) URL")
    return url


def _only(r: _Reader, node: Node, what: str, allowed: set[str]) -> dict[str, Node]:
    fields = r.mapping(node, what)
    for name, (key, _value) in fields.items():
        if name not in allowed:
            raise r.fail(key, f"unknown key {name!r} in {what}", hint=", ".join(sorted(allowed)))
    return {name: value for name, (_key, value) in fields.items()}


def _need(r: _Reader, node: Node, fields: dict[str, Node], name: str, what: str) -> Node:
    if name not in fields:
        raise r.fail(node, f"{what} needs {name}")
    return fields[name]


def _webhook(r: _Reader, node: Node) -> WebhookSettings:
    fields = _only(r, node, "the webhook sink", {"url", "secret"})
    url = _url(r, _need(r, node, fields, "url", "the webhook sink"), "url")
    secret_node = _need(r, node, fields, "secret", "the webhook sink")
    secret = r.text(secret_node, "secret").encode()
    if len(secret) < 16:
        raise r.fail(secret_node, "the webhook secret needs at least 16 bytes")
    return WebhookSettings(url, secret)


def _slack(r: _Reader, node: Node) -> str:
    fields = _only(r, node, "the slack sink", {"url"})
    return _url(r, _need(r, node, fields, "url", "the slack sink"), "url")


def _smtp(r: _Reader, node: Node) -> SmtpSettings:
    fields = _only(r, node, "the smtp sink", _SMTP_KEYS)
    port_node = _need(r, node, fields, "port", "the smtp sink")
    port = r.number(port_node, "port")
    if port != int(port) or port > 65535:
        raise r.fail(port_node, "port must be a whole number from 1 to 65535")
    to = r.texts(_need(r, node, fields, "to", "the smtp sink"), "to")
    if not to:
        raise r.fail(fields["to"], "to needs at least one address")
    return SmtpSettings(
        r.text(_need(r, node, fields, "host", "the smtp sink"), "host"),
        int(port),
        r.text(_need(r, node, fields, "from", "the smtp sink"), "from"),
        tuple(to),
        r.flag(fields["starttls"], "starttls") if "starttls" in fields else True,
    )


def _backoff(r: _Reader, node: Node) -> Backoff:
    fields = _only(r, node, "retry", {"base_seconds", "max_attempts"})
    base = r.number(fields["base_seconds"], "base_seconds") if "base_seconds" in fields else 30.0
    tries = r.number(fields["max_attempts"], "max_attempts") if "max_attempts" in fields else 8
    return Backoff(base=base, max_attempts=int(tries))


def _settings(r: _Reader, root: Node, base: Path) -> MonitorConfig:
    top = _only(r, root, "the monitor file", set(_KEYS))
    if "version" in top and r.number(top["version"], "version") != 1:
        raise r.fail(top["version"], "only version 1 monitor files are understood")
    sinks = _only(r, top["sinks"], "sinks", {"webhook", "slack", "smtp"}) if "sinks" in top else {}
    rules = RuleSettings()
    if "rules" in top:
        rules = load_rule_file(base / r.text(top["rules"], "rules"))
    return MonitorConfig(
        interval=r.number(top["interval_seconds"], "interval_seconds")
        if "interval_seconds" in top
        else 60.0,
        backoff=_backoff(r, top["retry"]) if "retry" in top else Backoff(),
        rules=rules,
        webhook=_webhook(r, sinks["webhook"]) if "webhook" in sinks else None,
        slack_url=_slack(r, sinks["slack"]) if "slack" in sinks else None,
        smtp=_smtp(r, sinks["smtp"]) if "smtp" in sinks else None,
    )


def parse_monitor_config(
    text: str, path: str = "<monitor>", base: Path | None = None
) -> MonitorConfig:
    """The configuration in ``text`` (``path`` names it in errors; a ``rules`` file is read
    relative to ``base``, default the current directory)."""
    root = compose_yaml(text, path)
    if root is None:
        return MonitorConfig()
    return _settings(_Reader(path), root, base or Path.cwd())


def load_monitor_config(path: Path) -> MonitorConfig:
    """The configuration in ``path``; defaults when there is no such file."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return MonitorConfig()
    except (OSError, UnicodeDecodeError) as exc:
        raise RuleFileError(f"cannot read: {exc}", path=str(path), line=None) from None
    return parse_monitor_config(text, str(path), path.parent)
