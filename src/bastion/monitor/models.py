"""The monitor's tables and the Alembic chain that makes them (:data:`MONITOR_CHAIN`).

``monitor_alerts`` the alerts and their state; ``monitor_baseline`` what the rules learned
(one row per kind, scope and value, keyed by their digest); ``monitor_cursor`` the last audit
event each evaluator read; ``monitor_deliveries`` the outbox of each alert to each sink
(pending, sent, dead), so an alert a sink cannot take is kept and retried, never dropped;
``monitor_deployed_findings`` the post-deployment findings (a vulnerability published after
an artifact was promoted, found by the re-scan after ``bastion db update``);
``monitor_run_facts``, ``monitor_artifact_facts`` and ``monitor_audit_facts`` the KPI
summaries (one row per finished run with its gate jobs; one per attested digest with its
SBOM's component counts; one per approval or deploy event with its details), brought
up to date incrementally before each KPI computation (cursors in ``monitor_cursor``).
The chain has its own version table, like the audit log's: the store imports none of it.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bastion.store import Base, SchemaChain, UTCDateTime, utcnow

__all__ = [
    "MONITOR_CHAIN",
    "MONITOR_TABLES",
    "AlertRecord",
    "ArtifactFactRecord",
    "BaselineRecord",
    "CursorRecord",
    "DeliveryRecord",
    "DeployedFindingRecord",
    "RunFactRecord",
]

MONITOR_CHAIN = SchemaChain(
    "monitor",
    Path(__file__).resolve().parent / "migrations",
    version_table="monitor_alembic_version",
)


class AlertRecord(Base):
    """One alert; texts are stored masked."""

    __tablename__ = "monitor_alerts"
    __table_args__ = (Index("ix_monitor_alerts_rule_key_state", "rule", "key", "state"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    rule: Mapped[str] = mapped_column(String(64))
    severity: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(16), index=True)
    title: Mapped[str] = mapped_column(String(512))
    detail: Mapped[str] = mapped_column(Text)
    key: Mapped[str] = mapped_column(String(512))
    repo: Mapped[str | None] = mapped_column(String(1024))
    first_seq: Mapped[int | None] = mapped_column(BigInteger)
    last_seq: Mapped[int | None] = mapped_column(BigInteger)
    occurrences: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    handled_by: Mapped[str | None] = mapped_column(String(256))
    reason: Mapped[str | None] = mapped_column(Text)


class BaselineRecord(Base):
    """One learned value: (kind, scope, value), keyed by the SHA-256 of the three."""

    __tablename__ = "monitor_baseline"

    digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(64))
    scope: Mapped[str] = mapped_column(String(1024))
    value: Mapped[str] = mapped_column(String(1024))
    learned_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CursorRecord(Base):
    """The next audit seq an evaluator reads."""

    __tablename__ = "monitor_cursor"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    next_seq: Mapped[int] = mapped_column(BigInteger)


class DeliveryRecord(Base):
    """One alert owed to one sink."""

    __tablename__ = "monitor_deliveries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    alert_id: Mapped[int] = mapped_column(
        ForeignKey("monitor_alerts.id", ondelete="CASCADE"), index=True
    )
    sink: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(16), index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_error: Mapped[str | None] = mapped_column(Text)


class DeployedFindingRecord(Base):
    """One vulnerability in a package of the artifact an environment runs (revision
    ``monitor_0002``); one row per (environment, digest, package, version, vulnerability)."""

    __tablename__ = "monitor_deployed_findings"
    __table_args__ = (
        UniqueConstraint(
            "environment", "digest", "ecosystem", "package", "version", "vulnerability",
            name="uq_monitor_deployed_findings",
        ),
    )  # fmt: skip

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    environment: Mapped[str] = mapped_column(String(256))
    digest: Mapped[str] = mapped_column(String(80), index=True)
    ecosystem: Mapped[str] = mapped_column(String(64))
    package: Mapped[str] = mapped_column(String(512))
    version: Mapped[str] = mapped_column(String(256))
    vulnerability: Mapped[str] = mapped_column(String(128))
    aliases: Mapped[str] = mapped_column(Text)
    severity: Mapped[str] = mapped_column(String(16))
    fixed_in: Mapped[str | None] = mapped_column(String(256))
    alert_id: Mapped[int | None] = mapped_column(
        ForeignKey("monitor_alerts.id", ondelete="SET NULL")
    )
    found_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class RunFactRecord(Base):
    """One finished run as the KPIs read it (revision ``monitor_0004``): its run columns and
    its gate jobs as ``,name,`` lists (``gates`` every gate job, ``scanned`` those that
    reached a verdict), so no KPI joins the jobs table again."""

    __tablename__ = "monitor_run_facts"
    __table_args__ = (
        Index("ix_monitor_run_facts_created_at", "created_at"),
        # The order of the MTTR window (next run of the same repository): read, not sorted.
        Index("ix_monitor_run_facts_repo_run_id", "repo", "run_id"),
    )

    run_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    repo: Mapped[str] = mapped_column(String(1024), index=True)
    pipeline_digest: Mapped[str] = mapped_column(String(80))
    trust: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    gates: Mapped[str] = mapped_column(Text)
    scanned: Mapped[str] = mapped_column(Text)


class ArtifactFactRecord(Base):
    """One attested artifact digest (revision ``monitor_0004``): the repository and time of
    its first attestation, whether any attestation names a CycloneDX SBOM, and, once read
    from the artifact store, its newest SBOM's components and the complete ones (a version
    and a package URL each)."""

    __tablename__ = "monitor_artifact_facts"

    digest: Mapped[str] = mapped_column(String(80), primary_key=True)
    repo: Mapped[str] = mapped_column(String(1024), index=True)
    first_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    has_sbom: Mapped[int] = mapped_column(Integer)
    components: Mapped[int | None] = mapped_column(Integer)
    complete: Mapped[int | None] = mapped_column(Integer)


class AuditFactRecord(Base):
    """One audit event of an approval or a deploy (revision ``monitor_0004``), its details
    read once from the event body: what approval latency and audit readiness query."""

    __tablename__ = "monitor_audit_facts"

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    time: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    action: Mapped[str] = mapped_column(String(128), index=True)
    subject: Mapped[str] = mapped_column(String(1024))
    environment: Mapped[str] = mapped_column(String(256))
    run_id: Mapped[int | None] = mapped_column(Integer)
    digest: Mapped[str | None] = mapped_column(String(80))
    artifacts: Mapped[str | None] = mapped_column(Text)


MONITOR_TABLES = frozenset(
    str(record.__tablename__)
    for record in (
        AlertRecord,
        BaselineRecord,
        CursorRecord,
        DeliveryRecord,
        DeployedFindingRecord,
        RunFactRecord,
        ArtifactFactRecord,
        AuditFactRecord,
    )
)
