"""The outbox: each new alert is owed to each sink until the sink takes it.

    >>> Dispatcher(db, [WebhookSink(url, secret)], masker).deliver_due()   # doctest: +SKIP

A failed send is retried with exponential backoff (``base * factor**(attempts-1)``, capped);
after ``max_attempts`` the delivery is dead-lettered (state ``dead``, listed by
:meth:`Dispatcher.dead_letters`, sent again by :meth:`Dispatcher.retry`). A delivery is never
deleted, so an alert a sink did not take is never lost. The texts are masked once more as
they leave, for secrets the vault learned after the alert was stored.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sqlalchemy import select

from bastion.monitor.alerts import Alert, AlertStore, masked
from bastion.monitor.interface import DeliveryError, MonitorError, TextMasker
from bastion.monitor.models import AlertRecord, DeliveryRecord
from bastion.monitor.sinks import Sink
from bastion.store import Database, utcnow

__all__ = ["Backoff", "DeadLetter", "DeliveryReport", "Dispatcher"]


@dataclass(frozen=True)
class Backoff:
    """Retry schedule: wait ``base`` seconds, times ``factor`` each try, at most ``cap``."""

    base: float = 30.0
    factor: float = 2.0
    cap: float = 3600.0
    max_attempts: int = 8

    def delay(self, attempts: int) -> timedelta:
        """The wait after the ``attempts``-th failure."""
        return timedelta(seconds=min(self.cap, self.base * self.factor ** max(0, attempts - 1)))


@dataclass(frozen=True)
class DeadLetter:
    """A delivery that ran out of tries."""

    delivery_id: int
    alert_id: int
    sink: str
    attempts: int
    last_error: str | None


@dataclass(frozen=True)
class DeliveryReport:
    """What one pass did."""

    sent: int
    failed: int
    dead: int


class Dispatcher:
    """Sends due deliveries to their sinks."""

    def __init__(
        self,
        db: Database,
        sinks: Sequence[Sink],
        masker: TextMasker,
        *,
        backoff: Backoff | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        AlertStore(db)  # brings the tables up
        self.db = db
        self.sinks = {sink.name: sink for sink in sinks}
        self.masker = masker
        self.backoff = backoff or Backoff()
        self.clock = clock

    def deliver_due(self, limit: int = 100) -> DeliveryReport:
        """Try every pending delivery whose time has come (to a sink still configured)."""
        now = self.clock()
        query = (
            select(DeliveryRecord.id, AlertRecord)
            .join(AlertRecord, AlertRecord.id == DeliveryRecord.alert_id)
            .where(DeliveryRecord.state == "pending", DeliveryRecord.next_at <= now)
            .where(DeliveryRecord.sink.in_(list(self.sinks)))
            .order_by(DeliveryRecord.id)
            .limit(limit)
        )
        with self.db.session() as session:
            due = [
                (delivery_id, Alert.from_record(row)) for delivery_id, row in session.execute(query)
            ]
        sent = failed = dead = 0
        for delivery_id, alert in due:
            outcome = self._attempt(delivery_id, alert, now)
            sent += outcome == "sent"
            failed += outcome == "pending"
            dead += outcome == "dead"
        return DeliveryReport(sent, failed, dead)

    def _attempt(self, delivery_id: int, alert: Alert, now: datetime) -> str:
        with self.db.session() as session:
            record = session.get(DeliveryRecord, delivery_id)
            if record is None or record.state != "pending":
                return "skipped"
            clean = replace(
                alert,
                title=masked(self.masker, alert.title),
                detail=masked(self.masker, alert.detail),
            )
            record.attempts += 1
            try:
                self.sinks[record.sink].send(clean)
            except DeliveryError as exc:
                record.last_error = masked(self.masker, exc.message)[:2000]
                if record.attempts >= self.backoff.max_attempts:
                    record.state = "dead"
                else:
                    record.next_at = now + self.backoff.delay(record.attempts)
                return record.state
            record.state, record.last_error = "sent", None
            return "sent"

    def dead_letters(self) -> list[DeadLetter]:
        """Deliveries that ran out of tries, oldest first."""
        query = (
            select(DeliveryRecord).where(DeliveryRecord.state == "dead").order_by(DeliveryRecord.id)
        )
        with self.db.session() as session:
            return [
                DeadLetter(r.id, r.alert_id, r.sink, r.attempts, r.last_error)
                for r in session.scalars(query)
            ]

    def retry(self, delivery_id: int) -> None:
        """Queue a dead-lettered delivery again, now, with a fresh count of tries."""
        with self.db.session() as session:
            record = session.get(DeliveryRecord, delivery_id)
            if record is None or record.state != "dead":
                raise MonitorError(f"delivery {delivery_id} is not dead-lettered")
            record.state, record.attempts, record.next_at = "pending", 0, self.clock()

    def pending(self) -> int:
        """Deliveries still owed."""
        with self.db.session() as session:
            return len(
                list(
                    session.scalars(
                        select(DeliveryRecord.id).where(DeliveryRecord.state == "pending")
                    )
                )
            )
