"""Webhook secrets sealed at rest: the database holds only ciphertext bound to its row, under
a key in ``$BASTION_HOME/keys``; a row that does not open refuses that repository only."""

from __future__ import annotations

import base64
import logging
import os
import socket
import stat
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import text

from bastion.home import bastion_home
from bastion.server.webhook_seal import (
    SEALED_PREFIX,
    SealedField,
    WebhookKeyError,
    WebhookSeal,
    WebhookSecretUnusableError,
    webhook_key_path,
)
from bastion.server.webhook_signatures import Forge
from bastion.server.webhook_store import Webhooks, open_webhook_seal, seal_plain_secrets
from bastion.store import Database, open_database, sqlite_url
from tests.server.test_webhooks import SECRET, Forged, git, make_forged
from tests.server.webhook_payloads import body_of, github_push, hub_signature

OTHER_SECRET = "Qm7-the-other-repository-4d1"
GITLAB_KEY = "whsec_" + base64.b64encode(b"gitlab-signing-key-bytes-0123456").decode()
URL = "https://forge.example/other.git"


@pytest.fixture
def forged(tmp_path: Path) -> Iterator[Forged]:
    """The webhook test server with ``app`` (GitHub, :data:`SECRET`) and ``other`` (GitHub)
    and ``lab`` (GitLab with a signing key) configured."""
    made = make_forged(tmp_path)
    hooks = Webhooks(made.server.db)
    hooks.configure("other", Forge.GITHUB, OTHER_SECRET, URL)
    hooks.configure("lab", Forge.GITLAB, OTHER_SECRET, URL, signing_key=GITLAB_KEY)
    try:
        yield made
    finally:
        made.server.client.close()
        made.server.db.dispose()


def raw_row(db: Database, repo: str) -> tuple[str, str | None]:
    """What the database itself holds as ``repo``'s secret and signing key."""
    with db.engine.connect() as conn:
        row = conn.execute(
            text("SELECT secret, signing_key FROM server_webhooks WHERE repo = :repo"),
            {"repo": repo},
        ).one()
        return str(row[0]), row[1]


def write_raw(db: Database, repo: str, column: str, value: str | None) -> None:
    """Write ``value`` straight into the table, as someone with database access could."""
    assert column in ("secret", "signing_key", "forge")
    statement = f"UPDATE server_webhooks SET {column} = :value WHERE repo = :repo"  # noqa: S608
    with db.engine.begin() as conn:
        conn.execute(text(statement), {"value": value, "repo": repo})


def push(forged: Forged) -> int:
    head = git(forged.work, "rev-parse", "HEAD")
    return int(forged.github("push", github_push("refs/heads/main", head)).status_code)


def test_the_database_holds_only_ciphertext(forged: Forged, tmp_path: Path) -> None:
    db = forged.server.db
    for repo in ("app", "other", "lab"):
        secret, key = raw_row(db, repo)
        assert secret.startswith(SEALED_PREFIX)
        assert key is None if repo != "lab" else key is not None and key.startswith("v1:")
    db.dispose()  # everything written out: the file, its WAL and shared memory
    stored = b"".join(p.read_bytes() for p in sorted(tmp_path.glob("server.db*")))
    for plain in (SECRET, OTHER_SECRET, GITLAB_KEY):
        assert plain.encode() not in stored
    assert webhook_key_path(bastion_home()).read_bytes() not in stored


def test_a_signed_delivery_verifies_through_the_sealed_store(forged: Forged) -> None:
    assert push(forged) == 202
    head = git(forged.work, "rev-parse", "HEAD")
    wrong = forged.github("push", github_push("refs/heads/main", head), secret=OTHER_SECRET)
    assert wrong.status_code == 401
    lab = Webhooks(forged.server.db).get("lab", Forge.GITLAB).secret
    assert (lab.secret, lab.signing_key) == (OTHER_SECRET, GITLAB_KEY)


def test_a_ciphertext_moved_to_another_repository_does_not_open(forged: Forged) -> None:
    db = forged.server.db
    write_raw(db, "other", "secret", raw_row(db, "app")[0])  # app's secret, other's row
    with pytest.raises(WebhookSecretUnusableError, match="repository other does not open"):
        Webhooks(db).get("other", Forge.GITHUB)
    body = body_of(github_push("refs/heads/main", "0" * 40))
    headers = {
        "X-GitHub-Event": "push",
        "X-GitHub-Delivery": str(uuid.uuid4()),
        "X-Hub-Signature-256": hub_signature(SECRET, body),  # app's secret signs it
    }
    refused = forged.post("github", headers, body, repo="other")
    assert refused.status_code == 503
    assert "set it again (bastion webhooks set other)" in refused.json()["detail"]
    assert SECRET not in refused.text
    assert push(forged) == 202  # app itself keeps working


def test_a_ciphertext_moved_to_another_column_or_forge_does_not_open(forged: Forged) -> None:
    db = forged.server.db
    secret, key = raw_row(db, "lab")
    write_raw(db, "lab", "signing_key", secret)
    with pytest.raises(WebhookSecretUnusableError):
        Webhooks(db).get("lab", Forge.GITLAB)
    write_raw(db, "lab", "signing_key", key)
    assert Webhooks(db).get("lab", Forge.GITLAB).secret.signing_key == GITLAB_KEY
    write_raw(db, "app", "forge", "gitea")
    with pytest.raises(WebhookSecretUnusableError):
        Webhooks(db).get("app", Forge.GITEA)


def test_a_tampered_ciphertext_fails_closed_and_says_why(
    forged: Forged, caplog: pytest.LogCaptureFixture
) -> None:
    db = forged.server.db
    raw = bytearray(base64.b64decode(raw_row(db, "app")[0].removeprefix(SEALED_PREFIX)))
    raw[-1] ^= 0x01
    write_raw(db, "app", "secret", SEALED_PREFIX + base64.b64encode(bytes(raw)).decode())
    with caplog.at_level(logging.WARNING, logger="bastion.server"):
        assert push(forged) == 503
    assert "webhook of app refused" in caplog.text
    assert "does not open" in caplog.text
    assert forged.launcher.requests == []
    report = seal_plain_secrets(db, bastion_home())
    assert (report.sealed, report.unusable) == ([], ["app"])
    assert Webhooks(db).get("other", Forge.GITHUB).secret.secret == OTHER_SECRET
    write_raw(db, "app", "secret", "not-sealed-at-all-0123456789")  # plain text, no mark
    with pytest.raises(WebhookSecretUnusableError, match="no form this server wrote"):
        Webhooks(db).get("app", Forge.GITHUB)


@given(position=st.integers(min_value=0), bit=st.integers(min_value=0, max_value=7))
def test_any_changed_bit_of_a_sealed_secret_fails_to_open(position: int, bit: int) -> None:
    seal = WebhookSeal(bytes(range(32)), origin="a test key")
    stored = seal.seal(SECRET, SealedField.SECRET, "app", Forge.GITHUB)
    raw = bytearray(base64.b64decode(stored.removeprefix(SEALED_PREFIX)))
    raw[position % len(raw)] ^= 1 << bit
    changed = SEALED_PREFIX + base64.b64encode(bytes(raw)).decode()
    with pytest.raises(WebhookSecretUnusableError):
        seal.open(changed, SealedField.SECRET, "app", Forge.GITHUB)
    assert seal.open(stored, SealedField.SECRET, "app", Forge.GITHUB) == SECRET


def test_each_seal_takes_a_fresh_nonce_and_another_key_does_not_open_it() -> None:
    seal = WebhookSeal(bytes(range(32)), origin="a test key")
    first, second = (seal.seal(SECRET, SealedField.SECRET, "app", Forge.GITHUB) for _ in "ab")
    assert first != second
    other = WebhookSeal(bytes(32), origin="another key")
    with pytest.raises(WebhookSecretUnusableError, match="sealed under another key"):
        other.open(first, SealedField.SECRET, "app", Forge.GITHUB)


def test_plain_text_rows_are_sealed_at_start(forged: Forged, tmp_path: Path) -> None:
    db = forged.server.db
    write_raw(db, "app", "secret", "v0:" + SECRET)  # as revision 0014 marks plain text
    write_raw(db, "lab", "signing_key", "v0:" + GITLAB_KEY)
    with pytest.raises(WebhookSecretUnusableError, match="restart bastion serve to seal it"):
        Webhooks(db).get("app", Forge.GITHUB)
    report = seal_plain_secrets(db, bastion_home())
    assert (report.sealed, report.unusable) == (["app", "lab"], [])
    assert raw_row(db, "app")[0].startswith(SEALED_PREFIX)
    assert str(raw_row(db, "lab")[1]).startswith(SEALED_PREFIX)
    assert push(forged) == 202
    assert Webhooks(db).get("lab", Forge.GITLAB).secret.signing_key == GITLAB_KEY
    assert seal_plain_secrets(db, bastion_home()).sealed == []
    db.dispose()
    stored = b"".join(p.read_bytes() for p in sorted(tmp_path.glob("server.db*")))
    assert SECRET.encode() not in stored
    assert GITLAB_KEY.encode() not in stored


def test_a_missing_key_with_sealed_secrets_is_never_made_again(
    forged: Forged, caplog: pytest.LogCaptureFixture
) -> None:
    path = webhook_key_path(bastion_home())
    path.unlink()
    with pytest.raises(WebhookKeyError) as caught:
        seal_plain_secrets(forged.server.db, bastion_home())  # at bastion serve's start
    assert str(path) in caught.value.message
    assert "3 webhook(s)" in caught.value.message
    assert "restore" in str(caught.value.hint)
    head = git(forged.work, "rev-parse", "HEAD")
    with caplog.at_level(logging.ERROR, logger="bastion.server"):
        refused = forged.github("push", github_push("refs/heads/main", head))
    assert refused.status_code == 503
    assert "webhook key is missing or unusable" in refused.json()["detail"]
    assert str(path) not in refused.text  # the log names the file, not the forge's answer
    assert f"{path}: no webhook secrets' key" in caplog.text
    assert not path.exists()


def test_bastion_serve_refuses_to_start_without_the_key(forged: Forged, tmp_path: Path) -> None:
    webhook_key_path(bastion_home()).unlink()
    forged.server.db.dispose()
    bastion = Path(sys.executable).with_name("bastion")
    url = f"sqlite:///{tmp_path / 'server.db'}"
    with socket.socket() as probe:  # a free port, should the check let it serve
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    done = subprocess.run(
        [str(bastion), "serve", "--db", url, "--bind", f"127.0.0.1:{port}"],
        env=dict(os.environ),
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert done.returncode == 3, done.stderr
    assert "Traceback" not in done.stderr
    assert f"{webhook_key_path(bastion_home())}: no webhook secrets' key" in done.stderr
    assert "fix: restore" in done.stderr


def test_a_new_key_is_private_and_unsafe_key_files_are_refused(tmp_path: Path) -> None:
    home, db = tmp_path / "home", open_database(sqlite_url(tmp_path / "empty.db"))
    path = webhook_key_path(home)
    try:
        open_webhook_seal(db, home)  # nothing sealed yet: made on first use
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
        path.chmod(0o640)
        with pytest.raises(WebhookKeyError, match="readable or writable by group or others"):
            open_webhook_seal(db, home)
        path.chmod(0o600)
        moved = path.with_name("elsewhere")
        path.rename(moved)
        path.symlink_to(moved)
        with pytest.raises(WebhookKeyError, match="cannot open the webhook key"):
            open_webhook_seal(db, home)
        path.unlink()
        moved.write_bytes(b"short")
        moved.rename(path)
        with pytest.raises(WebhookKeyError, match="is 5 bytes, not 32"):
            open_webhook_seal(db, home)
    finally:
        db.dispose()
