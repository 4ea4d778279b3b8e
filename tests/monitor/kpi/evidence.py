"""Audit events, attestations and SBOMs for the KPI tests of approvals and deploys."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from bastion.audit import AuditEvent, AuditLog, Outcome
from bastion.store import AttestationRecord, Database
from bastion.supplychain import (
    CYCLONEDX_PREDICATE,
    AttestationKind,
    Digest,
    LocalBlobStore,
    sign_payload,
)
from tests.monitor.seed import DAY0


def audit(
    log: AuditLog,
    action: str,
    subject: str,
    minutes: float,
    outcome: Outcome = Outcome.SUCCESS,
    **details: Any,
) -> int:
    """Append one event ``minutes`` after DAY0; its seq."""
    at = DAY0 + timedelta(minutes=minutes)
    entry = log.append(AuditEvent("bastion", action, subject, outcome, details, at))
    return entry.seq


def attest(
    db: Database,
    run_id: int,
    digest: str,
    *,
    repo: str = "acme",
    sbom: bool = True,
    provenance: bool = True,
    signed: bool = True,
) -> None:
    """One attestation row of ``digest`` built by ``run_id``."""
    with db.session() as session:
        session.add(
            AttestationRecord(
                run_id=run_id, job="build", repo=repo, commit="c" * 40, digest=digest,
                name="app.whl", size=1, media_type="application/zip", bundle="b1",
                cyclonedx_ref="sbom.cdx.json" if sbom else "", spdx_ref="",
                provenance_ref="prov.json" if provenance else "",
                signed_by="key-1" if signed else None,
                unsigned_reason=None if signed else "no key", reproducible="unknown",
                created_at=DAY0,
            )
        )  # fmt: skip


def store_sbom(store: LocalBlobStore, components: list[dict[str, str]]) -> Digest:
    """An artifact in ``store`` with a CycloneDX SBOM listing ``components``; its digest."""
    record = store.put_bytes(json.dumps(components).encode(), name="a", media_type="text/plain")
    statement = {
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [{"name": "a", "digest": {"sha256": record.digest.split(":", 1)[1]}}],
        "predicateType": CYCLONEDX_PREDICATE,
        "predicate": {"bomFormat": "CycloneDX", "specVersion": "1.6", "components": components},
    }
    envelope = sign_payload(json.dumps(statement).encode(), None).to_json()
    bundle = "20260302T000000Z-0123456789abcdef"
    store.put_attestation(record.digest, bundle, AttestationKind.CYCLONEDX, envelope)
    return record.digest
