"""``/metrics`` in the Prometheus text format, read from the database at scrape time.

    >>> text = render_metrics(db)                                   # doctest: +SKIP

Families: ``bastion_runs`` (by status), ``bastion_jobs`` (by kind and status),
``bastion_gate_results`` (by gate and outcome), ``bastion_run_duration_seconds`` and
``bastion_job_duration_seconds`` (histograms of finished ones), ``bastion_queue_depth`` (runs
queued), ``bastion_egress_denials`` (denied ``egress.request`` audit events) and
``bastion_alerts`` (by rule, severity and state). Every value is a count of stored records,
so a restarted server reports the same numbers; they are gauges, not counters, because
records can be pruned. The audit table is read by name (``audit_events``), its one column
pair ``action``/``outcome``, rather than through the audit package's private models.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import column, func, inspect, select, table

from bastion.monitor.alerts import AlertStore
from bastion.store import Database, JobRecord, RunRecord

__all__ = ["CONTENT_TYPE", "DURATION_BUCKETS", "StoreCollector", "render_metrics"]

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
DURATION_BUCKETS = (1.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0)
_AUDIT = table("audit_events", column("action"), column("outcome"))


def _spans(rows: Iterable[tuple[datetime | None, datetime | None]]) -> list[float]:
    return [max(0.0, (end - start).total_seconds()) for start, end in rows if start and end]


def _histogram(name: str, doc: str, seconds: list[float]) -> HistogramMetricFamily:
    buckets = [(str(b), float(sum(1 for s in seconds if s <= b))) for b in DURATION_BUCKETS]
    buckets.append(("+Inf", float(len(seconds))))
    return HistogramMetricFamily(name, doc, buckets=buckets, sum_value=sum(seconds))


def _gauge(
    name: str, doc: str, labels: Sequence[str], rows: Iterable[Sequence[object]]
) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, doc, labels=list(labels))
    for row in rows:
        family.add_metric([str(v) for v in row[:-1]], float(str(row[-1])))
    return family


_RUNS = select(RunRecord.status, func.count()).group_by(RunRecord.status)
_JOBS = select(JobRecord.kind, JobRecord.status, func.count()).group_by(
    JobRecord.kind, JobRecord.status
)
_GATES = (
    select(JobRecord.name, JobRecord.status, func.count())
    .where(JobRecord.kind == "gate")
    .group_by(JobRecord.name, JobRecord.status)
)
_QUEUED = select(func.count()).where(RunRecord.status == "queued")
_RUN_SPANS = select(RunRecord.started_at, RunRecord.finished_at)
_JOB_SPANS = select(JobRecord.started_at, JobRecord.finished_at)


class StoreCollector(Collector):
    """Collects every family from one database when scraped."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.alerts = AlertStore(db)

    def collect(self) -> Iterator[Metric]:
        """The families, each read in one query."""
        with self.db.session() as session:
            runs = list(session.execute(_RUNS).all())
            jobs = list(session.execute(_JOBS).all())
            gates = list(session.execute(_GATES).all())
            queued = session.scalar(_QUEUED) or 0
            run_spans = _spans(session.execute(_RUN_SPANS).all())
            job_spans = _spans(session.execute(_JOB_SPANS).all())
        yield _gauge("bastion_runs", "Runs by status.", ["status"], runs)
        yield _gauge("bastion_jobs", "Jobs by kind and status.", ["kind", "status"], jobs)
        yield _gauge(
            "bastion_gate_results", "Gate jobs by gate and outcome.", ["gate", "outcome"], gates
        )
        yield _histogram("bastion_run_duration_seconds", "Durations of finished runs.", run_spans)
        yield _histogram("bastion_job_duration_seconds", "Durations of finished jobs.", job_spans)
        yield GaugeMetricFamily("bastion_queue_depth", "Runs waiting to start.", value=queued)
        yield GaugeMetricFamily(
            "bastion_egress_denials", "Denied egress requests (audit log).", value=self._denials()
        )
        alerts = [(*key, n) for key, n in sorted(self.alerts.counts().items())]
        yield _gauge(
            "bastion_alerts",
            "Alerts by rule, severity and state.",
            ["rule", "severity", "state"],
            alerts,
        )

    def _denials(self) -> int:
        if not inspect(self.db.engine).has_table("audit_events"):
            return 0  # no audit log in this database yet
        query = (
            select(func.count())
            .select_from(_AUDIT)
            .where(_AUDIT.c.action == "egress.request", _AUDIT.c.outcome == "denied")
        )
        with self.db.session() as session:
            return int(session.scalar(query) or 0)


def render_metrics(db: Database) -> bytes:
    """The exposition text of every family."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(StoreCollector(db))
    return generate_latest(registry)
