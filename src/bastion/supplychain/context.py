"""What the engine tells the supply chain about a build job: :class:`BuildContext`."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from bastion.errors import UsageError
from bastion.trust import Trust

__all__ = ["BuildContext", "GateResult", "ResolvedDependency"]


@dataclass(frozen=True)
class ResolvedDependency:
    """A dependency the build resolved: name, version, package URL, optional sha256 hex."""

    name: str
    version: str
    purl: str | None = None
    sha256: str | None = None
    license: str | None = None


@dataclass(frozen=True)
class GateResult:
    """One gate's outcome in the run: gate name, decision (pass|block|...), finding count."""

    gate: str
    decision: str
    findings: int

    @property
    def passed(self) -> bool:
        """Whether this gate let the run through."""
        return self.decision == "pass"


def _require_aware(name: str, value: datetime) -> None:
    if value.tzinfo is None:
        raise UsageError(f"build context: {name} must be timezone-aware")


@dataclass(frozen=True)
class BuildContext:
    """Everything the provenance of one build job records.

    ``pipeline_sha256`` is the hex sha256 of the pipeline file's bytes at ``commit``;
    ``repository`` is a URL or a local path; ``site_packages`` lists the build
    environment's package directories inventoried into the SBOM. ``source_date_epoch`` is
    the ``SOURCE_DATE_EPOCH`` the job's steps were given (its workspace's mtimes clamped to
    it), None when unknown; ``earlier_digests`` are the artifacts earlier builds of this job
    at this commit produced: the same bytes again make the build verified reproducible.
    """

    builder_id: str
    build_type: str
    pipeline_path: str
    pipeline_sha256: str
    job: str
    repository: str
    commit: str
    ref: str
    trigger: str
    trust: Trust
    started: datetime
    finished: datetime
    run_id: str
    dependencies: tuple[ResolvedDependency, ...] = ()
    gates: tuple[GateResult, ...] = ()
    site_packages: tuple[str, ...] = field(default=())
    source_date_epoch: int | None = None
    earlier_digests: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        _require_aware("started", self.started)
        _require_aware("finished", self.finished)
        if self.finished < self.started:
            raise UsageError("build context: finished is before started")
        for name in ("builder_id", "build_type", "job", "repository", "commit", "run_id"):
            if not getattr(self, name):
                raise UsageError(f"build context: {name} is empty")
        if self.source_date_epoch is not None and self.source_date_epoch < 0:
            raise UsageError("build context: source_date_epoch is negative")

    def reproduced(self, digest: str) -> bool:
        """Whether an earlier build of this job at this commit made the very same bytes."""
        return digest in self.earlier_digests
