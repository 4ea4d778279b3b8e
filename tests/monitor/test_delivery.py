"""Sinks and the outbox: signed webhooks with retries and a dead-letter list, Slack JSON,
SMTP against a local aiosmtpd server (and one that is down: the alert is kept)."""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email import message_from_bytes

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Sink as SmtpSinkHandler
from aiosmtpd.smtp import SMTP as SmtpServer
from aiosmtpd.smtp import Envelope, Session

from bastion.audit import AuditEvent, AuditLog, Outcome
from bastion.monitor import Evaluator, PlainText, builtin_rules
from bastion.monitor.delivery import Backoff, Dispatcher
from bastion.monitor.sinks import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    SlackSink,
    SmtpSink,
    WebhookSink,
)
from bastion.store import Database, open_database
from bastion.vault import Masker

SECRET = b"webhook-shared-secret-0123"
LEAK = "ghp_aaaaBBBBccccDDDDeeeeFFFF0000111122"


class FakePoster:
    """Records posts; answers the statuses given, then 200."""

    def __init__(self, *statuses: int) -> None:
        self.statuses = list(statuses)
        self.posts: list[tuple[str, bytes, dict[str, str]]] = []

    def post(self, url: str, body: bytes, headers: dict[str, str], timeout: float) -> int:
        self.posts.append((url, body, headers))
        return self.statuses.pop(0) if self.statuses else 200


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC) + timedelta(seconds=1)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def db() -> Database:
    return open_database("sqlite://")


def _alert(db: Database, sinks: tuple[str, ...], detail: str = "x") -> None:
    log = AuditLog(db, witness=None)
    failed = [{"check": "policy", "reason": detail}]
    log.append(
        AuditEvent("user:ci", "verify.performed", "sha256:aa", Outcome.DENIED, {"failed": failed})
    )
    Evaluator(db, builtin_rules(), PlainText(), sinks=sinks).run_once(log.entries)


def test_webhook_is_signed_over_the_exact_body(db: Database) -> None:
    poster = FakePoster()
    sink = WebhookSink("https://hooks.example/a", SECRET, poster=poster, clock=lambda: 1700000000)
    _alert(db, ("webhook",))
    report = Dispatcher(db, [sink], PlainText()).deliver_due()
    assert (report.sent, report.failed, report.dead) == (1, 0, 0)
    ((_url, body, headers),) = poster.posts
    expected = hmac.new(SECRET, b"1700000000." + body, hashlib.sha256).hexdigest()
    assert headers[SIGNATURE_HEADER] == f"sha256={expected}"
    assert headers[TIMESTAMP_HEADER] == "1700000000"
    assert json.loads(body)["rule"] == "verify-failed"


def test_retries_with_backoff_then_dead_letter(db: Database) -> None:
    clock, poster = Clock(), FakePoster(500, 503, 500)
    sink = WebhookSink("https://hooks.example/a", SECRET, poster=poster)
    dispatcher = Dispatcher(db, [sink], PlainText(), backoff=Backoff(10, 2, 100, 3), clock=clock)
    _alert(db, ("webhook",))
    assert dispatcher.deliver_due().failed == 1
    assert dispatcher.deliver_due().failed == 0  # not due yet
    clock.now += timedelta(seconds=10)
    assert dispatcher.deliver_due().failed == 1
    clock.now += timedelta(seconds=19)
    assert dispatcher.deliver_due().failed == 0  # the second wait is 20 s
    clock.now += timedelta(seconds=1)
    assert dispatcher.deliver_due().dead == 1
    (dead,) = dispatcher.dead_letters()
    assert (dead.attempts, dead.last_error) == (3, "the webhook answered HTTP 500")
    dispatcher.retry(dead.delivery_id)
    assert dispatcher.deliver_due().sent == 1
    assert len(poster.posts) == 4
    assert dispatcher.dead_letters() == []


def test_slack_json_and_masking_on_the_way_out(db: Database) -> None:
    poster = FakePoster()
    _alert(db, ("slack",), detail=f"token {LEAK}")
    Dispatcher(
        db, [SlackSink("https://hooks.slack.example/T/B/x", poster=poster)], Masker([LEAK])
    ).deliver_due()
    ((_url, body, _headers),) = poster.posts
    message = json.loads(body)
    assert message["text"].startswith(":red_circle: [high] verify refused sha256:aa")
    assert [b["type"] for b in message["blocks"]] == ["section", "context"]
    assert LEAK.encode() not in body


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class _Inbox(SmtpSinkHandler):
    def __init__(self) -> None:
        self.messages: list[bytes] = []

    async def handle_DATA(self, server: SmtpServer, session: Session, envelope: Envelope) -> str:
        assert isinstance(envelope.content, bytes)
        self.messages.append(envelope.content)
        return "250 OK"


@pytest.fixture
def smtp_port() -> int:
    return _free_port()


@pytest.fixture
def inbox(smtp_port: int) -> Iterator[_Inbox]:
    handler = _Inbox()
    controller = Controller(handler, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    yield handler
    controller.stop()


def test_smtp_delivers_to_a_local_server(db: Database, smtp_port: int, inbox: _Inbox) -> None:
    sink = SmtpSink(
        "127.0.0.1", smtp_port, "bastion@example.org", ["sec@example.org"], starttls=False
    )
    _alert(db, ("smtp",))
    assert Dispatcher(db, [sink], PlainText()).deliver_due().sent == 1
    (raw,) = inbox.messages
    mail = message_from_bytes(raw)
    assert mail["Subject"] == "[bastion high] verify refused sha256:aa"
    assert "rule:     verify-failed" in mail.get_payload()


def test_smtp_down_keeps_the_alert_and_retries(db: Database) -> None:
    port, clock = _free_port(), Clock()
    sink = SmtpSink(
        "127.0.0.1", port, "bastion@example.org", ["sec@example.org"], starttls=False, timeout=2
    )
    dispatcher = Dispatcher(db, [sink], PlainText(), clock=clock)
    _alert(db, ("smtp",))
    assert dispatcher.deliver_due().failed == 1
    assert dispatcher.pending() == 1
    handler = _Inbox()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        clock.now += timedelta(seconds=30)
        assert dispatcher.deliver_due().sent == 1
    finally:
        controller.stop()
    assert len(handler.messages) == 1
    assert dispatcher.pending() == 0
