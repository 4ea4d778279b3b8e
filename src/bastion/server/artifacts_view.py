"""Artifacts as the server shows them: those the visible runs' jobs recorded
(``JobRecord.result["artifacts"]``), described from the content-addressed store with their
attestations (SLSA provenance, CycloneDX and SPDX SBOMs), and verified on request with the
same checks as ``bastion verify``."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from bastion.engine import BUILDER_ID
from bastion.errors import BastionError
from bastion.server.errors import BadRequestError, NotFoundError
from bastion.server.resources import translate
from bastion.store import Database, RunRecord
from bastion.supplychain import (
    ArtifactRecord,
    ArtifactVerificationReport,
    AttestationKind,
    BlobStore,
    Digest,
    Expectations,
    TrustedKeys,
    parse_digest,
    verify_artifact,
)

__all__ = ["Produced", "attestation", "describe", "find", "produced", "verify"]

_RUNS_SCANNED = 500


@dataclass(frozen=True)
class Produced:
    """An artifact a run's job recorded: where it came from."""

    digest: Digest
    name: str
    repository: str
    run_id: int
    job: str


def produced(db: Database, repositories: Collection[str] | None) -> list[Produced]:
    """Artifacts of the newest runs of ``repositories`` (None: all), newest first, each
    digest once (its newest producer)."""
    query = (
        select(RunRecord)
        .order_by(RunRecord.id.desc())
        .limit(_RUNS_SCANNED)
        .options(selectinload(RunRecord.jobs))
    )
    if repositories is not None:
        query = query.where(RunRecord.repo.in_(list(repositories)))
    found: dict[str, Produced] = {}
    with db.session() as session:
        for run in session.scalars(query):
            for job in run.jobs:
                for item in (job.result or {}).get("artifacts") or []:
                    digest = item.get("digest") if isinstance(item, Mapping) else None
                    if isinstance(digest, str) and digest not in found:
                        name = str(item.get("name", ""))
                        found[digest] = Produced(Digest(digest), name, run.repo, run.id, job.name)
    return list(found.values())


def find(db: Database, repositories: Collection[str] | None, digest: str) -> Produced:
    """The producer of ``digest`` among the visible runs; NotFoundError otherwise (an
    artifact of a repository the caller may not see is not found, not forbidden)."""
    try:
        wanted = parse_digest(digest)
    except BastionError as exc:
        raise translate(exc, BadRequestError) from exc
    for item in produced(db, repositories):
        if item.digest == wanted:
            return item
    raise NotFoundError(f"no artifact {wanted}")


def describe(store: BlobStore, digest: Digest) -> tuple[ArtifactRecord | None, list[str]]:
    """The stored record (None if the bytes are not in this store) and its bundles."""
    try:
        if not store.has(digest):
            return None, []
        return store.record(digest), store.bundles(digest)
    except BastionError as exc:
        raise translate(exc) from exc


def attestation(store: BlobStore, digest: Digest, bundle: str, kind: str) -> bytes:
    """One DSSE envelope (provenance, CycloneDX or SPDX SBOM) of a bundle; NotFoundError."""
    try:
        which = AttestationKind(kind)
    except ValueError as exc:
        raise NotFoundError(f"no attestation kind {kind!r}") from exc
    try:
        if bundle not in store.bundles(digest):
            raise NotFoundError(f"no attestation bundle {bundle!r} for {digest}")
        envelope = store.get_attestation(digest, bundle, which)
    except BastionError as exc:
        raise translate(exc) from exc
    if envelope is None:
        raise NotFoundError(f"bundle {bundle} has no {which.value} attestation")
    return envelope


def verify(store: BlobStore, keys: TrustedKeys, item: Produced) -> ArtifactVerificationReport:
    """``bastion verify``'s checks, expecting Bastion's builder and the producing repository;
    a build of trust ``local`` fails as it would before a deployment (no ``--allow-local``)."""
    expect = Expectations(builder_id=BUILDER_ID, repository=item.repository)
    try:
        return verify_artifact(store, item.digest, keys.entries(), expect)
    except BastionError as exc:
        raise translate(exc) from exc
