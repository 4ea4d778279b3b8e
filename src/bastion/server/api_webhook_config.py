"""A repository's webhook through the API: ``PUT``, ``GET`` and ``DELETE
/api/repositories/{repo}/webhook`` (issue 14).

Who: the repository's maintainers and admins (``webhooks.manage``). A repository the caller
may not see answers 404 exactly like an unknown one; a ``file://`` clone URL makes the
server fetch from its own disk, so it also needs ``repos.manage`` (admins), like registering
a repository by path; so does a host that is or resolves to an internal address (loopback,
link-local, cloud metadata...) or does not resolve. Every change is audited
(``webhook.configured``, ``webhook.removed``) with the forge and the masked clone URL, never
the secret.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request

from bastion.server.auditing import ServerAction
from bastion.server.auth import authorize, deny, require_on
from bastion.server.context import context_of
from bastion.server.errors import ForbiddenError
from bastion.server.permissions import Permission
from bastion.server.principal import Principal
from bastion.server.recording import record
from bastion.server.routing import guarded
from bastion.server.schemas_webhooks import WebhookBody, WebhookOut
from bastion.server.webhook_config import WebhookSettings, WebhookView, reads_server_disk

__all__ = ["router"]

router = APIRouter(prefix="/api")
Manager = Annotated[Principal, Depends(authorize(Permission.WEBHOOKS_MANAGE))]
_PATH = "/repositories/{repo}/webhook"


def _out(view: WebhookView) -> WebhookOut:
    return WebhookOut(
        repo=view.repo,
        forge=view.forge,
        clone_url=view.clone_url,
        secret_set=view.secret_set,
        signed=view.signed,
        created_at=view.created_at,
        rotated_at=view.rotated_at,
    )


def _settings_for(request: Request, principal: Principal, repo: str) -> WebhookSettings:
    """The webhook settings, once the caller may manage ``repo``'s webhook: 404 for a
    repository unknown or hidden from the caller (the same answer), else 403."""
    ctx = context_of(request)
    missing = f"no repository {repo}"
    require_on(request, principal, Permission.REPOS_READ, repo, missing=missing)
    ctx.repositories.get(repo)  # NotFoundError with the same message
    require_on(request, principal, Permission.WEBHOOKS_MANAGE, repo)
    return WebhookSettings(ctx.services.db, ctx.services.clock)


@router.put(_PATH, **guarded(Permission.WEBHOOKS_MANAGE))
def put_webhook(request: Request, repo: str, body: WebhookBody, principal: Manager) -> WebhookOut:
    """Set (or replace) the repository's webhook; 400 for a weak secret (the rule is in the
    answer) or a clone URL the fetcher refuses. The answer holds no secret."""
    settings = _settings_for(request, principal, repo)
    if reads_server_disk(body.clone_url) and not principal.may(Permission.REPOS_MANAGE):
        error = ForbiddenError("a file:// clone URL reads the server's disk: admins only")
        raise deny(request, principal.actor, f"repo/{repo}", error, Permission.REPOS_MANAGE)
    replaced = settings.find(repo) is not None
    # "is not None": an empty key is refused (400), not read as "unsigned".
    key = body.signing_key
    signing_key = key.get_secret_value() if key is not None else None
    view = settings.set(
        repo,
        body.forge,
        body.secret.get_secret_value(),
        body.clone_url,
        signing_key=signing_key,
        any_host=principal.may(Permission.REPOS_MANAGE),  # else no internal address
    )
    record(
        request,
        principal.actor,
        ServerAction.WEBHOOK_CONFIGURED,
        f"repo/{repo}",
        forge=view.forge.value,
        clone_url=view.clone_url,
        signed=view.signed,
        replaced=replaced,
    )
    return _out(view)


@router.get(_PATH, **guarded(Permission.WEBHOOKS_MANAGE))
def get_webhook(request: Request, repo: str, principal: Manager) -> WebhookOut:
    """The repository's webhook: forge, masked clone URL, whether a secret (and GitLab's
    signing key) is set; 404 if it has none."""
    return _out(_settings_for(request, principal, repo).view(repo))


@router.delete(_PATH, **guarded(Permission.WEBHOOKS_MANAGE))
def delete_webhook(request: Request, repo: str, principal: Manager) -> WebhookOut:
    """Remove the repository's webhook (its deliveries are refused from now on) and answer
    what it was; 404 if it has none."""
    view = _settings_for(request, principal, repo).remove(repo)
    record(
        request,
        principal.actor,
        ServerAction.WEBHOOK_REMOVED,
        f"repo/{repo}",
        forge=view.forge.value,
    )
    return _out(view)
