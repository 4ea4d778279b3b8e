"""Who may do what: the one permission table of the server.

Every route names exactly one :class:`Permission` (:mod:`bastion.server.routing`); the
table says which roles hold it, at which scope it is checked, whether a refusal answers 404
(the caller must not learn that the object exists) or 403, and whether it needs a fresh TOTP
code (step-up). ``tests/server/test_permission_matrix.py`` walks every route of the OpenAPI
document against every role, so a route without an entry, or an entry that changes, fails.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

__all__ = ["PERMISSIONS", "Permission", "Role", "Rule", "ScopeKind", "rule_for"]


class Role(StrEnum):
    """Roles, from least to most trusted (the order is not used for checks: the table is)."""

    VIEWER = "viewer"
    DEVELOPER = "developer"
    MAINTAINER = "maintainer"
    SECURITY = "security"
    ADMIN = "admin"


class ScopeKind(StrEnum):
    """Where a role is granted and a permission checked."""

    INSTANCE = "instance"
    REPOSITORY = "repository"
    ENVIRONMENT = "environment"


class Permission(StrEnum):
    """Everything a route can require. PUBLIC and SIGNED_IN need no role."""

    PUBLIC = "public"
    SIGNED_IN = "signed_in"
    RUNS_READ = "runs.read"
    RUNS_WRITE = "runs.write"
    REPOS_READ = "repos.read"
    REPOS_MANAGE = "repos.manage"
    TOKENS_MANAGE = "tokens.manage"
    TOKENS_CREATE = "tokens.create"
    USERS_READ = "users.read"
    USERS_MANAGE = "users.manage"
    ROLES_CHANGE = "roles.change"
    FINDINGS_READ = "findings.read"
    FINDINGS_TRIAGE = "findings.triage"
    ARTIFACTS_READ = "artifacts.read"
    KEYS_READ = "keys.read"
    AUDIT_READ = "audit.read"
    AUDIT_EXPORT = "audit.export"
    SECRETS_READ = "secrets.read"
    SECRETS_WRITE = "secrets.write"
    SETTINGS_READ = "settings.read"
    METRICS_READ = "metrics.read"
    KPI_READ = "kpi.read"
    ALERTS_READ = "alerts.read"
    ALERTS_HANDLE = "alerts.handle"
    APPROVALS_READ = "approvals.read"
    APPROVALS_DECIDE = "approvals.decide"
    ENVIRONMENTS_MANAGE = "environments.manage"
    WORKERS_READ = "workers.read"
    WORKERS_MANAGE = "workers.manage"
    WEBHOOKS_MANAGE = "webhooks.manage"


@dataclass(frozen=True)
class Rule:
    """The roles holding a permission, its scope, and how a refusal looks."""

    roles: frozenset[Role]
    scope: ScopeKind = ScopeKind.INSTANCE
    hide: bool = False  # refuse with 404: the caller must not learn the object exists
    step_up: bool = False  # needs a TOTP code entered within the step-up window


_ALL = frozenset(Role)
_SECURITY = frozenset({Role.SECURITY})
_AUDITORS = frozenset({Role.SECURITY, Role.ADMIN})
_SECRET_KEEPERS = frozenset({Role.MAINTAINER, Role.ADMIN})
_BUILDERS = frozenset({Role.DEVELOPER, Role.MAINTAINER, Role.ADMIN})

PERMISSIONS: Mapping[Permission, Rule] = {
    Permission.PUBLIC: Rule(frozenset()),
    Permission.SIGNED_IN: Rule(_ALL),
    Permission.RUNS_READ: Rule(_ALL, ScopeKind.REPOSITORY, hide=True),
    # Trigger, cancel, re-run. Routes check RUNS_READ on the repository first (404 for one
    # the caller may not see), so this 403 tells nothing new.
    Permission.RUNS_WRITE: Rule(_BUILDERS, ScopeKind.REPOSITORY),
    Permission.REPOS_READ: Rule(_ALL, ScopeKind.REPOSITORY, hide=True),
    # A path on the server's disk that the server (often root) reads: admins only.
    Permission.REPOS_MANAGE: Rule(frozenset({Role.ADMIN})),
    Permission.TOKENS_MANAGE: Rule(_ALL),
    Permission.TOKENS_CREATE: Rule(_ALL, step_up=True),
    Permission.USERS_READ: Rule(frozenset({Role.ADMIN, Role.SECURITY})),
    Permission.USERS_MANAGE: Rule(frozenset({Role.ADMIN})),
    Permission.ROLES_CHANGE: Rule(frozenset({Role.ADMIN}), step_up=True),
    # Findings live in a repository's runs: a caller who may not see it learns nothing.
    Permission.FINDINGS_READ: Rule(_ALL, ScopeKind.REPOSITORY, hide=True),
    # Accepting a risk is the security role's call alone (an admin grants it, audited).
    Permission.FINDINGS_TRIAGE: Rule(_SECURITY, ScopeKind.REPOSITORY, hide=True),
    Permission.ARTIFACTS_READ: Rule(_ALL, ScopeKind.REPOSITORY, hide=True),  # by producing run
    Permission.KEYS_READ: Rule(_ALL),  # public keys and fingerprints only
    Permission.AUDIT_READ: Rule(_AUDITORS),
    Permission.AUDIT_EXPORT: Rule(_AUDITORS, step_up=True),
    Permission.SECRETS_READ: Rule(_SECRET_KEEPERS | _SECURITY),  # names and scopes only
    Permission.SECRETS_WRITE: Rule(_SECRET_KEEPERS),  # values are write-only
    Permission.SETTINGS_READ: Rule(frozenset({Role.ADMIN})),
    # Counts across every repository: any role granted on the instance; a scraper uses an
    # API token of such an account scoped to metrics.read alone (nothing else it can do).
    Permission.METRICS_READ: Rule(_ALL),
    Permission.KPI_READ: Rule(_ALL),  # aggregates over every repository: instance grants
    # Alerts describe attacks on the instance itself: the people who answer them.
    Permission.ALERTS_READ: Rule(_AUDITORS),
    Permission.ALERTS_HANDLE: Rule(_AUDITORS),
    # Approval requests live in a repository's runs: seen like them.
    Permission.APPROVALS_READ: Rule(_ALL, ScopeKind.REPOSITORY, hide=True),
    # A vote also needs the voter's TOTP code in the body and passes four-eyes
    # (bastion.server.approvals); the role is granted on the instance or the environment.
    Permission.APPROVALS_DECIDE: Rule(_SECRET_KEEPERS | _SECURITY, ScopeKind.ENVIRONMENT),
    Permission.ENVIRONMENTS_MANAGE: Rule(frozenset({Role.ADMIN})),
    # The Celery worker registry: who runs jobs where. Draining or revoking a worker is
    # what the compromised-runner runbook asks of the people who answer alerts.
    Permission.WORKERS_READ: Rule(_AUDITORS),
    Permission.WORKERS_MANAGE: Rule(_AUDITORS),
    # A repository's webhook decides which deliveries start its runs and where its commits
    # are fetched from. Routes check REPOS_READ first (404 for a repository the caller may
    # not see); a file:// clone URL reads the server's disk and needs REPOS_MANAGE too.
    Permission.WEBHOOKS_MANAGE: Rule(_SECRET_KEEPERS, ScopeKind.REPOSITORY),
}


def rule_for(permission: Permission) -> Rule:
    """The table's rule; a permission without one holds for no role (fails closed)."""
    return PERMISSIONS.get(permission, Rule(frozenset()))
