"""FastAPI dependencies that authenticate and authorise every route from the permission table.

A route declares one permission through :func:`bastion.server.routing.guarded`; the
dependency :func:`authorize` finds the caller (``Authorization: Bearer`` token, else the
session cookie), checks CSRF on a state-changing request made with a cookie, checks the
table and step-up, and records every refusal in the audit log before raising.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Annotated

import anyio.to_thread
from fastapi import Depends
from starlette.requests import Request

from bastion.audit import Outcome
from bastion.server.auditing import ANONYMOUS, ServerAction, auth_event
from bastion.server.context import ServerContext, context_of
from bastion.server.errors import (
    ForbiddenError,
    NotAuthenticatedError,
    NotFoundError,
    ServerError,
    StepUpRequiredError,
)
from bastion.server.permissions import Permission, rule_for
from bastion.server.principal import Principal, Via
from bastion.server.secrets_hashing import same

__all__ = [
    "CSRF_FIELD",
    "CSRF_HEADER",
    "SESSION_COOKIE",
    "Authorized",
    "authorize",
    "client_address",
    "deny",
    "require_on",
    "session_principal",
]

SESSION_COOKIE = "bastion_session"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
_SAFE = frozenset({"GET", "HEAD", "OPTIONS"})


def client_address(request: Request) -> str:
    """The peer's address (no proxy header is trusted: the server is the edge)."""
    return request.client.host if request.client else "unknown"


def deny(
    request: Request, actor: str, what: str, error: ServerError, permission: Permission
) -> ServerError:
    """Audit a refused request; returns ``error`` for the caller to raise."""
    context_of(request).services.audit.record(
        auth_event(
            actor,
            ServerAction.REQUEST_DENIED,
            what,
            Outcome.DENIED,
            client_address(request),
            method=request.method,
            permission=permission.value,
            status=error.status,
        )
    )
    return error


def _token_principal(ctx: ServerContext, value: str) -> Principal | None:
    found = ctx.tokens.authenticate_holder(value)  # token and holder in one session
    if found is None:
        return None
    token, user = found
    if user.disabled:
        return None
    return Principal(user.id, user.name, Via.TOKEN, user.grants, token.id, token.scope)


def session_principal(request: Request, *, pending: bool = False) -> Principal | None:
    """The principal of the session cookie (one still awaiting its second factor if
    ``pending``)."""
    ctx = context_of(request)
    raw = request.cookies.get(SESSION_COOKIE)
    info = ctx.sessions.resolve(raw) if raw else None
    if info is None or info.mfa_pending != pending:
        return None
    user = ctx.accounts.get(info.user_id)
    if user is None or user.disabled:
        return None
    return Principal(
        user.id,
        user.name,
        Via.SESSION,
        user.grants,
        session_hash=info.id_hash,
        stepped_up_at=info.stepped_up_at,
    )


async def _check_csrf(request: Request, principal: Principal) -> bool:
    """True when a cookie-authenticated state change carries its session's CSRF token."""
    if principal.via is Via.TOKEN or request.method in _SAFE:
        return True  # a bearer token is not sent by a browser on its own: no CSRF
    ctx = context_of(request)
    raw = request.cookies.get(SESSION_COOKIE, "")
    info = ctx.sessions.resolve(raw)
    sent = request.headers.get(CSRF_HEADER)
    if sent is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        form = await request.form()
        field = form.get(CSRF_FIELD)
        sent = field if isinstance(field, str) else None
    return info is not None and sent is not None and same(sent, info.csrf_token)


def _caller(request: Request) -> Principal | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value:
        return _token_principal(context_of(request), value.strip())
    if header:
        return None  # any other scheme is refused, never ignored in favour of the cookie
    return session_principal(request)


async def _authorized(request: Request, permission: Permission) -> Principal:
    ctx = context_of(request)
    what = f"route:{request.method} {request.url.path}"
    # The lookup reads the database: in a worker thread, so the event loop never waits on it
    # (on PostgreSQL it stalled every other request, streams included, for a round trip).
    principal = await anyio.to_thread.run_sync(_caller, request)
    if principal is None:
        raise deny(request, ANONYMOUS, what, NotAuthenticatedError("sign in first"), permission)
    if not await _check_csrf(request, principal):
        error: ServerError = ForbiddenError("missing or wrong CSRF token; reload the page")
        raise deny(request, principal.actor, what, error, permission)
    rule = rule_for(permission)
    if not principal.may(permission):
        error = (NotFoundError if rule.hide else ForbiddenError)("not allowed")
        raise deny(request, principal.actor, what, error, permission)
    if rule.step_up:
        fresh = principal.stepped_up_at is not None and (
            ctx.services.clock() - principal.stepped_up_at <= ctx.settings.step_up_window
        )
        if principal.via is not Via.SESSION or not fresh:
            error = StepUpRequiredError(
                "this action needs a fresh TOTP code: POST /api/step-up first"
            )
            raise deny(request, principal.actor, what, error, permission)
    return principal


@functools.cache
def authorize(permission: Permission) -> Callable[[Request], Awaitable[Principal]]:
    """The dependency guarding routes that need ``permission`` (one object per permission,
    so FastAPI runs it once per request however often a route names it)."""

    async def dependency(request: Request) -> Principal:
        return await _authorized(request, permission)

    dependency.__name__ = f"authorize_{permission.name.lower()}"
    return dependency


def require_on(
    request: Request,
    principal: Principal,
    permission: Permission,
    name: str,
    *,
    missing: str = "not found",
) -> None:
    """Check ``permission`` on the object in scope ``name`` (404 or 403 as the table says).

    A hidden refusal says ``missing``: pass the very message the route gives for an unknown
    object, so the two answers are the same and nothing tells that the object exists.
    """
    if principal.may(permission, name):
        return
    if rule_for(permission).hide:
        raise deny(
            request,
            principal.actor,
            f"route:{request.url.path}",
            NotFoundError(missing),
            permission,
        )
    error: ServerError = ForbiddenError("not allowed")
    raise deny(request, principal.actor, f"route:{request.url.path}", error, permission)


Authorized = Annotated[Principal, Depends(authorize(Permission.SIGNED_IN))]
