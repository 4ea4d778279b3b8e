"""Bastion's server: REST API and web UI over the same store and engine as the CLI.

    >>> from bastion.store import open_database
    >>> from bastion.server import ServerServices, ServerSettings, create_app
    >>> settings = ServerSettings.from_options(bind="127.0.0.1:8080", db="sqlite://")
    >>> services = ServerServices(open_database("sqlite://"), audit=sink)  # doctest: +SKIP
    >>> app = create_app(settings, services)  # doctest: +SKIP

Security model. You can rely on: every route names one permission of the table in
:mod:`bastion.server.permissions`, checked before the handler runs (an app with a route
that names none does not start); passwords are argon2id hashes, and session ids, API
tokens, setup links and recovery codes are stored only as SHA-256 of random values; session
cookies are HttpOnly, SameSite=Strict, Secure under TLS, rotated at sign-in, second factor
and step-up, and expire when idle and absolutely; state-changing requests made with a cookie
need the session's CSRF token; sign-in is throttled per account and per address; every
state change and every refused request is an audit event. You must not assume: that the
server is safe to expose without TLS (``--tls-cert``/``--tls-key`` or a TLS proxy), or that
a proxy's X-Forwarded-For is honoured (it is not: behind a proxy, every request has the
proxy's address and the per-address throttle counts them together).
"""

from bastion.server.accounts import FIRST_ADMIN, Accounts, User
from bastion.server.app import create_app
from bastion.server.auditing import AuditSink, LogAuditSink, ServerAction
from bastion.server.context import ServerContext, ServerServices, build_context
from bastion.server.errors import (
    BadRequestError,
    ConflictError,
    ForbiddenError,
    NotAuthenticatedError,
    NotFoundError,
    ServerError,
    StepUpRequiredError,
    ThrottledError,
    WeakPasswordError,
)
from bastion.server.launch import Started, open_services, with_launcher, with_monitor
from bastion.server.permissions import PERMISSIONS, Permission, Role, Rule, ScopeKind
from bastion.server.principal import Grant
from bastion.server.settings import DEFAULT_BIND, ServerSettings, default_server_database_url
from bastion.server.webhook_store import SealReport, seal_plain_secrets

__all__ = [
    "DEFAULT_BIND",
    "FIRST_ADMIN",
    "PERMISSIONS",
    "Accounts",
    "AuditSink",
    "BadRequestError",
    "ConflictError",
    "ForbiddenError",
    "Grant",
    "LogAuditSink",
    "NotAuthenticatedError",
    "NotFoundError",
    "Permission",
    "Role",
    "Rule",
    "ScopeKind",
    "SealReport",
    "ServerAction",
    "ServerContext",
    "ServerError",
    "ServerServices",
    "ServerSettings",
    "Started",
    "StepUpRequiredError",
    "ThrottledError",
    "User",
    "WeakPasswordError",
    "build_context",
    "create_app",
    "default_server_database_url",
    "open_services",
    "seal_plain_secrets",
    "with_launcher",
    "with_monitor",
]
