"""The server's background monitor (issue 16): ``$BASTION_HOME/monitor.yml`` names a local
webhook receiver and a local SMTP server; a burst of failed sign-ins against the server
becomes an alert that reaches both, masked with the server's vault. The SMTP server is down
at first: the e-mail is kept, retried, and delivered once it is up. A monitor file that does
not parse refuses the start with its file and line."""

from __future__ import annotations

import json
import socket
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from email import message_from_bytes
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Sink as SmtpSinkHandler
from aiosmtpd.smtp import SMTP as SmtpServer
from aiosmtpd.smtp import Envelope, Session
from sqlalchemy import select

from bastion.monitor import RuleFileError
from bastion.monitor.models import DeliveryRecord
from bastion.monitor.sinks import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign
from bastion.server import (
    ServerServices,
    ServerSettings,
    create_app,
    open_services,
    with_monitor,
)
from bastion.store import sqlite_url
from bastion.vault import Scope

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

SECRET = b"webhook-shared-secret-0123456789"
# A vault value that is also the name tried at the login form: it must never leave masked.
VAULT_VALUE = "zebra-Quartz-signing-4411"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


Received = list[tuple[dict[str, str], bytes]]


def _receiver(received: Received) -> type[BaseHTTPRequestHandler]:
    """A handler class that keeps every POST's headers and body and answers 204."""

    class Receiver(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append((dict(self.headers.items()), body))
            self.send_response(204)
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            return

    return Receiver


class _Inbox(SmtpSinkHandler):
    def __init__(self) -> None:
        self.messages: list[bytes] = []

    async def handle_DATA(self, server: SmtpServer, session: Session, envelope: Envelope) -> str:
        assert isinstance(envelope.content, bytes)
        self.messages.append(envelope.content)
        return "250 OK"


@pytest.fixture
def webhook() -> Iterator[tuple[str, Received]]:
    received: Received = []
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _receiver(received))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/hook", received
    httpd.shutdown()
    httpd.server_close()


def _wait(condition: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def _write_config(home: Path, hook: str, smtp_port: int) -> None:
    (home / "monitor.yml").write_text(
        f"""version: 1
interval_seconds: 0.1
retry: {{base_seconds: 0.3, max_attempts: 100}}
sinks:
  webhook: {{url: "{hook}", secret: "{SECRET.decode()}"}}
  smtp: {{host: 127.0.0.1, port: {smtp_port}, from: bastion@example.org,
         to: [security@example.org], starttls: false}}
""",
        encoding="utf-8",
    )


def _services(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, ServerServices]:
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("BASTION_HOME", str(home))
    return home, open_services(sqlite_url(tmp_path / "server.db"))


def _fail_logins(client: TestClient, name: str, times: int) -> None:
    for _ in range(times):
        page = client.get("/login")
        csrf = page.text.split('name="csrf_token" value="')[1].split('"')[0]
        response = client.post(
            "/login", data={"name": name, "password": "wrong", "csrf_token": csrf}
        )
        assert response.status_code in {401, 429}


def _smtp_attempted(services: ServerServices) -> bool:
    with services.db.session() as session:
        rows = session.scalars(select(DeliveryRecord).where(DeliveryRecord.sink == "smtp"))
        return any(row.attempts >= 1 and row.state == "pending" for row in rows)


def test_failed_login_burst_reaches_webhook_and_smtp_after_an_outage(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    webhook: tuple[str, Received],
) -> None:
    url, received = webhook
    smtp_port = _free_port()  # nothing listens there yet
    home, services = _services(tmp_path, monkeypatch)
    _write_config(home, url, smtp_port)
    assert services.resources.vault is not None
    services.resources.vault.set("SIGNING", VAULT_VALUE, Scope.build(trust=["trusted"]))
    services = with_monitor(services, home)
    app = create_app(ServerSettings("127.0.0.1", 8080, "unused"), services)
    inbox, controller = _Inbox(), None
    try:
        with TestClient(app, base_url="http://testserver") as client:
            _fail_logins(client, VAULT_VALUE, 5)
            _wait(lambda: bool(received))
            _wait(lambda: _smtp_attempted(services))  # refused: kept and retried
            controller = Controller(inbox, hostname="127.0.0.1", port=smtp_port)
            controller.start()
            _wait(lambda: bool(inbox.messages))
    finally:
        if controller is not None:
            controller.stop()
        services.db.dispose()
    headers, body = received[0]
    assert headers[SIGNATURE_HEADER] == sign(SECRET, headers[TIMESTAMP_HEADER], body)
    alert = json.loads(body)
    assert alert["rule"] == "failed-login-burst"
    mail = message_from_bytes(inbox.messages[0])
    assert "rule:     failed-login-burst" in str(mail.get_payload())
    for text in (body.decode(), inbox.messages[0].decode()):
        assert VAULT_VALUE not in text
    assert "***" in alert["title"]


def test_a_monitor_file_that_does_not_parse_refuses_the_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home, services = _services(tmp_path, monkeypatch)
    (home / "monitor.yml").write_text(
        "version: 1\nsinks:\n  smtp: {host: mail, port: nope, from: a@b, to: [c@d]}\n",
        encoding="utf-8",
    )
    try:
        with pytest.raises(RuleFileError) as caught:
            with_monitor(services, home)
    finally:
        services.db.dispose()
    assert caught.value.diagnostics().startswith(f"{home / 'monitor.yml'}:3: port must be")
