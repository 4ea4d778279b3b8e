"""Rendering the signed-in pages: one Jinja2 environment (autoescaped), the layout's
navigation (only what the caller may open) and the session's CSRF token for forms."""

from __future__ import annotations

from typing import Any

from fastapi.responses import HTMLResponse
from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.requests import Request

from bastion.server.auth import SESSION_COOKIE
from bastion.server.context import context_of
from bastion.server.permissions import Permission
from bastion.server.principal import Principal

__all__ = ["NAV", "render", "safe_next", "session_csrf"]

_templates = Environment(
    loader=PackageLoader("bastion.server", "templates"),
    autoescape=select_autoescape(default=True),
)

NAV: tuple[tuple[str, str, Permission], ...] = (
    ("/", "Runs", Permission.RUNS_READ),
    ("/repositories", "Repositories", Permission.REPOS_READ),
    ("/findings", "Findings", Permission.FINDINGS_READ),
    ("/artifacts", "Artifacts", Permission.ARTIFACTS_READ),
    ("/audit", "Audit log", Permission.AUDIT_READ),
    ("/approvals", "Approvals", Permission.APPROVALS_READ),
    ("/alerts", "Alerts", Permission.ALERTS_READ),
    ("/kpi", "KPIs", Permission.KPI_READ),
    ("/workers", "Workers", Permission.WORKERS_READ),
    ("/secrets", "Secrets", Permission.SECRETS_READ),
    ("/keys", "Keys", Permission.KEYS_READ),
    ("/users", "Users", Permission.USERS_READ),
    ("/tokens", "Tokens", Permission.TOKENS_MANAGE),
    ("/settings", "Settings", Permission.SETTINGS_READ),
)


def session_csrf(request: Request) -> str:
    """The CSRF token of the request's session ('' if none)."""
    raw = request.cookies.get(SESSION_COOKIE, "")
    info = context_of(request).sessions.resolve(raw)
    return info.csrf_token if info else ""


def safe_next(target: str) -> str:
    """A same-site path to return to; anything else (``//host``, ``https:``) is '/'."""
    if target.startswith("/") and not target.startswith(("//", "/\\")) and "\n" not in target:
        return target
    return "/"


def render(
    request: Request,
    principal: Principal,
    template: str,
    *,
    status: int = 200,
    active: str = "",
    **values: Any,
) -> HTMLResponse:
    """A page in the layout, with the navigation the caller may follow."""
    nav = [(href, label) for href, label, permission in NAV if principal.may(permission)]
    html = _templates.get_template(template).render(
        principal=principal, csrf=session_csrf(request), nav=nav, active=active, **values
    )
    return HTMLResponse(html, status_code=status)
