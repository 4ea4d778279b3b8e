"""``bastion webhooks set|show|rm --server URL`` (issue 14) against a real ``bastion serve``:
the secret comes from stdin or ``--generate`` (printed once, to stdout), never from an
argument, and appears in no answer, no server log line and no audit event."""

from __future__ import annotations

import json
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from bastion.server import Accounts, Grant, Permission, Role, ScopeKind, ServerSettings
from bastion.server.clock import system_clock
from bastion.server.principal import TokenScope
from bastion.server.repositories import Repositories
from bastion.server.tokens import ApiTokens
from bastion.server.webhook_signatures import Forge
from bastion.server.webhook_store import Webhooks
from bastion.store import Database, open_database
from tests.server.browser import LiveServer, live_server
from tests.support import run_bastion

SECRET = "Pw4-cli-webhook-secret-8d2a"
URL = "https://10.20.0.4/team/app.git"  # private: a maintainer may set it without DNS


class Seeded:
    """``app`` registered on the server; a maintainer and a developer of it, with tokens."""

    def __init__(self, server: LiveServer, root: Path) -> None:
        self.server = server
        self.db: Database = open_database(server.database_url)
        settings = ServerSettings("127.0.0.1", 8080, server.database_url)
        subprocess.run(["git", "init", "-q", "-b", "main", str(root / "app")], check=True)
        Repositories(self.db, system_clock).register("app", str(root / "app"), added_by="t")
        accounts = Accounts(self.db, settings, system_clock)
        tokens = ApiTokens(self.db, settings, system_clock)
        scope = TokenScope(frozenset({"*"}), frozenset(Permission))
        self.tokens: dict[str, str] = {}
        for name, role in (("maint", Role.MAINTAINER), ("dev", Role.DEVELOPER)):
            user, _setup = accounts.add(name, None)
            accounts.grant(name, Grant(role, ScopeKind.REPOSITORY, "app"))
            self.tokens[name] = tokens.create(user.id, "cli", scope, 1)[1]

    def cli(self, who: str, *args: str, stdin: str | None = "") -> tuple[int, str, str]:
        env = dict(self.server.env, BASTION_TOKEN=self.tokens[who])
        done = run_bastion(
            "webhooks", *args, "--server", self.server.base_url, env=env, stdin=stdin
        )
        return done.returncode, done.stdout, done.stderr

    def webhooks(self) -> Webhooks:
        """The server's webhooks, opened with its key (sealed in the database)."""
        return self.server.webhooks(self.db)

    def audit_text(self) -> str:
        path = self.server.database_url.removeprefix("sqlite:///")
        with sqlite3.connect(path) as connection:
            rows = connection.execute("SELECT * FROM audit_events").fetchall()
        return "\n".join(repr(row) for row in rows)


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Seeded]:
    root = tmp_path_factory.mktemp("webhooks")
    with live_server(root) as server:
        made = Seeded(server, root)
        try:
            yield made
        finally:
            made.db.dispose()


SET = ("set", "app", "--forge", "github", "--clone-url", URL)


@pytest.mark.integration
def test_set_from_stdin_show_and_remove(seeded: Seeded) -> None:
    code, out, err = seeded.cli("maint", *SET, stdin=SECRET + "\n")
    assert code == 0, err
    assert "secret set" in out
    assert seeded.webhooks().get("app", Forge.GITHUB).secret.secret == SECRET
    code, out, err = seeded.cli("maint", "show", "app", "--json")
    assert code == 0, err
    shown = {"repo": "app", "forge": "github", "clone_url": URL, "secret_set": True}
    found = json.loads(out)
    assert found == shown | {"signed": False, "created_at": found["created_at"], "rotated_at": None}
    assert found["created_at"] is not None
    code, _out, err = seeded.cli("maint", "rm", "app")
    assert (code, err.strip()) == (0, "webhook of app removed")
    code, _out, err = seeded.cli("maint", "show", "app")
    assert code == 2
    assert "404: repository app has no webhook" in err
    everything = seeded.audit_text() + seeded.server.stderr()
    assert "webhook.configured" in everything
    assert "webhook.removed" in everything
    assert SECRET not in everything


@pytest.mark.integration
def test_generate_prints_the_new_secret_once_to_stdout(seeded: Seeded) -> None:
    code, out, err = seeded.cli("maint", *SET, "--generate", stdin=None)
    assert code == 0, err
    secret = out.strip()
    assert out == secret + "\n"  # the secret alone: pipeable
    assert len(secret) == 43
    assert secret not in err
    assert seeded.webhooks().get("app", Forge.GITHUB).secret.secret == secret
    code, out, err = seeded.cli("maint", "show", "app")
    assert code == 0, err
    assert secret not in out
    assert "secret rotated " in out
    assert secret not in seeded.audit_text() + seeded.server.stderr()


@pytest.mark.integration
def test_the_secret_is_never_an_argument(seeded: Seeded) -> None:
    code, _out, err = seeded.cli("maint", *SET, "--secret", SECRET)
    assert code == 2
    assert "No such option" in err
    code, _out, err = seeded.cli("maint", *SET, stdin="")
    assert code == 2
    assert "no webhook secret on stdin" in err


@pytest.mark.integration
@pytest.mark.parametrize(
    ("who", "args", "said"),
    [
        ("dev", SET, "403: not allowed"),
        ("maint", ("set", "app", "--forge", "github", "--clone-url", "ext::sh -c id"), "400"),
        ("maint", ("set", "app", "--forge", "github", "--clone-url", "file:///etc"), "403"),
        ("maint", ("set", "nope", "--forge", "github", "--clone-url", URL), "404"),
        ("maint", ("set", "app", "--forge", "bitbucket", "--clone-url", URL), "--forge"),
    ],
)
def test_refusals_exit_2_with_the_servers_reason(
    seeded: Seeded, who: str, args: tuple[str, ...], said: str
) -> None:
    code, out, err = seeded.cli(who, *args, stdin=SECRET + "\n")
    assert code == 2, err
    assert said in err
    assert SECRET not in out + err


@pytest.mark.integration
def test_a_weak_secret_exits_2_with_the_rule(seeded: Seeded) -> None:
    code, out, err = seeded.cli("maint", *SET, stdin="hunter2\n")
    assert code == 2
    assert "weak webhook secret" in err
    assert "--generate" in err
    assert "hunter2" not in out + err


@pytest.mark.integration
def test_gitlab_signed_reads_the_signing_key_from_the_next_line(seeded: Seeded) -> None:
    key = "whsec_" + "c2lnbmluZy1rZXktb2YtZ2l0bGFiLTMyLWJ5dGVzISE="
    args = ("set", "app", "--forge", "gitlab", "--clone-url", URL, "--signed")
    code, out, err = seeded.cli("maint", *args, stdin=f"{SECRET}\n{key}\n")
    assert code == 0, err
    assert "secret set, signed webhooks required" in out
    stored = seeded.webhooks().get("app", Forge.GITLAB).secret
    assert (stored.secret, stored.signing_key) == (SECRET, key)
    code, _out, err = seeded.cli("maint", *args, stdin=f"{SECRET}\n")
    assert code == 2
    assert "no GitLab signing token on stdin" in err
    assert key not in seeded.audit_text() + seeded.server.stderr()
