"""Secrets (names and scopes only: values are write-only and never leave the server) and
the server's settings."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request, Response
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from bastion.errors import BastionError, VaultError
from bastion.server.auditing import ServerAction
from bastion.server.auth import authorize
from bastion.server.context import context_of
from bastion.server.errors import BadRequestError, NotFoundError
from bastion.server.permissions import Permission
from bastion.server.principal import Principal
from bastion.server.recording import record
from bastion.server.resources import translate
from bastion.server.routing import guarded
from bastion.server.schemas_resources import SecretBody, SecretOut, SettingsOut
from bastion.server.settings import ServerSettings
from bastion.vault import Scope, SecretInfo

__all__ = ["list_secrets", "remove_secret", "router", "set_secret", "settings_values"]

router = APIRouter(prefix="/api")
SecretsReader = Annotated[Principal, Depends(authorize(Permission.SECRETS_READ))]
SecretsWriter = Annotated[Principal, Depends(authorize(Permission.SECRETS_WRITE))]
SettingsReader = Annotated[Principal, Depends(authorize(Permission.SETTINGS_READ))]
SecretName = Annotated[str, Path(max_length=128)]


def _secret_out(info: SecretInfo) -> SecretOut:
    scope = info.scope.to_json()
    return SecretOut(name=info.name, version=info.version, updated=info.updated, **scope)


def list_secrets(request: Request) -> list[SecretInfo]:
    """Every secret's name, scope and version (each opened, so tamper shows here)."""
    vault = context_of(request).services.resources.need_vault()
    try:
        return vault.list()
    except BastionError as exc:
        raise translate(exc) from exc


def set_secret(
    request: Request, principal: Principal, name: str, value: str, scope: Scope
) -> SecretInfo:
    """Store ``value`` under ``name``; the audit event names the secret and scope only."""
    vault = context_of(request).services.resources.need_vault()
    try:
        info = vault.set(name, value, scope)
    except VaultError as exc:
        # The vault's messages never quote a value; this makes sure no future one does.
        raise BadRequestError(exc.message.replace(value, "***")) from None
    except BastionError as exc:
        raise translate(exc) from None
    record(
        request,
        principal.actor,
        ServerAction.SECRET_SET,
        f"secret/{name}",
        version=info.version,
        trust=",".join(sorted(info.scope.to_json()["trust"])),
        repos=",".join(info.scope.repos),
    )
    return info


def remove_secret(request: Request, principal: Principal, name: str) -> None:
    """Delete ``name``; NotFoundError if there is none. Audited."""
    vault = context_of(request).services.resources.need_vault()
    try:
        vault.remove(name)
    except VaultError as exc:
        raise NotFoundError(exc.message) from exc
    record(request, principal.actor, ServerAction.SECRET_REMOVED, f"secret/{name}")


def scope_of(body: SecretBody) -> Scope:
    """The body's scope; BadRequestError if it is not one (e.g. untrusted runs named)."""
    try:
        return Scope.build(
            repos=body.repos,
            branches=body.branches,
            tags=body.tags,
            environments=body.environments,
            trust=body.trust,
        )
    except VaultError as exc:
        raise BadRequestError(exc.message) from exc


@router.get("/secrets", **guarded(Permission.SECRETS_READ))
def secrets(request: Request, principal: SecretsReader) -> list[SecretOut]:
    """Names, scopes and versions; never a value."""
    return [_secret_out(info) for info in list_secrets(request)]


@router.put("/secrets/{name}", **guarded(Permission.SECRETS_WRITE))
def put_secret(
    request: Request, name: SecretName, body: SecretBody, principal: SecretsWriter
) -> SecretOut:
    """Set (or replace) a secret's value and scope; the answer holds no value."""
    scope = scope_of(body)
    return _secret_out(set_secret(request, principal, name, body.value.get_secret_value(), scope))


@router.delete("/secrets/{name}", status_code=204, **guarded(Permission.SECRETS_WRITE))
def delete_secret(request: Request, name: SecretName, principal: SecretsWriter) -> Response:
    """Delete a secret."""
    remove_secret(request, principal, name)
    return Response(status_code=204)


def settings_values(settings: ServerSettings) -> dict[str, str]:
    """The settings as text; the database address without its password."""
    try:
        database = make_url(settings.database_url).render_as_string(hide_password=True)
    except ArgumentError:
        database = "(not a URL)"
    return {
        "bind": f"{settings.host}:{settings.port}",
        "database": database,
        "tls": "on" if settings.tls else "off (use a TLS proxy)",
        "session idle expiry": str(settings.session_idle),
        "session absolute expiry": str(settings.session_absolute),
        "step-up window": str(settings.step_up_window),
        "request body limit": f"{settings.max_body_bytes} bytes",
        "longest API token": f"{settings.max_token_days} days",
        "sign-in throttle": (
            f"{settings.account_failures} per account, {settings.address_failures} per address "
            f"in {settings.throttle_window}"
        ),
        "setup link lifetime": str(settings.setup_link_lifetime),
    }


@router.get("/settings", **guarded(Permission.SETTINGS_READ))
def settings(request: Request, principal: SettingsReader) -> SettingsOut:
    """The server's settings (nothing secret)."""
    return SettingsOut(values=settings_values(context_of(request).settings))
