"""Environments are server settings, never repository files: how many distinct people must
approve, which refs and trust may deploy, the wait timer after approval, how long a request
waits and how long an approval counts, when it may be deployed to (deploy windows,
:mod:`bastion.server.deploy_windows`); and what is deployed there now."""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from bastion.server.approval_records import EnvironmentRecord
from bastion.server.deploy_windows import DeployWindow, next_opening, open_now, parse_windows
from bastion.server.errors import BadRequestError
from bastion.server.names import check_name
from bastion.store import Database
from bastion.trust import RunContext, Trust

__all__ = [
    "DEPLOYING_TRUST",
    "EnvironmentSettings",
    "Environments",
    "admissible",
    "outside_window",
]

# Only these trust levels ever reach a protected environment (ARCHITECTURE.md).
DEPLOYING_TRUST = {Trust.TRUSTED: (Trust.TRUSTED, Trust.RELEASE), Trust.RELEASE: (Trust.RELEASE,)}


@dataclass(frozen=True)
class EnvironmentSettings:
    """One environment's rules; checked when built (an invalid one cannot exist)."""

    name: str
    required_approvals: int = 2
    allowed_refs: tuple[str, ...] = ("refs/heads/main",)
    required_trust: Trust = Trust.TRUSTED
    wait_timer: int = 0
    request_timeout: int = 24 * 3600
    approval_ttl: int = 4 * 3600
    deploy_windows: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        check_name(self.name, "environment")
        object.__setattr__(self, "deploy_windows", tuple(dict.fromkeys(self.deploy_windows)))
        parse_windows(self.deploy_windows)
        if not 1 <= self.required_approvals <= 10:
            raise BadRequestError("required approvals: 1 to 10 distinct people")
        if self.required_trust not in DEPLOYING_TRUST:
            raise BadRequestError("required trust is trusted or release")
        if not self.allowed_refs or any(not r.startswith("refs/") for r in self.allowed_refs):
            raise BadRequestError("allowed refs are refs/... patterns (at least one)")
        for seconds in (self.wait_timer, self.request_timeout, self.approval_ttl):
            if not 0 <= seconds <= 30 * 24 * 3600:
                raise BadRequestError("times are 0 to 30 days, in seconds")
        if self.request_timeout < 60 or self.approval_ttl < 60:
            raise BadRequestError("a request and an approval last at least 60 seconds")

    @property
    def windows(self) -> tuple[DeployWindow, ...]:
        """The deploy windows, parsed (none: always open)."""
        return parse_windows(self.deploy_windows)


def outside_window(settings: EnvironmentSettings, at: datetime) -> str | None:
    """Why ``settings``' environment may not be deployed to at ``at`` (None: it may)."""
    windows = settings.windows
    if open_now(windows, at):
        return None
    opens = next_opening(windows, at).astimezone(UTC)
    return (
        f"{settings.name} is deployed to only within {'; '.join(settings.deploy_windows)}; "
        f"the next window opens at {opens:%Y-%m-%d %H:%M} UTC"
    )


def admissible(settings: EnvironmentSettings, context: RunContext) -> str | None:
    """Why a run may not deploy to the environment at all (refused without asking)."""
    if context.trust not in DEPLOYING_TRUST[settings.required_trust]:
        return (
            f"a run of trust {context.trust.value} may not deploy to {settings.name} "
            f"(needs {settings.required_trust.value})"
        )
    if context.ref is None or not any(
        fnmatch.fnmatchcase(context.ref, p) for p in settings.allowed_refs
    ):
        return f"ref {context.ref or '(none)'} may not deploy to {settings.name}"
    return None


def _settings(row: EnvironmentRecord) -> EnvironmentSettings:
    return EnvironmentSettings(
        row.name,
        row.required_approvals,
        tuple(row.allowed_refs),
        Trust(row.required_trust),
        row.wait_timer,
        row.request_timeout,
        row.approval_ttl,
        tuple(row.deploy_windows or ()),
    )


class Environments:
    """The environments table."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def get(self, name: str) -> EnvironmentSettings | None:
        with self.db.session() as session:
            row = session.scalar(select(EnvironmentRecord).filter_by(name=name))
            return _settings(row) if row else None

    def all(self) -> list[EnvironmentSettings]:
        with self.db.session() as session:
            rows = session.scalars(select(EnvironmentRecord).order_by(EnvironmentRecord.name))
            return [_settings(r) for r in rows]

    def put(self, settings: EnvironmentSettings) -> None:
        """Create or change an environment (what is deployed there is kept)."""
        with self.db.session() as session:
            row = session.scalar(
                select(EnvironmentRecord).filter_by(name=settings.name).with_for_update()
            )
            if row is None:
                row = EnvironmentRecord(name=settings.name)
                session.add(row)
            row.required_approvals = settings.required_approvals
            row.allowed_refs = list(settings.allowed_refs)
            row.required_trust = settings.required_trust.value
            row.wait_timer = settings.wait_timer
            row.request_timeout = settings.request_timeout
            row.approval_ttl = settings.approval_ttl
            row.deploy_windows = list(settings.deploy_windows)

    def deployed(self, name: str) -> tuple[str | None, str | None, dict[str, Any]]:
        """(digest, commit, SBOM components) deployed now; Nones and {} before a deploy."""
        with self.db.session() as session:
            row = session.scalar(select(EnvironmentRecord).filter_by(name=name))
            if row is None:
                return None, None, {}
            return row.deployed_digest, row.deployed_commit, dict(row.deployed_components or {})

    def mark_deployed(
        self, name: str, run_id: int, shipped: dict[str, Any], commit: str | None, at: datetime
    ) -> None:
        """Remember what a successful deploy shipped (the next SBOM diff's base)."""
        artifacts = shipped.get("artifacts") or []
        with self.db.session() as session:
            row = session.scalar(select(EnvironmentRecord).filter_by(name=name).with_for_update())
            if row is None:
                return
            row.deployed_digest = artifacts[0][1] if artifacts else None
            row.deployed_commit, row.deployed_run, row.deployed_at = commit, run_id, at
            row.deployed_components = dict(shipped.get("components") or {})
