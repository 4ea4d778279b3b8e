"""Web pages for artifacts, signing keys, secrets (names and scopes; values write-only),
users, the caller's tokens and the server's settings."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from bastion.errors import VaultError
from bastion.server import api_secrets, api_supplychain, artifacts_view
from bastion.server.auth import authorize
from bastion.server.context import context_of
from bastion.server.errors import BadRequestError, ServerError
from bastion.server.page_render import render
from bastion.server.permissions import Permission
from bastion.server.principal import Principal
from bastion.server.routing import guarded
from bastion.vault import Scope

__all__ = ["router"]

router = APIRouter()
ArtifactsReader = Annotated[Principal, Depends(authorize(Permission.ARTIFACTS_READ))]
KeysReader = Annotated[Principal, Depends(authorize(Permission.KEYS_READ))]
SecretsReader = Annotated[Principal, Depends(authorize(Permission.SECRETS_READ))]
SecretsWriter = Annotated[Principal, Depends(authorize(Permission.SECRETS_WRITE))]
UserReader = Annotated[Principal, Depends(authorize(Permission.USERS_READ))]
TokenManager = Annotated[Principal, Depends(authorize(Permission.TOKENS_MANAGE))]
SettingsReader = Annotated[Principal, Depends(authorize(Permission.SETTINGS_READ))]
Field = Annotated[str, Form(max_length=1024)]
ValueField = Annotated[str, Form(max_length=65536)]


@router.get("/artifacts", **guarded(Permission.ARTIFACTS_READ))
def artifacts(request: Request, principal: ArtifactsReader) -> HTMLResponse:
    """Artifacts of the newest runs, with their attestations."""
    db = context_of(request).services.db
    found = artifacts_view.produced(db, principal.visible(Permission.ARTIFACTS_READ))
    rows = [api_supplychain.artifact_out(request, item) for item in found]
    return render(
        request, principal, "artifacts.html", title="Artifacts", active="/artifacts", rows=rows
    )


@router.get("/artifacts/{digest}", **guarded(Permission.ARTIFACTS_READ))
def artifact(
    request: Request, digest: Annotated[str, Path(max_length=80)], principal: ArtifactsReader
) -> HTMLResponse:
    """One artifact: digest, attestations to download, and ``bastion verify``'s result."""
    ctx = context_of(request)
    item = artifacts_view.find(
        ctx.services.db, principal.visible(Permission.ARTIFACTS_READ), digest
    )
    resources = ctx.services.resources
    report = artifacts_view.verify(resources.need_artifacts(), resources.need_trusted_keys(), item)
    return render(
        request,
        principal,
        "artifact.html",
        title=item.name or item.digest,
        active="/artifacts",
        row=api_supplychain.artifact_out(request, item),
        report=report,
    )


@router.get("/keys", **guarded(Permission.KEYS_READ))
def keys(request: Request, principal: KeysReader) -> HTMLResponse:
    """The public keys ``bastion verify`` trusts, with fingerprints and revocations."""
    found = api_supplychain.trusted_keys(request)
    return render(request, principal, "keys.html", title="Signing keys", active="/keys", keys=found)


def _secrets_page(request: Request, principal: Principal, **extra: Any) -> HTMLResponse:
    return render(
        request,
        principal,
        "secrets.html",
        title="Secrets",
        active="/secrets",
        secrets=api_secrets.list_secrets(request),
        may_write=principal.may(Permission.SECRETS_WRITE),
        **extra,
    )


@router.get("/secrets", **guarded(Permission.SECRETS_READ))
def secrets(request: Request, principal: SecretsReader) -> HTMLResponse:
    """Names, scopes and versions; values are never shown."""
    return _secrets_page(request, principal)


def _split(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


@router.post("/secrets", **guarded(Permission.SECRETS_WRITE))
def set_secret(
    request: Request,
    principal: SecretsWriter,
    name: Field,
    value: ValueField,
    repos: Field = "",
    branches: Field = "",
    tags: Field = "",
    environments: Field = "",
    trust: Field = "",
) -> Response:
    """Set a secret from the form; the page shown next never holds the value."""
    try:
        scope = Scope.build(
            repos=_split(repos),
            branches=_split(branches),
            tags=_split(tags),
            environments=_split(environments),
            trust=_split(trust),
        )
    except VaultError as exc:
        return _secrets_page(request, principal, status=400, error=exc.message)
    try:
        api_secrets.set_secret(request, principal, name.strip(), value, scope)
    except BadRequestError as exc:
        return _secrets_page(request, principal, status=400, error=exc.message)
    return RedirectResponse("/secrets", status_code=303)


@router.post("/secrets/{name}/delete", **guarded(Permission.SECRETS_WRITE))
def delete_secret(
    request: Request, name: Annotated[str, Path(max_length=128)], principal: SecretsWriter
) -> Response:
    """Delete a secret."""
    try:
        api_secrets.remove_secret(request, principal, name)
    except ServerError as exc:
        return _secrets_page(request, principal, status=exc.status, error=exc.message)
    return RedirectResponse("/secrets", status_code=303)


@router.get("/users", **guarded(Permission.USERS_READ))
def users(request: Request, principal: UserReader) -> HTMLResponse:
    """Every account: roles, second factor, disabled."""
    found = context_of(request).accounts.list()
    return render(request, principal, "users.html", title="Users", active="/users", users=found)


@router.get("/tokens", **guarded(Permission.TOKENS_MANAGE))
def tokens(request: Request, principal: TokenManager) -> HTMLResponse:
    """The caller's API tokens (never their values)."""
    found = context_of(request).tokens.list(principal.user_id)
    return render(
        request, principal, "tokens.html", title="API tokens", active="/tokens", tokens=found
    )


@router.get("/settings", **guarded(Permission.SETTINGS_READ))
def settings(request: Request, principal: SettingsReader) -> HTMLResponse:
    """The server's settings (the database address without its password)."""
    values = api_secrets.settings_values(context_of(request).settings)
    return render(
        request, principal, "settings.html", title="Settings", active="/settings", values=values
    )
