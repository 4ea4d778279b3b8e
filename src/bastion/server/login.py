"""Signing in, the second factor, step-up and signing out: the session cookie's life.

Each step that raises privilege (password accepted, second factor accepted, step-up) issues
a new session id; the cookie is HttpOnly, SameSite=Strict, and Secure under TLS.
"""

from __future__ import annotations

from fastapi import Request, Response

from bastion.audit import Outcome
from bastion.server.auditing import ServerAction, auth_event
from bastion.server.auth import SESSION_COOKIE, client_address, session_principal
from bastion.server.context import ServerContext, context_of
from bastion.server.errors import (
    BadRequestError,
    NotAuthenticatedError,
    StepUpRequiredError,
    ThrottledError,
)
from bastion.server.principal import Principal, Via

__all__ = ["complete_second_factor", "end_session", "password_sign_in", "perform_step_up"]


def set_session_cookie(ctx: ServerContext, response: Response, raw: str) -> None:
    """The session cookie: HttpOnly, SameSite=Strict, Secure under TLS, absolute lifetime."""
    response.set_cookie(
        SESSION_COOKIE,
        raw,
        max_age=int(ctx.settings.session_absolute.total_seconds()),
        httponly=True,
        samesite="strict",
        secure=ctx.settings.tls,
        path="/",
    )


def _audit(request: Request, actor: str, action: ServerAction, outcome: Outcome) -> None:
    event = auth_event(actor, action, actor, outcome, client_address(request))
    context_of(request).services.audit.record(event)


def password_sign_in(request: Request, response: Response, name: str, password: str) -> bool:
    """Check name and password (throttled); start a session. True if a second factor is due."""
    ctx, address = context_of(request), client_address(request)
    account = name[:128]
    try:
        ctx.throttle.check(account, address)
    except ThrottledError:
        _audit(request, f"user:{account}", ServerAction.LOGIN, Outcome.DENIED)
        raise
    user = ctx.accounts.authenticate(name, password)
    ctx.throttle.record(account, address, success=user is not None)
    if user is None:
        _audit(request, f"user:{account}", ServerAction.LOGIN, Outcome.FAILURE)
        raise NotAuthenticatedError("wrong name or password")
    old = request.cookies.get(SESSION_COOKIE)
    if old:
        ctx.sessions.end(old)  # a session id from before sign-in is never carried over
    raw, _info = ctx.sessions.start(user.id, mfa_pending=user.mfa)
    set_session_cookie(ctx, response, raw)
    _audit(request, f"user:{user.name}", ServerAction.LOGIN, Outcome.SUCCESS)
    return user.mfa


def complete_second_factor(request: Request, response: Response, code: str) -> None:
    """Accept a TOTP or recovery code for a session awaiting it; rotate the session."""
    ctx = context_of(request)
    principal = session_principal(request, pending=True)
    raw = request.cookies.get(SESSION_COOKIE)
    if principal is None or raw is None:
        raise NotAuthenticatedError("sign in first")
    if not _check_code(request, principal, code):
        _audit(request, principal.actor, ServerAction.MFA_VERIFIED, Outcome.FAILURE)
        raise BadRequestError("wrong or already used code")
    rotated = ctx.sessions.rotate(raw, mfa_pending=False)
    if rotated is None:
        raise NotAuthenticatedError("sign in first")
    set_session_cookie(ctx, response, rotated[0])
    _audit(request, principal.actor, ServerAction.MFA_VERIFIED, Outcome.SUCCESS)


def _check_code(request: Request, principal: Principal, code: str) -> bool:
    ctx = context_of(request)
    if ctx.totp.verify(principal.user_id, code):
        return True
    if ctx.totp.use_recovery_code(principal.user_id, code):
        _audit(request, principal.actor, ServerAction.RECOVERY_CODE_USED, Outcome.SUCCESS)
        return True
    return False


def perform_step_up(request: Request, response: Response, principal: Principal, code: str) -> None:
    """Mark the session stepped up after a fresh TOTP code (recovery codes do not count)."""
    ctx = context_of(request)
    raw = request.cookies.get(SESSION_COOKIE)
    if principal.via is not Via.SESSION or raw is None:
        raise StepUpRequiredError("step-up needs a signed-in session, not an API token")
    if not ctx.totp.verify(principal.user_id, code):
        _audit(request, principal.actor, ServerAction.STEP_UP, Outcome.FAILURE)
        raise StepUpRequiredError("wrong or already used code (is TOTP enrolled?)")
    rotated = ctx.sessions.rotate(raw, stepped_up=True)
    if rotated is None:
        raise NotAuthenticatedError("sign in first")
    set_session_cookie(ctx, response, rotated[0])
    _audit(request, principal.actor, ServerAction.STEP_UP, Outcome.SUCCESS)


def end_session(request: Request, response: Response, principal: Principal) -> None:
    """Sign out: delete the session and the cookie."""
    raw = request.cookies.get(SESSION_COOKIE)
    if raw:
        context_of(request).sessions.end(raw)
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict")
    _audit(request, principal.actor, ServerAction.LOGOUT, Outcome.SUCCESS)
