"""Who is asking: a signed-in person (session) or an API token, with their grants.

A :class:`Principal` answers permission questions from :data:`~bastion.server.permissions.
PERMISSIONS` alone. A token's scope narrows its owner's roles, never widens them.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from bastion.server.permissions import Permission, Role, ScopeKind, rule_for

__all__ = ["ANY_REPOSITORY", "Grant", "Principal", "TokenScope", "Via"]

ANY_REPOSITORY = "*"


class Via(StrEnum):
    """How the principal authenticated."""

    SESSION = "session"
    TOKEN = "token"  # noqa: S105 - a name, not a secret


@dataclass(frozen=True)
class Grant:
    """A role on the instance (name ''), a repository or an environment."""

    role: Role
    scope: ScopeKind = ScopeKind.INSTANCE
    name: str = ""


@dataclass(frozen=True)
class TokenScope:
    """What a token may do: these permissions, on these repositories ('*' for all)."""

    repositories: frozenset[str]
    permissions: frozenset[Permission]

    def covers(self, permission: Permission, repository: str | None) -> bool:
        if permission is Permission.SIGNED_IN:
            return True
        if permission not in self.permissions:
            return False
        if repository is None:
            return True
        return ANY_REPOSITORY in self.repositories or repository in self.repositories


@dataclass(frozen=True)
class Principal:
    """An authenticated caller; ``actor`` is the audit log's name for it."""

    user_id: int
    name: str
    via: Via
    grants: tuple[Grant, ...] = ()
    token_id: int | None = None
    token_scope: TokenScope | None = None
    session_hash: bytes | None = field(default=None, repr=False)
    stepped_up_at: datetime | None = None
    # Decisions made so far. A principal lives for one request, so this caches the table's
    # answers per request: a page asking ``may`` once per listed object computes each once.
    _decisions: dict[tuple[Permission, str | None], bool] = field(
        default_factory=dict, init=False, repr=False, compare=False, hash=False
    )

    @property
    def actor(self) -> str:
        if self.via is Via.TOKEN:
            return f"user:{self.name}/token:{self.token_id}"
        return f"user:{self.name}"

    def roles_on(self, scope: ScopeKind, name: str | None) -> set[Role]:
        """Roles held on the instance plus those granted on ``scope``/``name``."""
        held = {g.role for g in self.grants if g.scope is ScopeKind.INSTANCE}
        if name is not None and scope is not ScopeKind.INSTANCE:
            held |= {g.role for g in self.grants if g.scope is scope and g.name == name}
        return held

    def may(self, permission: Permission, scope_name: str | None = None) -> bool:
        """True if the table grants ``permission`` (on ``scope_name``, if given)."""
        key = (permission, scope_name)
        decided = self._decisions.get(key)
        if decided is None:
            decided = self._decisions[key] = self._decide(permission, scope_name)
        return decided

    def _decide(self, permission: Permission, scope_name: str | None) -> bool:
        if permission is Permission.PUBLIC:
            return True
        if self.token_scope is not None and not self.token_scope.covers(permission, scope_name):
            return False
        rule = rule_for(permission)
        if scope_name is None and rule.scope is not ScopeKind.INSTANCE:
            # Is there any object in that scope the principal may see? Listing decides which.
            return bool(self.roles_on(ScopeKind.INSTANCE, None) & rule.roles) or any(
                g.role in rule.roles for g in self.grants if g.scope is rule.scope
            )
        return bool(self.roles_on(rule.scope, scope_name) & rule.roles)

    def visible(self, permission: Permission) -> Collection[str] | None:
        """Names in the permission's scope the principal may act on; None means all."""
        rule = rule_for(permission)
        everywhere = bool(self.roles_on(ScopeKind.INSTANCE, None) & rule.roles)
        names = {g.name for g in self.grants if g.scope is rule.scope and g.role in rule.roles}
        if self.token_scope is not None:
            if permission not in self.token_scope.permissions:
                return set()
            if ANY_REPOSITORY not in self.token_scope.repositories:
                allowed = self.token_scope.repositories
                return allowed if everywhere else names & allowed
        return None if everywhere else names
