"""The tables of environments and approvals (revision ``0009_approvals``).

``server_environments``: one row per environment, its settings (required approvers, allowed
refs, required trust, wait timer, how long a request waits, how long an approval counts)
and what is deployed there now (digest, commit, SBOM components) once a deploy succeeded;
its deploy windows (revision ``0011_deploy_windows``).
``server_approval_requests``: a job waiting to ship, with what it ships.
``server_approval_votes``: every approval or rejection, by whom, until when it counts.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from bastion.store import Base, UTCDateTime

__all__ = ["ApprovalRequestRecord", "ApprovalVoteRecord", "EnvironmentRecord"]


class EnvironmentRecord(Base):
    """An environment's settings and what is deployed there."""

    __tablename__ = "server_environments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    required_approvals: Mapped[int] = mapped_column(Integer)
    allowed_refs: Mapped[list[str]] = mapped_column(JSON)
    required_trust: Mapped[str] = mapped_column(String(16))
    wait_timer: Mapped[int] = mapped_column(Integer)
    request_timeout: Mapped[int] = mapped_column(Integer)
    approval_ttl: Mapped[int] = mapped_column(Integer)
    deploy_windows: Mapped[list[str]] = mapped_column(JSON, default=list)
    deployed_digest: Mapped[str | None] = mapped_column(String(80))
    deployed_commit: Mapped[str | None] = mapped_column(String(64))
    deployed_run: Mapped[int | None] = mapped_column(Integer)
    deployed_components: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    deployed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ApprovalRequestRecord(Base):
    """A job of a run waiting for its environment's approvals."""

    __tablename__ = "server_approval_requests"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[int] = mapped_column(Integer, index=True)
    job: Mapped[str] = mapped_column(String(256))
    environment: Mapped[str] = mapped_column(String(128), index=True)
    repo: Mapped[str] = mapped_column(String(1024))
    commit: Mapped[str | None] = mapped_column(String(64))
    ref: Mapped[str | None] = mapped_column(String(1024))
    trust: Mapped[str] = mapped_column(String(16))
    triggered_by: Mapped[str | None] = mapped_column(String(128))
    # What ships: artifacts [[path, digest]], SBOM components {name: version}, the people
    # who wrote the commits since the last deploy, findings and pipeline-file changes.
    shipped: Mapped[dict[str, Any]] = mapped_column(JSON)
    state: Mapped[str] = mapped_column(String(16), index=True)
    reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ApprovalVoteRecord(Base):
    """One person's approval or rejection of a request."""

    __tablename__ = "server_approval_votes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    request_id: Mapped[int] = mapped_column(
        ForeignKey("server_approval_requests.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int] = mapped_column(Integer)
    user_name: Mapped[str] = mapped_column(String(128))
    decision: Mapped[str] = mapped_column(String(16))
    comment: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
