"""The permission matrix's vocabulary: what one route must do (:class:`Entry`), who walks
the routes (:class:`Caller`) and one concrete request (:class:`Call`)."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pyotp

from bastion.server import Role
from bastion.server.context import ServerContext
from tests.server.conftest import Server

ALL = frozenset(Role)
ADMIN = frozenset({Role.ADMIN})
ADMIN_SECURITY = frozenset({Role.ADMIN, Role.SECURITY})
NONE: frozenset[Role] = frozenset()
BUILDERS = frozenset({Role.DEVELOPER, Role.MAINTAINER, Role.ADMIN})


@dataclass(frozen=True)
class Entry:
    """What one route must do: its permission, who holds it, how others are refused."""

    permission: str
    roles: frozenset[Role] = NONE
    refusal: int = 403
    step_up: bool = False


@dataclass
class Caller:
    """A signed-in user of one role walking every route; what the calls need to succeed."""

    server: Server
    name: str
    user_id: int
    totp: pyotp.TOTP
    run_id: int
    serial: itertools.count[int] = field(default_factory=itertools.count)

    @property
    def ctx(self) -> ServerContext:
        ctx: ServerContext = self.server.client.app.state.bastion  # type: ignore[attr-defined]
        return ctx

    def unique(self, prefix: str) -> str:
        return f"{prefix}-{next(self.serial)}"

    def fresh_code(self) -> str:
        self.server.clock.advance(seconds=30)  # a code of a step not used yet
        return self.totp.at(self.server.clock.now)

    def target(self) -> str:
        """A new account for the routes that act on one."""
        user, _token = self.server.accounts.add(self.unique("target"))
        return user.name


@dataclass
class Call:
    """One request: its concrete URL and body; ``after`` runs when it succeeded."""

    url: str
    json: dict[str, Any] | None = None
    data: dict[str, str] | None = None
    after: Callable[[], None] | None = None
