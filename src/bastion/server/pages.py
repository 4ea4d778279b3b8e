"""The web UI: server-rendered pages (Jinja2, autoescaped), forms with CSRF tokens, no script.

Forms before sign-in (login, setup) use a double-submit token: a random value in an
HttpOnly, SameSite=Strict cookie that the form must echo. Forms after sign-in carry the
session's own token, checked by :func:`bastion.server.auth.authorize`.
"""

from __future__ import annotations

from importlib import resources
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, PackageLoader, select_autoescape

from bastion.audit import Outcome
from bastion.server.auditing import ServerAction, auth_event
from bastion.server.auth import (
    SESSION_COOKIE,
    authorize,
    client_address,
    session_principal,
)
from bastion.server.context import context_of
from bastion.server.errors import ForbiddenError, NotFoundError, ServerError
from bastion.server.login import complete_second_factor, end_session, password_sign_in
from bastion.server.permissions import Permission
from bastion.server.principal import Principal
from bastion.server.routing import guarded
from bastion.server.runs import list_runs
from bastion.server.secrets_hashing import new_secret, same

__all__ = ["router"]

router = APIRouter()
FORM_COOKIE = "bastion_form"
_templates = Environment(
    loader=PackageLoader("bastion.server", "templates"),
    autoescape=select_autoescape(default=True),
)
SignedIn = Annotated[Principal, Depends(authorize(Permission.SIGNED_IN))]
RunsReader = Annotated[Principal, Depends(authorize(Permission.RUNS_READ))]
Field = Annotated[str, Form(max_length=1024)]


def _page(template: str, /, status: int = 200, **values: Any) -> HTMLResponse:
    # Positional-only: a template value called ``name`` (the setup page's) must not collide.
    return HTMLResponse(_templates.get_template(template).render(**values), status_code=status)


def _pre_auth_form(request: Request, template: str, **values: Any) -> HTMLResponse:
    """A page whose form carries a fresh double-submit token (also set as a cookie)."""
    token = new_secret()
    response = _page(template, csrf=token, **values)
    secure = context_of(request).settings.tls
    response.set_cookie(FORM_COOKIE, token, httponly=True, samesite="strict", secure=secure)
    return response


def _check_pre_auth(request: Request, sent: str) -> None:
    cookie = request.cookies.get(FORM_COOKIE)
    if not cookie or not same(cookie, sent):
        raise ForbiddenError("missing or wrong form token; reload the page")


@router.get("/static/bastion.css", include_in_schema=True, **guarded(Permission.PUBLIC))
def stylesheet() -> Response:
    """The one stylesheet (served here: nothing is loaded from elsewhere)."""
    css = resources.files("bastion.server").joinpath("static/bastion.css").read_text("utf-8")
    return Response(css, media_type="text/css")


@router.get("/login", **guarded(Permission.PUBLIC))
def login_form(request: Request) -> HTMLResponse:
    """The sign-in page."""
    return _pre_auth_form(request, "login.html")


@router.post("/login", **guarded(Permission.PUBLIC))
def login(request: Request, name: Field, password: Field, csrf_token: Field) -> Response:
    """Check the password; then the second factor, or the dashboard."""
    _check_pre_auth(request, csrf_token)
    response = RedirectResponse("/", status_code=303)
    try:
        if password_sign_in(request, response, name, password):
            response.headers["location"] = "/mfa"
    except ServerError as exc:
        page = _pre_auth_form(request, "login.html", error=exc.message)
        page.status_code = exc.status
        return page
    response.delete_cookie(FORM_COOKIE)
    return response


@router.get("/mfa", **guarded(Permission.PUBLIC))
def mfa_form(request: Request) -> Response:
    """The second-factor page of a session that has passed the password."""
    if session_principal(request, pending=True) is None:
        return RedirectResponse("/login", status_code=303)
    return _pre_auth_form(request, "mfa.html")


@router.post("/mfa", **guarded(Permission.PUBLIC))
def mfa(request: Request, code: Field, csrf_token: Field) -> Response:
    """Accept a TOTP or recovery code."""
    _check_pre_auth(request, csrf_token)
    response = RedirectResponse("/", status_code=303)
    try:
        complete_second_factor(request, response, code)
    except ServerError as exc:
        page = _pre_auth_form(request, "mfa.html", error=exc.message)
        page.status_code = exc.status
        return page
    return response


@router.post("/logout", **guarded(Permission.SIGNED_IN))
def logout(request: Request, principal: SignedIn) -> Response:
    """Sign out."""
    response = RedirectResponse("/login", status_code=303)
    end_session(request, response, principal)
    return response


@router.get("/", **guarded(Permission.RUNS_READ))
def dashboard(request: Request, principal: RunsReader) -> HTMLResponse:
    """The newest runs the caller may see (read-only)."""
    ctx = context_of(request)
    runs = list_runs(ctx.services.db, principal.visible(Permission.RUNS_READ), limit=50, offset=0)
    return _page("dashboard.html", runs=runs, principal=principal, csrf=_session_csrf(request))


@router.get("/mfa/enrol", **guarded(Permission.SIGNED_IN))
def enrol_form(request: Request, principal: SignedIn) -> HTMLResponse:
    """A new TOTP secret as a QR code (inline SVG) and as text."""
    enrolment = context_of(request).totp.begin(principal.user_id)
    return _page(
        "enrol.html", svg=enrolment.qr_svg(), secret=enrolment.secret, csrf=_session_csrf(request)
    )


@router.post("/mfa/enrol", **guarded(Permission.SIGNED_IN))
def enrol(request: Request, principal: SignedIn, code: Field) -> HTMLResponse:
    """Confirm the new secret with a code; show the recovery codes once."""
    ctx = context_of(request)
    codes = ctx.totp.confirm(principal.user_id, code)
    event = auth_event(
        principal.actor,
        ServerAction.MFA_ENROLLED,
        f"user/{principal.name}",
        Outcome.SUCCESS,
        client_address(request),
    )
    ctx.services.audit.record(event)
    return _page("recovery.html", codes=codes)


@router.get("/setup/{token}", **guarded(Permission.PUBLIC))
def setup_form(request: Request, token: str) -> HTMLResponse:
    """The one-time page where a new account's holder chooses a password."""
    holder = context_of(request).accounts.holder_of_setup(token)
    if holder is None:
        raise NotFoundError("this setup link is unknown, used or expired")
    return _pre_auth_form(request, "setup.html", name=holder.name, token=token)


@router.post("/setup/{token}", **guarded(Permission.PUBLIC))
def setup(request: Request, token: str, password: Field, csrf_token: Field) -> Response:
    """Set the password and spend the link."""
    _check_pre_auth(request, csrf_token)
    ctx = context_of(request)
    user = ctx.accounts.complete_setup(token, password)
    event = auth_event(
        f"user:{user.name}",
        ServerAction.SETUP_COMPLETED,
        f"user/{user.name}",
        Outcome.SUCCESS,
        client_address(request),
    )
    ctx.services.audit.record(event)
    return RedirectResponse("/login", status_code=303)


def _session_csrf(request: Request) -> str:
    raw = request.cookies.get(SESSION_COOKIE, "")
    info = context_of(request).sessions.resolve(raw)
    return info.csrf_token if info else ""
