"""Forge webhooks: ``POST /api/webhooks/{forge}/{repo}`` (GitHub, GitLab, Gitea/Forgejo).

Public in the permission table: the caller is a forge, authenticated by the repository's
webhook secret over the exact body (:mod:`bastion.server.webhook_intake`), not by a session
or token. The app's body limit answers 413 before the body is read.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from bastion.home import bastion_home
from bastion.server.auth import client_address
from bastion.server.context import ServerContext, context_of
from bastion.server.launcher import Launcher
from bastion.server.permissions import Permission
from bastion.server.resources import UnavailableError
from bastion.server.routing import guarded
from bastion.server.schemas_webhooks import DeliveryOut
from bastion.server.webhook_intake import WebhookIntake
from bastion.server.webhook_store import Deliveries, Webhooks

__all__ = ["ALLOWED_SIGNERS", "router"]

router = APIRouter(prefix="/api")
ALLOWED_SIGNERS = "allowed_signers"  # under $BASTION_HOME: keys whose tags make releases


def allowed_signers() -> Path:
    """The server's allowed-signers file (``git verify-tag`` for release tags)."""
    return bastion_home() / ALLOWED_SIGNERS


def intake_of(ctx: ServerContext) -> WebhookIntake:
    """The intake over the context's database, clock, accounts and launcher."""
    db = ctx.services.db

    def launcher() -> Launcher:
        if ctx.services.launcher is None:
            raise UnavailableError("this server does not start runs")
        return ctx.services.launcher

    return WebhookIntake(
        ctx.repositories,
        Webhooks(db),
        Deliveries(db, ctx.services.clock),
        ctx.accounts,
        ctx.services.audit,
        launcher,
        allowed_signers=allowed_signers(),
    )


@router.post("/webhooks/{forge}/{repo}", status_code=202, **guarded(Permission.PUBLIC))
async def webhook(request: Request, forge: str, repo: str) -> DeliveryOut:
    """Verify a forge's delivery and queue the run it asks for (or record it ignored)."""
    body = await request.body()
    headers = {k.lower(): v for k, v in request.headers.items()}
    ctx = context_of(request)
    intake, address = intake_of(ctx), client_address(request)
    # Signature, replay cache, git fetch and queueing block: off the event loop.
    result = await run_in_threadpool(intake.receive, forge, repo, headers, body, address)
    return DeliveryOut(delivery=result.delivery, status=result.status.value, run=result.run_id)
