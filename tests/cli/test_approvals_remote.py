"""``bastion approvals list|show|approve|reject --server URL`` (issue 14) against a real
``bastion serve``: a request waiting there, votes with TOTP codes from ``--code`` and from
the prompt, the triggerer refused with the server's reason (exit 2)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pyotp
import pytest

from bastion.engine import ApprovalRequest
from bastion.server import Accounts, Permission, Role, ServerSettings
from bastion.server.approvals import Approvals
from bastion.server.clock import system_clock
from bastion.server.environments import EnvironmentSettings
from bastion.server.principal import TokenScope
from bastion.server.tokens import ApiTokens
from bastion.server.totp import Totp
from bastion.store import Database, open_database
from bastion.trust import RunContext, Trust
from tests.server.browser import LiveServer, live_server
from tests.server.conftest import ListSink
from tests.support import run_bastion


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with live_server(tmp_path_factory.mktemp("serve")) as server:
        yield server


class Seeded:
    """Accounts with TOTP and tokens, and a pending request triggered by ``trig``."""

    def __init__(self, server: LiveServer) -> None:
        self.server = server
        self.db: Database = open_database(server.database_url)
        self.settings = ServerSettings("127.0.0.1", 8080, server.database_url)
        self.totps: dict[str, pyotp.TOTP] = {}
        self.tokens: dict[str, str] = {}
        approvals = Approvals(self.db, system_clock, Totp(self.db, system_clock), ListSink())
        production = EnvironmentSettings("production", required_approvals=2)
        approvals.environments.put(production)
        context = RunContext("app", "2" * 40, "refs/heads/main", "push", Trust.TRUSTED)
        request = ApprovalRequest(1, "deploy", "production", context)
        self.request_id = approvals.open(request, production, "trig", {"people": []})

    def person(self, name: str) -> None:
        """A maintainer whose TOTP was confirmed with the previous step's code."""
        user, _setup = Accounts(self.db, self.settings, system_clock).add(name, Role.MAINTAINER)
        totp = Totp(self.db, system_clock)
        secret = pyotp.TOTP(totp.begin(user.id).secret)
        totp.confirm(user.id, secret.at(datetime.now(UTC) - timedelta(seconds=30)))
        scope = TokenScope(frozenset({"*"}), frozenset(Permission))
        tokens = ApiTokens(self.db, self.settings, system_clock)
        self.tokens[name] = tokens.create(user.id, "cli", scope, 1)[1]
        self.totps[name] = secret

    def cli(self, name: str, *args: str, stdin: str | None = None) -> tuple[int, str, str]:
        env = dict(self.server.env, BASTION_TOKEN=self.tokens[name])
        done = run_bastion(
            "approvals", *args, "--server", self.server.base_url, env=env, stdin=stdin
        )
        return done.returncode, done.stdout, done.stderr


@pytest.mark.integration
def test_list_show_approve_and_the_triggerer_refused(running: LiveServer) -> None:
    seeded = Seeded(running)
    try:
        for name in ("trig", "alice", "bob"):
            seeded.person(name)
        rid = str(seeded.request_id)
        code, out, err = seeded.cli("alice", "list", "--json")
        assert code == 0, err
        assert [r["id"] for r in json.loads(out)] == [seeded.request_id]
        trig_code = seeded.totps["trig"].now()
        code, _out, err = seeded.cli("trig", "approve", rid, "--code", trig_code)
        assert code == 2
        assert "you triggered this run" in err
        code, out, err = seeded.cli("alice", "approve", rid, "--code", seeded.totps["alice"].now())
        assert (code, "pending" in err) == (0, True), err
        prompt = seeded.totps["bob"].now() + "\n"
        code, out, err = seeded.cli("bob", "approve", rid, "--json", stdin=prompt)
        assert code == 0, err
        assert json.loads(out)["state"] == "approved"
        code, out, err = seeded.cli("alice", "show", rid)
        assert code == 0, err
        assert "votes: alice approve, bob approve" in out
        code, _out, err = seeded.cli("alice", "reject", rid, "--code", "12345")
        assert (code, "six digits" in err) == (2, True)
    finally:
        seeded.db.dispose()
