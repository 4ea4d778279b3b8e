"""Request and response bodies of the approval and environment routes, apart from the
approvals' own records. A vote carries the TOTP code of that moment: approving or rejecting
is never done on the strength of a session alone."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StrictStr

from bastion.server.approval_records import ApprovalRequestRecord, ApprovalVoteRecord
from bastion.server.environments import EnvironmentSettings
from bastion.trust import Trust

__all__ = [
    "ApprovalOut",
    "ApprovalsOut",
    "EnvironmentBody",
    "EnvironmentOut",
    "EnvironmentsOut",
    "VoteBody",
    "VoteOut",
    "approval_out",
    "environment_out",
]


RefPattern = Annotated[StrictStr, Field(min_length=6, max_length=1024)]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class VoteBody(_Body):
    """Approve or reject: the caller's current TOTP code and an optional comment."""

    code: str = Field(pattern=r"^[0-9]{6}$")
    comment: str = Field(default="", max_length=1000)


class VoteOut(BaseModel):
    """One person's vote."""

    user: str
    decision: str
    comment: str
    at: dt.datetime
    expires_at: dt.datetime


class ApprovalOut(BaseModel):
    """One approval request: the job, where it ships, what it ships, and the votes."""

    id: int
    run_id: int
    job: str
    environment: str
    repo: str
    commit: str | None
    ref: str | None
    trust: str
    triggered_by: str | None
    state: str
    created_at: dt.datetime
    expires_at: dt.datetime
    decided_at: dt.datetime | None
    shipped: dict[str, Any]
    votes: list[VoteOut]


class ApprovalsOut(BaseModel):
    """Requests, oldest first."""

    approvals: list[ApprovalOut]


def approval_out(row: ApprovalRequestRecord, votes: list[ApprovalVoteRecord]) -> ApprovalOut:
    """The response body of a request and its votes."""
    return ApprovalOut(
        id=row.id,
        run_id=row.run_id,
        job=row.job,
        environment=row.environment,
        repo=row.repo,
        commit=row.commit,
        ref=row.ref,
        trust=row.trust,
        triggered_by=row.triggered_by,
        state=row.state,
        created_at=row.created_at,
        expires_at=row.expires_at,
        decided_at=row.decided_at,
        shipped=dict(row.shipped),
        votes=[
            VoteOut(
                user=v.user_name,
                decision=v.decision,
                comment=v.comment,
                at=v.at,
                expires_at=v.expires_at,
            )
            for v in votes
        ],
    )


class EnvironmentBody(_Body):
    """An environment's rules (checked again by :class:`EnvironmentSettings`)."""

    required_approvals: int = Field(default=2, ge=1, le=10)
    allowed_refs: list[RefPattern] = Field(
        default_factory=lambda: ["refs/heads/main"], min_length=1, max_length=32
    )
    required_trust: Trust = Trust.TRUSTED
    wait_timer: int = Field(default=0, ge=0, le=30 * 24 * 3600)
    request_timeout: int = Field(default=24 * 3600, ge=60, le=30 * 24 * 3600)
    approval_ttl: int = Field(default=4 * 3600, ge=60, le=30 * 24 * 3600)
    # "DAYS HH:MM-HH:MM ZONE", e.g. "Mon-Fri 09:00-17:00 UTC"; none: deployable at any time.
    deploy_windows: list[StrictStr] = Field(default_factory=list, max_length=16)

    def settings(self, name: str) -> EnvironmentSettings:
        """The domain value (BadRequestError if the rules do not hold together)."""
        return EnvironmentSettings(
            name,
            self.required_approvals,
            tuple(self.allowed_refs),
            self.required_trust,
            self.wait_timer,
            self.request_timeout,
            self.approval_ttl,
            tuple(self.deploy_windows),
        )


class EnvironmentOut(BaseModel):
    """One environment's rules."""

    name: str
    required_approvals: int
    allowed_refs: list[str]
    required_trust: str
    wait_timer: int
    request_timeout: int
    approval_ttl: int
    deploy_windows: list[str] = Field(default_factory=list)


class EnvironmentsOut(BaseModel):
    """Every environment, by name."""

    environments: list[EnvironmentOut]


def environment_out(settings: EnvironmentSettings) -> EnvironmentOut:
    """The response body of an environment's rules."""
    return EnvironmentOut(
        name=settings.name,
        required_approvals=settings.required_approvals,
        allowed_refs=list(settings.allowed_refs),
        required_trust=settings.required_trust.value,
        wait_timer=settings.wait_timer,
        request_timeout=settings.request_timeout,
        approval_ttl=settings.approval_ttl,
        deploy_windows=list(settings.deploy_windows),
    )
