"""Artifacts passed along ``needs:``: attested as their job ends, received by its dependents.

The scheduler calls :meth:`ArtifactHandoff.after_job` on its own thread when a job passes,
before it submits any job that needs it. The job's staged artifacts are then stored by
digest, described (SBOM) and attested (provenance, signed where the trust level signs), and
their ``artifact.stored`` / ``signature.created`` audit events recorded. A job that needs it
gets :meth:`ArtifactHandoff.received_by`: each artifact at its original path, read from the
store and checked against the stored digest on the way in (``bastion.executors``), so a
``publish`` job publishes the bytes ``build`` attested, never a rebuild.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime

from bastion.audit import Action, AuditEvent
from bastion.engine.attestation import JobAttester
from bastion.engine.model import GateVerdict, RunId
from bastion.errors import BastionError
from bastion.executors import JobOutcome, JobState, ReceivedArtifact
from bastion.pipeline import Plan
from bastion.supplychain import AttestedArtifact

__all__ = ["ArtifactHandoff", "artifact_events"]


class ArtifactHandoff:
    """Attests each job's artifacts when it passes and hands them to the jobs needing it."""

    def __init__(
        self,
        *,
        plan: Plan,
        attester: JobAttester,
        run_id: RunId,
        record: Callable[[Sequence[AuditEvent]], None],
    ) -> None:
        self.plan = plan
        self.attester = attester
        self.run_id = run_id
        self._record = record
        self._made: dict[str, list[tuple[str, AttestedArtifact]]] = {}
        self.attested: list[AttestedArtifact] = []

    def after_job(
        self, job: str, outcome: JobOutcome, verdicts: Mapping[str, GateVerdict]
    ) -> JobOutcome:
        """Attest the passed job's artifacts; an error outcome if that cannot be done."""
        if not outcome.artifacts:
            return outcome
        try:
            attested = self.attester.attest(job, outcome.artifacts, verdicts)
        except BastionError as exc:
            # Fail closed: without attested artifacts, no job may start that needs them.
            reason = f"its artifacts could not be attested: {exc.diagnostics()}"
            return replace(outcome, status=JobState.ERROR, reason=reason)
        self._made[job] = list(zip(outcome.artifacts, attested, strict=True))
        self.attested += attested
        self._record(artifact_events(attested, self.run_id))
        return outcome

    def received_by(self, job: str) -> tuple[ReceivedArtifact, ...]:
        """The artifacts of the jobs ``job`` needs directly, with their stored digests."""
        received: list[ReceivedArtifact] = []
        for need in self.plan.needs(job):
            for relative, item in self._made.get(need, ()):
                digest = item.record.digest
                source = str(self.attester.store.blob_path(digest))
                received.append(ReceivedArtifact(relative, source, str(digest), need))
        return tuple(received)


def artifact_events(attested: Sequence[AttestedArtifact], run_id: int) -> list[AuditEvent]:
    """``artifact.stored`` (and ``signature.created``) events for the audit log."""
    events: list[AuditEvent] = []
    now = datetime.now(UTC)  # when stored, as the job ended: before any dependent started
    for item in attested:
        digest = str(item.record.digest)
        details = {"name": item.record.name, "size": item.record.size, "run": run_id}
        stored = AuditEvent(
            "bastion", Action.ARTIFACT_STORED.value, digest, details=details, time=now
        )
        events.append(stored)
        if item.signed:
            events.append(replace(stored, action=Action.SIGNATURE_CREATED.value))
    return events
