"""A repository's webhook settings in the permission matrix (issue 14): set, show and remove
``app``'s webhook, its maintainers and admins only; developers and viewers get 403. Show
and remove act on a webhook each call sets up first, so every holder succeeds."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bastion.server import Role
from bastion.server.webhook_signatures import Forge
from bastion.server.webhook_store import Webhooks
from tests.server.matrix_model import Call, Caller, Entry

KEEPERS = frozenset({Role.MAINTAINER, Role.ADMIN})
SECRET = "matrix-webhook-secret-0123456789"
URL = "https://10.20.0.4/app.git"  # a private address: allowed without DNS
WEBHOOK_MATRIX: dict[tuple[str, str], Entry] = {
    ("PUT", "/api/repositories/{repo}/webhook"): Entry("webhooks.manage", KEEPERS),
    ("GET", "/api/repositories/{repo}/webhook"): Entry("webhooks.manage", KEEPERS),
    ("DELETE", "/api/repositories/{repo}/webhook"): Entry("webhooks.manage", KEEPERS),
}
WEBHOOK_PLACEHOLDERS = {"repo": "app"}
BODY: dict[str, Any] = {"forge": "github", "clone_url": URL, "secret": SECRET}


def configured(caller: Caller) -> Call:
    """``app`` with a webhook (the call before may have removed it)."""
    Webhooks(caller.server.db).configure("app", Forge.GITHUB, SECRET, URL)
    return Call("/api/repositories/app/webhook")


WEBHOOK_CALLS: dict[tuple[str, str], Callable[[Caller], Call]] = {
    ("PUT", "/api/repositories/{repo}/webhook"): lambda c: Call(
        "/api/repositories/app/webhook", json=BODY
    ),
    ("GET", "/api/repositories/{repo}/webhook"): configured,
    ("DELETE", "/api/repositories/{repo}/webhook"): configured,
}
