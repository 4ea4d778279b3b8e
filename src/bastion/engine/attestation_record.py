"""A run's attestations as data: what each job attested, kept on the run record.

When a job's artifacts are attested (:class:`~bastion.engine.attestation.JobAttester`),
one :class:`ArtifactAttestation` per artifact is written to the ``attestations`` table:
digest, name, size, media type, where its SBOMs (CycloneDX, SPDX) and provenance sit in the
artifact store, the key that signed it or why nothing did, and whether an earlier build of
the same job at the same commit made the same bytes. ``bastion runs show`` lists them.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from bastion.engine.model import RunId
from bastion.store import AttestationRecord, Database, RunRecord
from bastion.supplychain import AttestationKind, AttestedArtifact, LocalBlobStore
from bastion.trust import RunContext, Trust

__all__ = [
    "ArtifactAttestation",
    "Reproducibility",
    "attestation_of_row",
    "earlier_digests",
    "run_attestations",
    "save_attestations",
]


class Reproducibility(enum.StrEnum):
    """Whether a build is known to be reproducible (its provenance says the same)."""

    VERIFIED = "verified"
    UNVERIFIED = "unverified"


@dataclass(frozen=True, slots=True)
class ArtifactAttestation:
    """One attested artifact of one job; signed by ``signed_by`` (a key id) or unsigned
    for ``unsigned_reason``, never both, never neither."""

    job: str
    digest: str
    name: str
    size: int
    media_type: str
    bundle: str
    cyclonedx_ref: str
    spdx_ref: str
    provenance_ref: str
    signed_by: str | None
    unsigned_reason: str | None
    reproducible: Reproducibility

    def __post_init__(self) -> None:
        if (self.signed_by is None) == (self.unsigned_reason is None):
            raise ValueError("an attestation is signed by a key or unsigned for a reason")

    @property
    def signature(self) -> str:
        """The signing key id, or ``unsigned (reason)``."""
        return self.signed_by or f"unsigned ({self.unsigned_reason})"

    @classmethod
    def of(
        cls,
        job: str,
        attested: AttestedArtifact,
        store: LocalBlobStore,
        *,
        trust: str,
        reproducible: Reproducibility,
    ) -> ArtifactAttestation:
        """What ``attested`` (stored in ``store`` by a run of ``trust``) is, as a record."""
        record, signatures = attested.record, attested.provenance.signatures

        def ref(kind: AttestationKind) -> str:
            return store.attestation_ref(record.digest, attested.bundle, kind)

        return cls(
            job=job,
            digest=str(record.digest),
            name=record.name,
            size=record.size,
            media_type=record.media_type,
            bundle=attested.bundle,
            cyclonedx_ref=ref(AttestationKind.CYCLONEDX),
            spdx_ref=ref(AttestationKind.SPDX),
            provenance_ref=ref(AttestationKind.PROVENANCE),
            signed_by=signatures[0].keyid if signatures else None,
            # The trust model is the only reason a run does not sign (attest_artifacts).
            unsigned_reason=None if signatures else f"trust '{trust}' does not sign",
            reproducible=reproducible,
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (``bastion runs show --json``)."""
        return {
            "job": self.job,
            "digest": self.digest,
            "name": self.name,
            "size": self.size,
            "media_type": self.media_type,
            "sbom": {"cyclonedx": self.cyclonedx_ref, "spdx": self.spdx_ref},
            "provenance": self.provenance_ref,
            "signed_by": self.signed_by,
            "unsigned_reason": self.unsigned_reason,
            "reproducible": self.reproducible.value,
        }


def attestation_of_row(row: AttestationRecord) -> ArtifactAttestation:
    """The attestation a stored row holds."""
    return ArtifactAttestation(
        job=row.job,
        digest=row.digest,
        name=row.name,
        size=row.size,
        media_type=row.media_type,
        bundle=row.bundle,
        cyclonedx_ref=row.cyclonedx_ref,
        spdx_ref=row.spdx_ref,
        provenance_ref=row.provenance_ref,
        signed_by=row.signed_by,
        unsigned_reason=row.unsigned_reason,
        reproducible=Reproducibility(row.reproducible),
    )


def save_attestations(
    db: Database, run_id: RunId, context: RunContext, items: Sequence[ArtifactAttestation]
) -> None:
    """Put ``items`` on run ``run_id``'s record, committed now (a later job may rely on it)."""
    with db.session() as session:
        for item in items:
            session.add(
                AttestationRecord(
                    run_id=run_id,
                    job=item.job,
                    repo=context.repo,
                    commit=context.commit,
                    digest=item.digest,
                    name=item.name,
                    size=item.size,
                    media_type=item.media_type,
                    bundle=item.bundle,
                    cyclonedx_ref=item.cyclonedx_ref,
                    spdx_ref=item.spdx_ref,
                    provenance_ref=item.provenance_ref,
                    signed_by=item.signed_by,
                    unsigned_reason=item.unsigned_reason,
                    reproducible=item.reproducible.value,
                )
            )


def run_attestations(db: Database, run_id: int) -> list[ArtifactAttestation]:
    """Run ``run_id``'s attestations in the order they were made."""
    with db.session() as session:
        rows = session.scalars(
            select(AttestationRecord)
            .where(AttestationRecord.run_id == run_id)
            .order_by(AttestationRecord.id)
        )
        return [attestation_of_row(row) for row in rows]


def earlier_digests(db: Database, context: RunContext, job: str, run_id: RunId) -> frozenset[str]:
    """Digests earlier runs' job ``job`` attested at this run's commit of this repository.

    Only clean trees count, on both sides: an uncommitted (``dirty``) tree is not the
    commit, so matching bytes would prove nothing about building that commit.
    """
    if context.commit is None or context.trust is Trust.DIRTY:
        return frozenset()
    with db.session() as session:
        digests = session.scalars(
            select(AttestationRecord.digest)
            .join(RunRecord, RunRecord.id == AttestationRecord.run_id)
            .where(
                AttestationRecord.repo == context.repo,
                AttestationRecord.job == job,
                AttestationRecord.commit == context.commit,
                AttestationRecord.run_id != run_id,
                RunRecord.trust != Trust.DIRTY.value,
            )
        )
        return frozenset(digests)
