"""Alerts in the database: opened from signals (masked), listed, acknowledged, resolved.

>>> store = AlertStore(db)                       # doctest: +SKIP
>>> store.acknowledge(3, by="user:alice", reason="planned change, PR #12")
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bastion.monitor.interface import (
    AlertNotFoundError,
    AlertState,
    MonitorError,
    Severity,
    Signal,
    TextMasker,
)
from bastion.monitor.models import MONITOR_CHAIN, AlertRecord, DeliveryRecord
from bastion.store import Database, utcnow

__all__ = ["Alert", "AlertStore", "masked"]

_MAX_REASON = 1000


def masked(masker: TextMasker, text: str) -> str:
    """``text`` with every secret the masker knows replaced."""
    return masker.mask(text.encode("utf-8", errors="surrogateescape")).decode(
        "utf-8", errors="replace"
    )


@dataclass(frozen=True)
class Alert:
    """An alert as read back."""

    id: int
    rule: str
    severity: Severity
    state: AlertState
    title: str
    detail: str
    repo: str | None
    occurrences: int
    created_at: datetime
    updated_at: datetime
    handled_by: str | None
    reason: str | None

    @classmethod
    def from_record(cls, row: AlertRecord) -> Alert:
        """The view of one stored row."""
        return cls(
            row.id, row.rule, Severity(row.severity), AlertState(row.state), row.title,
            row.detail, row.repo, row.occurrences, row.created_at, row.updated_at,
            row.handled_by, row.reason,
        )  # fmt: skip

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields (the API and ``--json``)."""
        return {
            "id": self.id,
            "rule": self.rule,
            "severity": self.severity.value,
            "state": self.state.value,
            "title": self.title,
            "detail": self.detail,
            "repo": self.repo,
            "occurrences": self.occurrences,
            "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
            "handled_by": self.handled_by,
            "reason": self.reason,
        }


class AlertStore:
    """The alerts of one database (its monitor tables are brought up on open)."""

    def __init__(self, db: Database) -> None:
        db.ensure_schema(MONITOR_CHAIN)
        self.db = db

    def open_signals(
        self,
        session: Session,
        signals: Iterable[Signal],
        masker: TextMasker,
        sinks: Sequence[str] = (),
    ) -> list[int]:
        """Store ``signals`` in the caller's transaction; ids of the alerts newly opened.

        A signal whose rule and key match an alert not yet resolved adds an occurrence to
        it instead. Each new alert is queued for every sink in ``sinks``.
        """
        now = utcnow()
        batch = list(signals)
        rows = self._unresolved(session, {(s.rule, s.key[:512]) for s in batch})
        created: list[AlertRecord] = []
        for signal in batch:
            key = (signal.rule, signal.key[:512])
            row = rows.get(key)
            if row is not None:
                row.occurrences += 1
                row.last_seq = signal.seq
                row.updated_at = now
                continue
            row = rows[key] = _new_record(signal, masker, now)
            session.add(row)
            created.append(row)
        session.flush()  # once per batch: the new alerts get their ids
        opened = [row.id for row in created]
        for alert_id in opened:
            for sink in sinks:
                session.add(
                    DeliveryRecord(
                        alert_id=alert_id, sink=sink, state="pending", attempts=0, next_at=now
                    )
                )
        return opened

    @staticmethod
    def _unresolved(
        session: Session, wanted: set[tuple[str, str]]
    ) -> dict[tuple[str, str], AlertRecord]:
        """The alerts not yet resolved of each (rule, key) in ``wanted``: one query per 500
        keys, not one per signal."""
        found: dict[tuple[str, str], AlertRecord] = {}
        rules, keys = sorted({r for r, _k in wanted}), sorted({k for _r, k in wanted})
        for start in range(0, len(keys), 500):
            query = select(AlertRecord).where(
                AlertRecord.rule.in_(rules),
                AlertRecord.key.in_(keys[start : start + 500]),
                AlertRecord.state != AlertState.RESOLVED.value,
            )
            for row in session.scalars(query):
                if (row.rule, row.key) in wanted:
                    found.setdefault((row.rule, row.key), row)
        return found

    def list(
        self,
        *,
        state: AlertState | None = None,
        severity: Severity | None = None,
        limit: int = 100,
    ) -> list[Alert]:
        """Newest first, filtered."""
        query = select(AlertRecord).order_by(AlertRecord.id.desc()).limit(limit)
        if state is not None:
            query = query.where(AlertRecord.state == state.value)
        if severity is not None:
            query = query.where(AlertRecord.severity == severity.value)
        with self.db.session() as session:
            return [Alert.from_record(row) for row in session.scalars(query)]

    def get(self, alert_id: int) -> Alert:
        """One alert; AlertNotFoundError if there is none."""
        with self.db.session() as session:
            return Alert.from_record(_row(session, alert_id))

    def acknowledge(self, alert_id: int, *, by: str, reason: str) -> Alert:
        """Mark an open alert acknowledged; the reason is required."""
        reason = reason.strip()
        if not reason or len(reason) > _MAX_REASON:
            raise MonitorError(
                f"an acknowledgement needs a reason of 1 to {_MAX_REASON} characters",
                hint="say why the alert is expected or who handles it",
            )
        return self._move(alert_id, AlertState.ACKNOWLEDGED, by, reason)

    def resolve(self, alert_id: int, *, by: str, reason: str | None = None) -> Alert:
        """Mark an alert resolved (a later signal with its key opens a new one)."""
        return self._move(alert_id, AlertState.RESOLVED, by, (reason or "").strip() or None)

    def _move(self, alert_id: int, state: AlertState, by: str, reason: str | None) -> Alert:
        with self.db.session() as session:
            row = _row(session, alert_id)
            if row.state == AlertState.RESOLVED.value:
                raise MonitorError(f"alert {alert_id} is already resolved")
            row.state, row.handled_by, row.updated_at = state.value, by[:256], utcnow()
            if reason is not None:
                row.reason = reason[:_MAX_REASON]
            return Alert.from_record(row)

    def counts(self) -> dict[tuple[str, str, str], int]:
        """Alerts by (rule, severity, state)."""
        query = select(
            AlertRecord.rule, AlertRecord.severity, AlertRecord.state, func.count()
        ).group_by(AlertRecord.rule, AlertRecord.severity, AlertRecord.state)
        with self.db.session() as session:
            return {(r, s, st): n for r, s, st, n in session.execute(query)}


def _new_record(signal: Signal, masker: TextMasker, now: datetime) -> AlertRecord:
    return AlertRecord(
        rule=signal.rule,
        severity=signal.severity.value,
        state=AlertState.OPEN.value,
        title=masked(masker, signal.title)[:512],
        detail=masked(masker, signal.detail),
        key=signal.key[:512],
        repo=signal.repo[:1024] if signal.repo else None,
        first_seq=signal.seq,
        last_seq=signal.seq,
        occurrences=1,
        created_at=now,
        updated_at=now,
    )


def _row(session: Session, alert_id: int) -> AlertRecord:
    row = session.get(AlertRecord, alert_id)
    if row is None:
        raise AlertNotFoundError(f"no alert {alert_id}", hint="bastion alerts list")
    return row
