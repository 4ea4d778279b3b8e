"""What keeps a request cheap (issue 13): a token's last use written at most once a minute,
permission decisions cached on the principal, the run page in one session, and the live-log
viewer limits taken from the settings."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import event

from bastion.errors import UsageError
from bastion.server import Permission, Role, ServerSettings
from bastion.server.principal import Principal, TokenScope, Via
from bastion.server.settings import parse_log_viewers
from bastion.server.tokens import ApiTokens
from bastion.store import RunRecord
from tests.server.conftest import Server, make_server


def _token(server: Server) -> tuple[ApiTokens, str]:
    server.add_user("alice", Role.ADMIN)
    tokens = ApiTokens(server.db, server.settings, server.clock)
    user = server.accounts.by_name("alice")
    scope = TokenScope(frozenset({"*"}), frozenset(Permission))
    _info, value = tokens.create(user.id, "ci", scope, 1)
    return tokens, value


def test_last_use_is_written_at_most_once_a_minute(server: Server) -> None:
    tokens, value = _token(server)
    first = tokens.authenticate(value)
    assert first is not None
    assert first.last_used_at == server.clock.now
    written = server.clock.now
    server.clock.advance(seconds=59)
    again = tokens.authenticate(value)
    assert again is not None
    assert again.last_used_at == written
    server.clock.advance(seconds=1)
    later = tokens.authenticate(value)
    assert later is not None
    assert later.last_used_at == server.clock.now


def test_a_token_request_reads_token_and_holder_in_one_session(server: Server) -> None:
    tokens, value = _token(server)
    begun: list[object] = []

    def began(connection: object) -> None:
        begun.append(connection)

    event.listen(server.db.engine, "begin", began)
    try:
        found = tokens.authenticate_holder(value)
    finally:
        event.remove(server.db.engine, "begin", began)
    assert found is not None
    assert found[1].name == "alice"
    assert len(begun) == 1


def test_a_disabled_holder_authenticates_nothing(server: Server) -> None:
    tokens, value = _token(server)
    server.accounts.disable("alice")
    assert tokens.authenticate_holder(value) is None


def test_the_run_page_opens_one_session_after_authentication(server: Server) -> None:
    _tokens, value = _token(server)
    with server.db.session() as session:
        run = RunRecord(repo="app", event="push", trust="trusted", pipeline_path="p",
                        pipeline_digest="sha256:0", status="passed")  # fmt: skip
        session.add(run)
        session.flush()
        run_id = run.id
    begun: list[object] = []

    def began(connection: object) -> None:
        begun.append(connection)

    event.listen(server.db.engine, "begin", began)
    try:
        page = server.client.get(
            f"/api/runs/{run_id}", headers={"Authorization": f"Bearer {value}"}
        )
    finally:
        event.remove(server.db.engine, "begin", began)
    assert page.status_code == 200, page.text
    assert len(begun) == 2  # the token and its holder; the run, its jobs and findings


def test_permission_decisions_are_made_once_per_principal() -> None:
    principal = Principal(1, "alice", Via.TOKEN, token_scope=TokenScope(frozenset(), frozenset()))
    assert not principal.may(Permission.RUNS_READ, "app")
    object.__setattr__(principal, "token_scope", None)  # the decision stands for its life
    assert not principal.may(Permission.RUNS_READ, "app")
    assert principal == Principal(1, "alice", Via.TOKEN)  # the cache is not compared


def test_log_viewer_limits_come_from_the_settings(tmp_path: Path) -> None:
    made = make_server(tmp_path, log_viewers_per_caller=2, log_viewers_total=3)
    try:
        slots = made.client.app.state.log_viewers.slots  # type: ignore[attr-defined]
        with slots.hold("a"), slots.hold("a"):
            with pytest.raises(Exception, match="too many live logs"), slots.hold("a"):
                pass
            with slots.hold("b"), pytest.raises(Exception, match="too many"), slots.hold("c"):
                pass
    finally:
        made.client.close()
        made.db.dispose()


def test_log_viewer_limits_are_parsed_and_checked() -> None:
    assert parse_log_viewers("4/64") == (4, 64)
    for bad in ("4", "a/b", "4/-1", "/64"):
        with pytest.raises(UsageError):
            parse_log_viewers(bad)
    settings = ServerSettings.from_options(
        bind="127.0.0.1:8080", db="sqlite://", log_viewers="8/100"
    )
    assert (settings.log_viewers_per_caller, settings.log_viewers_total) == (8, 100)
    default = ServerSettings("127.0.0.1", 8080, "sqlite://")
    assert (default.log_viewers_per_caller, default.log_viewers_total) == (4, 64)
    with pytest.raises(UsageError):
        ServerSettings(
            "127.0.0.1", 8080, "sqlite://", log_viewers_per_caller=5, log_viewers_total=4
        )
