"""A database that goes away (issue 13): a request then is a 503 problem, never a trace, and
its effect is whole or absent; once the database is back the server answers again by itself.

On a PostgreSQL cluster of the test's own (:mod:`tests.server.private_postgres`), stopped with
``pg_ctl stop -m immediate`` before a request and in the middle of one's transaction.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import event

from bastion.server import Accounts, Permission, Role, ServerServices, ServerSettings, create_app
from bastion.server.context import ServerContext
from bastion.server.principal import TokenScope
from bastion.store import Database, open_database
from tests.server.conftest import Clock, ListSink
from tests.server.private_postgres import PrivatePostgres, private_postgres

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # as conftest: Starlette's nudge towards httpx2
    from starlette.testclient import TestClient

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@dataclass
class Outage:
    client: TestClient
    postgres: PrivatePostgres
    db: Database
    audit: ListSink
    bearer: dict[str, str]

    def user_names(self) -> list[str]:
        response = self.client.get("/api/users", headers=self.bearer)
        assert response.status_code == 200, response.text
        return [user["name"] for user in response.json()]


@pytest.fixture
def outage() -> Iterator[Outage]:
    """A server on a private PostgreSQL, an admin's API token, the cluster running."""
    with private_postgres() as postgres:
        db = open_database(postgres.url)
        clock, audit = Clock(), ListSink()
        settings = ServerSettings("127.0.0.1", 8080, postgres.url)
        app = create_app(settings, ServerServices(db, audit, clock))
        ctx: ServerContext = app.state.bastion
        admin, _setup = Accounts(db, settings, clock).add("root", Role.ADMIN)
        scope = TokenScope(frozenset({"*"}), frozenset(Permission))
        _info, token = ctx.tokens.create(admin.id, "ops", scope, 1)
        client = TestClient(app, base_url="http://testserver", raise_server_exceptions=False)
        try:
            yield Outage(client, postgres, db, audit, {"Authorization": f"Bearer {token}"})
        finally:
            client.close()
            db.dispose()


def _assert_unavailable(response: Any) -> None:
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["retry-after"] == "5"
    body = response.json()
    assert body["type"] == "urn:bastion:problem:unavailable"
    text = response.text.lower()
    for leak in ("traceback", "psycopg", "sqlalchemy", "operationalerror", "bastion-postgres"):
        assert leak not in text


def test_a_request_while_the_database_is_down_is_503_and_changes_nothing(outage: Outage) -> None:
    outage.postgres.stop()
    _assert_unavailable(
        outage.client.post("/api/users", json={"name": "carol"}, headers=outage.bearer)
    )
    _assert_unavailable(outage.client.get("/api/runs", headers=outage.bearer))
    outage.postgres.start()
    # No restart of the server: stale pooled connections are tested and replaced.
    assert "carol" not in outage.user_names()
    again = outage.client.post("/api/users", json={"name": "carol"}, headers=outage.bearer)
    assert again.status_code == 201, again.text
    assert "carol" in outage.user_names()


def test_the_database_going_away_mid_transaction_leaves_nothing_half_done(
    outage: Outage,
) -> None:
    """Adding a user with a role is two rows; the database dies between them."""
    armed = True

    def stop_before_the_grant(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        nonlocal armed
        if armed and statement.lstrip().upper().startswith("INSERT INTO SERVER_GRANTS"):
            armed = False
            outage.postgres.stop()

    event.listen(outage.db.engine, "before_cursor_execute", stop_before_the_grant)
    try:
        body = {"name": "dave", "role": "developer"}
        _assert_unavailable(outage.client.post("/api/users", json=body, headers=outage.bearer))
    finally:
        event.remove(outage.db.engine, "before_cursor_execute", stop_before_the_grant)
    assert not armed  # the database really went away mid-request
    assert "user.created" not in outage.audit.actions()
    outage.postgres.start()
    assert "dave" not in outage.user_names()  # not a user without their role: absent
    again = outage.client.post("/api/users", json=body, headers=outage.bearer)
    assert again.status_code == 201, again.text
    users = outage.client.get("/api/users", headers=outage.bearer).json()
    dave = next(u for u in users if u["name"] == "dave")
    assert [g["role"] for g in dave["grants"]] == ["developer"]
