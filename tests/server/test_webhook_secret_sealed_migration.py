"""Revision 0014_webhook_secret_sealed: plain-text webhook secrets of a 0013 database are marked,
sealed at the server's start (deliveries still verify) and gone from the database; the
columns hold a sealed 256-character secret; a downgrade gives back what was still plain."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, create_engine, inspect, text

import bastion.server.models  # noqa: F401 - registers the server's tables on Base.metadata
from bastion.home import bastion_home
from bastion.server.webhook_signatures import Forge
from bastion.server.webhook_store import Webhooks, seal_plain_secrets
from bastion.store import Base, open_database
from tests.server.test_migrations import _downgrade, database_at

BEFORE = "0013_record_batches"
SECRET = "Hx3-old-webhook-secret-71c9e"
LONG = "".join(chr(33 + i % 94) for i in range(256))  # the longest secret allowed
GITLAB_KEY = "whsec_" + "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo="


def _ours(obj: object, name: str | None, type_: str, *_rest: object) -> bool:
    table = name if type_ == "table" else getattr(getattr(obj, "table", None), "name", None)
    return table == "server_webhooks"


def _rows(engine: Engine) -> dict[str, tuple[str, str | None]]:
    with engine.connect() as conn:
        found = conn.execute(text("SELECT repo, secret, signing_key FROM server_webhooks"))
        return {row[0]: (row[1], row[2]) for row in found}


def _database_at_0013(tmp_path: Path) -> str:
    with database_at(tmp_path, BEFORE) as (url, engine):
        insert = text(
            "INSERT INTO server_webhooks (repo, forge, secret, signing_key, clone_url) "
            "VALUES (:repo, :forge, :secret, :key, 'https://forge.example/app.git')"
        )
        with engine.begin() as conn:
            conn.execute(insert, {"repo": "app", "forge": "github", "secret": LONG, "key": None})
            conn.execute(
                insert, {"repo": "lab", "forge": "gitlab", "secret": SECRET, "key": GITLAB_KEY}
            )
    return url


def test_plain_text_secrets_upgrade_marked_then_sealed_at_start(tmp_path: Path) -> None:
    db = open_database(_database_at_0013(tmp_path))
    try:
        with db.engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"include_object": _ours})
            assert list(compare_metadata(context, Base.metadata)) == []
        columns = inspect(db.engine).get_columns("server_webhooks")
        widths = {c["name"]: getattr(c["type"], "length", None) for c in columns}
        assert (widths["secret"], widths["signing_key"]) == (512, 512)
        assert _rows(db.engine) == {
            "app": ("v0:" + LONG, None),
            "lab": ("v0:" + SECRET, "v0:" + GITLAB_KEY),
        }
        assert seal_plain_secrets(db, bastion_home()).sealed == ["app", "lab"]
        sealed = _rows(db.engine)
        assert all(v.startswith("v1:") for v in (*sealed["lab"], sealed["app"][0]) if v)
        assert len(sealed["app"][0]) <= 512
        assert Webhooks(db).get("app", Forge.GITHUB).secret.secret == LONG
        lab = Webhooks(db).get("lab", Forge.GITLAB).secret
        assert (lab.secret, lab.signing_key) == (SECRET, GITLAB_KEY)
    finally:
        db.dispose()
    stored = b"".join(p.read_bytes() for p in sorted(tmp_path.glob("server.db*")))
    for plain in (SECRET, LONG, GITLAB_KEY):
        assert plain.encode() not in stored


def test_a_downgrade_gives_back_what_is_still_plain_text(tmp_path: Path) -> None:
    url = _database_at_0013(tmp_path)
    open_database(url).dispose()  # upgraded: marked, not sealed (no server started)
    engine = create_engine(url)
    try:
        _downgrade(engine, BEFORE)
        assert _rows(engine) == {"app": (LONG, None), "lab": (SECRET, GITLAB_KEY)}
    finally:
        engine.dispose()
