"""Revision 0012_webhook_times (issue 14): a webhook made before keeps its forge, secret and
clone URL (deliveries still verify) and shows no times; the table matches the model."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text

import bastion.server.models  # noqa: F401 - registers the server's tables on Base.metadata
from bastion.home import bastion_home
from bastion.server.webhook_config import WebhookSettings
from bastion.server.webhook_signatures import Forge
from bastion.server.webhook_store import Webhooks, seal_plain_secrets
from bastion.store import Base, open_database
from tests.server.test_migrations import database_at

BEFORE = "0011_deploy_windows"
SECRET = "Hx3-old-webhook-secret-71c9e"


def _ours(obj: object, name: str | None, type_: str, *_rest: object) -> bool:
    table = name if type_ == "table" else getattr(getattr(obj, "table", None), "name", None)
    return table == "server_webhooks"


def test_a_0011_webhook_upgrades_keeping_its_secret_with_no_times(tmp_path: Path) -> None:
    with database_at(tmp_path, BEFORE) as (url, engine), engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO server_webhooks (repo, forge, secret, clone_url) VALUES "
                "('app', 'gitea', :secret, 'https://forge.example/app.git')"
            ),
            {"secret": SECRET},
        )
    db = open_database(url)
    try:
        with db.engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"include_object": _ours})
            assert list(compare_metadata(context, Base.metadata)) == []
        # Plain text since 0014_webhook_secret_sealed: sealed when the server starts.
        assert seal_plain_secrets(db, bastion_home()).sealed == ["app"]
        assert Webhooks(db).get("app", Forge.GITEA).secret.secret == SECRET
        view = WebhookSettings(db, lambda: datetime(2030, 1, 1, tzinfo=UTC)).view("app")
        assert (view.forge, view.secret_set, view.created_at, view.rotated_at) == (
            Forge.GITEA,
            True,
            None,
            None,
        )
    finally:
        db.dispose()
