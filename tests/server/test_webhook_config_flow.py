"""A webhook set through the API is the one deliveries are verified with (issue 14): after a
rotation the old secret's deliveries are forged (401) and the new one's queue a run; after
removal every delivery is refused and starts nothing."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bastion.server import Permission, Role
from bastion.server.principal import TokenScope
from tests.server.test_webhooks import SECRET, Forged, git, make_forged
from tests.server.webhook_payloads import github_push

ROTATED = "Rk5-rotated-webhook-secret-3e7f"


@pytest.fixture
def forged(tmp_path: Path) -> Iterator[Forged]:
    made = make_forged(tmp_path)
    try:
        yield made
    finally:
        made.server.client.close()
        made.server.db.dispose()


def _admin_headers(forged: Forged) -> dict[str, str]:
    user, _setup = forged.server.accounts.add("root", Role.ADMIN)
    ctx = forged.server.client.app.state.bastion  # type: ignore[attr-defined]
    scope = TokenScope(frozenset({"*"}), frozenset(Permission))
    value: str = ctx.tokens.create(user.id, "cli", scope, 1)[1]
    return {"Authorization": f"Bearer {value}"}


def test_a_rotated_secret_is_the_one_deliveries_are_verified_with(forged: Forged) -> None:
    headers = _admin_headers(forged)
    body = {"forge": "github", "clone_url": f"file://{forged.forge_repo}", "secret": ROTATED}
    put = forged.server.client.put("/api/repositories/app/webhook", json=body, headers=headers)
    assert put.status_code == 200, put.text
    head = git(forged.work, "rev-parse", "HEAD")
    assert forged.github("push", github_push("refs/heads/main", head)).status_code == 401
    assert forged.launcher.requests == []
    accepted = forged.github("push", github_push("refs/heads/main", head), secret=ROTATED)
    assert accepted.status_code == 202, accepted.text
    assert len(forged.launcher.requests) == 1


def test_a_removed_webhook_refuses_every_delivery(forged: Forged) -> None:
    headers = _admin_headers(forged)
    removed = forged.server.client.delete("/api/repositories/app/webhook", headers=headers)
    assert removed.status_code == 200, removed.text
    head = git(forged.work, "rev-parse", "HEAD")
    refused = forged.github("push", github_push("refs/heads/main", head), secret=SECRET)
    assert refused.status_code == 404, refused.text
    assert forged.launcher.requests == []
