"""Approvals: N distinct people, each with a TOTP code at that moment, none of them the
person who triggered the run nor an author or committer of a commit since the last deploy,
and only within the environment's deploy windows (a rejection is taken at any time).

A request is opened by the server's approval gate when a job with ``environment:`` is
ready; each vote is audited with its outcome, a refused one with its reason. An approval
counts until ``approval_ttl`` after it was given; the request is approved once the
distinct people whose approvals still count reach the environment's number. One rejection
rejects. A request not decided within ``request_timeout`` expires.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from bastion.audit import AuditEvent, Outcome
from bastion.engine import ApprovalRequest
from bastion.server.approval_records import ApprovalRequestRecord, ApprovalVoteRecord
from bastion.server.auditing import AuditSink
from bastion.server.clock import Clock
from bastion.server.environments import Environments, EnvironmentSettings, outside_window
from bastion.server.errors import ConflictError, ForbiddenError, NotFoundError
from bastion.server.totp import Totp
from bastion.store import Database

__all__ = ["Approvals", "Decision", "RequestState", "Vote"]


class Decision(enum.StrEnum):
    """What one person says."""

    APPROVE = "approve"
    REJECT = "reject"


class RequestState(enum.StrEnum):
    """Where a request is; only PENDING takes votes."""

    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    EXPIRED = "expired"
    CANCELLED = "cancelled"
    DEPLOYED = "deployed"


@dataclass(frozen=True)
class Vote:
    """Who asks to decide, and what: the TOTP ``code`` is checked at that moment."""

    user_id: int
    user_name: str
    actor: str
    decision: Decision
    code: str
    comment: str = ""


class Approvals:
    """Approval requests and votes over one database, clock, TOTP checker and audit log."""

    def __init__(self, db: Database, clock: Clock, totp: Totp, audit: AuditSink) -> None:
        self.db, self.clock, self.totp, self.audit = db, clock, totp, audit
        self.environments = Environments(db)

    def _audit(
        self, actor: str, action: str, request_id: int | str, outcome: Outcome, **details: Any
    ) -> None:
        self.audit.record(AuditEvent(actor, action, f"approval:{request_id}", outcome, details))

    def refuse(self, request: ApprovalRequest, reason: str) -> None:
        """Audit a job refused without asking anyone (trust, ref, no such environment)."""
        self._audit(
            "bastion",
            "approval.refused",
            f"run{request.run_id}/{request.job}",
            Outcome.DENIED,
            environment=request.environment,
            reason=reason,
        )

    def open(
        self,
        request: ApprovalRequest,
        settings: EnvironmentSettings,
        triggered_by: str | None,
        shipped: dict[str, Any],
    ) -> int:
        """Record a pending request with what it ships; its id."""
        now, context = self.clock(), request.context
        with self.db.session() as session:
            row = ApprovalRequestRecord(
                run_id=request.run_id,
                job=request.job,
                environment=request.environment,
                repo=context.repo,
                commit=context.commit,
                ref=context.ref,
                trust=context.trust.value,
                triggered_by=triggered_by,
                shipped=shipped,
                state=RequestState.PENDING.value,
                created_at=now,
                expires_at=now + timedelta(seconds=settings.request_timeout),
            )
            session.add(row)
            session.flush()
            request_id = row.id
        self._audit(
            "bastion",
            "approval.requested",
            request_id,
            Outcome.SUCCESS,
            run=request.run_id,
            job=request.job,
            environment=request.environment,
            commit=context.commit,
            triggered_by=triggered_by,
            **shipped,
        )
        return request_id

    def get(self, request_id: int) -> tuple[ApprovalRequestRecord, list[ApprovalVoteRecord]]:
        """A request and its votes (detached copies); NotFoundError."""
        with self.db.session() as session:
            row = session.get(ApprovalRequestRecord, request_id)
            if row is None:
                raise NotFoundError(f"no approval request {request_id}")
            votes = list(
                session.scalars(
                    select(ApprovalVoteRecord)
                    .filter_by(request_id=request_id)
                    .order_by(ApprovalVoteRecord.id)
                )
            )
            session.expunge_all()
            return row, votes

    def pending(self) -> list[ApprovalRequestRecord]:
        """Requests still waiting, oldest first (each brought up to date first)."""
        with self.db.session() as session:
            ids = list(
                session.scalars(
                    select(ApprovalRequestRecord.id)
                    .filter_by(state=RequestState.PENDING.value)
                    .order_by(ApprovalRequestRecord.id)
                )
            )
        return [
            row for row in (self.get(i)[0] for i in ids if self.poll(i) is RequestState.PENDING)
        ]

    def decide(self, request_id: int, vote: Vote) -> RequestState:
        """Record ``vote``; ForbiddenError (audited, with the reason) for a wrong or replayed
        TOTP code or a person four-eyes excludes; ConflictError once decided."""
        row, _votes = self.get(request_id)
        if self.poll(request_id) is not RequestState.PENDING:
            raise ConflictError(f"approval request {request_id} is no longer pending")
        refusal = self._refusal(row, vote)
        if refusal is not None:
            self._audit(
                vote.actor,
                f"approval.{vote.decision.value}",
                request_id,
                Outcome.DENIED,
                reason=refusal,
                environment=row.environment,
            )
            raise ForbiddenError(refusal)
        settings = self.environments.get(row.environment)
        ttl = settings.approval_ttl if settings else 0
        now = self.clock()
        with self.db.session() as session:
            session.add(
                ApprovalVoteRecord(
                    request_id=request_id,
                    user_id=vote.user_id,
                    user_name=vote.user_name,
                    decision=vote.decision.value,
                    comment=vote.comment,
                    at=now,
                    expires_at=now + timedelta(seconds=ttl),
                )
            )
        self._audit(
            vote.actor,
            f"approval.{vote.decision.value}",
            request_id,
            Outcome.SUCCESS,
            environment=row.environment,
            run=row.run_id,
            job=row.job,
            comment=vote.comment,
        )
        return self.poll(request_id)

    def _refusal(self, row: ApprovalRequestRecord, vote: Vote) -> str | None:
        """Why this person may not cast this vote now (None: they may)."""
        if not self.totp.verify(vote.user_id, vote.code):
            return "the TOTP code is wrong or was already used; enter a new one"
        if vote.decision is Decision.REJECT:
            return None  # stopping a deploy needs no second pair of eyes
        settings = self.environments.get(row.environment)
        closed = outside_window(settings, self.clock()) if settings is not None else None
        if closed is not None:
            return f"deploy window: {closed}; approve then"
        if row.triggered_by is not None and row.triggered_by == vote.user_name:
            return "four-eyes: you triggered this run; someone else must approve it"
        people = row.shipped.get("people")
        if people is None:
            return "four-eyes: the commits since the last deploy could not be read"
        if vote.user_name.lower() in people:
            return "four-eyes: you wrote or committed a change since the last deploy"
        return None

    def poll(self, request_id: int) -> RequestState:
        """The request's state now: counts the approvals that still count, expires it when
        its time is up, and records a decision the first time it is reached."""
        now = self.clock()
        with self.db.session() as session:
            row = session.get_one(ApprovalRequestRecord, request_id, with_for_update=True)
            state = RequestState(row.state)
            if state is not RequestState.PENDING:
                return state
            votes = list(
                session.scalars(select(ApprovalVoteRecord).filter_by(request_id=request_id))
            )
            settings = self.environments.get(row.environment)
            live = {
                v.user_id
                for v in votes
                if v.decision == Decision.APPROVE.value and v.expires_at > now
            }
            if any(v.decision == Decision.REJECT.value for v in votes):
                state = RequestState.REJECTED
            elif settings is not None and len(live) >= settings.required_approvals:
                state = RequestState.APPROVED
            elif now >= row.expires_at or settings is None:
                state = RequestState.EXPIRED
            else:
                return state
            row.state, row.decided_at = state.value, now
        self._audit(
            "bastion", f"approval.{state.value}", request_id, Outcome.SUCCESS, approvers=len(live)
        )
        return state

    def cancel(self, request_id: int) -> None:
        """The run stopped while waiting."""
        with self.db.session() as session:
            row = session.get_one(ApprovalRequestRecord, request_id, with_for_update=True)
            if row.state == RequestState.PENDING.value:
                row.state, row.decided_at = RequestState.CANCELLED.value, self.clock()

    def record_deploys(self, run_id: int, passed: set[str]) -> None:
        """After a run: each approved request whose job passed is the environment's deploy."""
        with self.db.session() as session:
            rows = list(
                session.scalars(
                    select(ApprovalRequestRecord)
                    .filter_by(run_id=run_id, state=RequestState.APPROVED.value)
                    .with_for_update()
                )
            )
            done = [
                (r.id, r.environment, dict(r.shipped), r.commit) for r in rows if r.job in passed
            ]
            for r in rows:
                if r.job in passed:
                    r.state = RequestState.DEPLOYED.value
        for request_id, environment, shipped, commit in done:
            self.environments.mark_deployed(environment, run_id, shipped, commit, self.clock())
            self._audit(
                "bastion",
                "approval.deployed",
                request_id,
                Outcome.SUCCESS,
                environment=environment,
                run=run_id,
            )
