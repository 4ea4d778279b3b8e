"""Runs, jobs and steps: the record of what the engine did."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from bastion.store.base import Base, UTCDateTime, utcnow

__all__ = ["AttestationRecord", "FindingRecord", "JobRecord", "RunRecord", "StepRecord"]


class RunRecord(Base):
    """One run of a pipeline over one commit."""

    __tablename__ = "runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    repo: Mapped[str] = mapped_column(String(1024))
    commit: Mapped[str | None] = mapped_column(String(64))
    ref: Mapped[str | None] = mapped_column(String(1024))
    event: Mapped[str] = mapped_column(String(32))
    trust: Mapped[str] = mapped_column(String(32))
    pipeline_path: Mapped[str] = mapped_column(String(1024))
    pipeline_digest: Mapped[str] = mapped_column(String(80))
    status: Mapped[str] = mapped_column(String(16), index=True)
    reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    record_batch: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    """The last batch of the recorder's changes committed (revision 0013_record_batches)."""
    jobs: Mapped[list[JobRecord]] = relationship(
        back_populates="run", cascade="all, delete-orphan", order_by="JobRecord.id"
    )
    attestations: Mapped[list[AttestationRecord]] = relationship(
        back_populates="run", cascade="all, delete-orphan", order_by="AttestationRecord.id"
    )


class JobRecord(Base):
    """One job of a run; ``result`` holds a gate's decision or a build's artifacts."""

    __tablename__ = "jobs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(256))
    kind: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(Text)
    log_path: Mapped[str | None] = mapped_column(String(2048))
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    run: Mapped[RunRecord] = relationship(back_populates="jobs")
    steps: Mapped[list[StepRecord]] = relationship(
        back_populates="job", cascade="all, delete-orphan", order_by="StepRecord.index"
    )


class StepRecord(Base):
    """One step of a job."""

    __tablename__ = "steps"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), index=True)
    index: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(512))
    status: Mapped[str] = mapped_column(String(16))
    exit_code: Mapped[int | None] = mapped_column(Integer)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    job: Mapped[JobRecord] = relationship(back_populates="steps")


class FindingRecord(Base):
    """One finding a gate job of a run was judged on (revision ``0006_findings``).

    One row per finding, suppressed ones too, written when the gate job ends; plain columns
    only, so the server's findings page and ``bastion runs show ID --findings`` read the
    table as is. ``job`` is the job's name in the run, ``gate`` the gate that reported it,
    ``severity`` critical/high/unknown/medium/low/info, ``line`` None when the finding has
    none, ``new`` False when the baseline already had it, ``suppressed_by`` who accepted it
    (and until when, or ``inline in the source (path:line)``) and ``suppressed_reason`` why.
    """

    __tablename__ = "findings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), index=True)
    job: Mapped[str] = mapped_column(String(256))
    gate: Mapped[str] = mapped_column(String(64))
    rule_id: Mapped[str] = mapped_column(String(512))
    severity: Mapped[str] = mapped_column(String(16))
    path: Mapped[str] = mapped_column(String(2048))
    line: Mapped[int | None] = mapped_column(Integer)
    message: Mapped[str] = mapped_column(Text)
    fingerprint: Mapped[str] = mapped_column(String(128), index=True)
    new: Mapped[bool] = mapped_column(Boolean)
    suppressed: Mapped[bool] = mapped_column(Boolean)
    suppressed_by: Mapped[str | None] = mapped_column(Text)
    suppressed_reason: Mapped[str | None] = mapped_column(Text)


class AttestationRecord(Base):
    """One artifact a job of a run attested: what it is, where its SBOMs and provenance are
    in the artifact store, and who signed (a key id) or why nobody did.

    ``repo``, ``commit`` and ``job`` are kept beside the digest so a later build of the same
    job at the same commit can be compared with this one (reproducibility).
    """

    __tablename__ = "attestations"
    # The reproducibility question: earlier builds of this job of this repo at this commit.
    __table_args__ = (Index("ix_attestations_repo_job_commit", "repo", "job", "commit"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), index=True)
    job: Mapped[str] = mapped_column(String(256))
    repo: Mapped[str] = mapped_column(String(1024))
    commit: Mapped[str | None] = mapped_column(String(64))
    digest: Mapped[str] = mapped_column(String(80), index=True)
    name: Mapped[str] = mapped_column(String(1024))
    size: Mapped[int] = mapped_column(BigInteger)
    media_type: Mapped[str] = mapped_column(String(256))
    bundle: Mapped[str] = mapped_column(String(128))
    cyclonedx_ref: Mapped[str] = mapped_column(String(2048))
    spdx_ref: Mapped[str] = mapped_column(String(2048))
    provenance_ref: Mapped[str] = mapped_column(String(2048))
    signed_by: Mapped[str | None] = mapped_column(String(256))
    unsigned_reason: Mapped[str | None] = mapped_column(Text)
    reproducible: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    run: Mapped[RunRecord] = relationship(back_populates="attestations")
