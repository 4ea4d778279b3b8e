"""An in-process server over a fresh SQLite database, a fake audit sink and a movable clock."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyotp
import pytest
from playwright.sync_api import BrowserContext, Page

from bastion.audit import AuditEvent
from bastion.server import (
    Accounts,
    Role,
    ServerServices,
    ServerSettings,
    create_app,
)
from bastion.store import Database, open_database, sqlite_url
from tests.server.browser import LiveServer, chromium, live_server

with warnings.catch_warnings():
    # Starlette 1.x nudges towards httpx2 for its TestClient; httpx 0.x works the same here.
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

PASSWORD = "violet-Orbit-kettle-93"


class ListSink:
    """The AuditSink interface, keeping events in memory."""

    def __init__(self) -> None:
        self.events: list[AuditEvent] = []
        self.closed = False

    def record(self, event: AuditEvent) -> None:
        self.events.append(event)

    def close(self) -> None:
        self.closed = True

    def actions(self) -> list[str]:
        return [e.action for e in self.events]


@dataclass
class Clock:
    """A clock the test moves by hand."""

    now: datetime = field(default_factory=lambda: datetime(2030, 1, 1, 12, tzinfo=UTC))

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@dataclass
class Server:
    client: TestClient
    db: Database
    audit: ListSink
    clock: Clock
    accounts: Accounts
    settings: ServerSettings

    def add_user(self, name: str, role: Role | None = Role.ADMIN) -> None:
        _user, token = self.accounts.add(name, role)
        self.accounts.complete_setup(token, PASSWORD)

    def login(self, name: str, password: str = PASSWORD) -> None:
        self.client.cookies.clear()
        page = self.client.get("/login")
        token = page.text.split('name="csrf_token" value="')[1].split('"')[0]
        response = self.client.post(
            "/login",
            data={"name": name, "password": password, "csrf_token": token},
            follow_redirects=False,
        )
        assert response.status_code == 303, response.text

    def csrf(self) -> str:
        page: str = self.client.get("/").text
        return page.split('name="csrf_token" value="')[1].split('"', maxsplit=1)[0]

    def enrol_totp(self) -> pyotp.TOTP:
        page = self.client.get("/mfa/enrol")
        secret = page.text.split("<code>")[1].split("</code>")[0]
        totp = pyotp.TOTP(secret)
        csrf = page.text.split('name="csrf_token" value="')[1].split('"')[0]
        response = self.client.post(
            "/mfa/enrol", data={"code": totp.at(self.clock.now), "csrf_token": csrf}
        )
        assert response.status_code == 200, response.text
        self.recovery_codes = [
            line.split("<code>")[1].split("</code>")[0] for line in response.text.split("<li>")[1:]
        ]
        self.clock.advance(seconds=30)  # the enrolment code's step is spent
        return totp


def make_server(tmp_path: Path, **overrides: object) -> Server:
    db = open_database(sqlite_url(tmp_path / "server.db"))
    clock = Clock()
    audit = ListSink()
    settings = ServerSettings("127.0.0.1", 8080, "unused", **overrides)  # type: ignore[arg-type]
    app = create_app(settings, ServerServices(db, audit, clock))
    client = TestClient(app, base_url="http://testserver")
    return Server(client, db, audit, clock, Accounts(db, settings, clock), settings)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    made = make_server(tmp_path)
    try:
        yield made
    finally:
        made.client.close()
        made.db.dispose()


@pytest.fixture(scope="session")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """One ``bastion serve`` subprocess for the session's browser tests."""
    with live_server(tmp_path_factory.mktemp("served")) as running:
        yield running


@pytest.fixture(scope="module")
def chromium_context(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrowserContext]:
    """One headless Chromium (fresh profile) per browser test module; fails if it is missing.

    Not per session: while Playwright's sync API is open its event loop counts as running in
    this thread, and every later asyncio.run in the same worker would fail.
    """
    with chromium(tmp_path_factory.mktemp("chromium-profile")) as context:
        yield context


@pytest.fixture
def page(chromium_context: BrowserContext) -> Iterator[Page]:
    """A new tab with no cookies left from an earlier test."""
    chromium_context.clear_cookies()
    tab = chromium_context.new_page()
    try:
        yield tab
    finally:
        tab.close()
