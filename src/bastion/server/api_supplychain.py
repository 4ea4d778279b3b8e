"""Artifacts (digest, SBOMs, provenance, verification) and the trusted signing keys."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request, Response

from bastion.errors import BastionError
from bastion.server import artifacts_view
from bastion.server.auth import authorize
from bastion.server.context import context_of
from bastion.server.permissions import Permission
from bastion.server.principal import Principal
from bastion.server.resources import translate
from bastion.server.routing import guarded
from bastion.server.schemas_resources import ArtifactOut, CheckOut, KeyOut, VerifyOut
from bastion.supplychain import AttestationKind, TrustedKey

__all__ = ["artifact_out", "router", "trusted_keys"]

router = APIRouter(prefix="/api")
ArtifactsReader = Annotated[Principal, Depends(authorize(Permission.ARTIFACTS_READ))]
KeysReader = Annotated[Principal, Depends(authorize(Permission.KEYS_READ))]
DigestPath = Annotated[str, Path(max_length=80)]
_DSSE = "application/vnd.dsse.envelope.v1+json"


def artifact_out(request: Request, item: artifacts_view.Produced) -> ArtifactOut:
    """The artifact as stored, with the attestations of its newest bundle."""
    store = context_of(request).services.resources.need_artifacts()
    stored, bundles = artifacts_view.describe(store, item.digest)
    kinds = [
        kind.value
        for kind in AttestationKind
        if bundles and store.get_attestation(item.digest, bundles[0], kind) is not None
    ]
    return ArtifactOut(
        digest=item.digest,
        name=stored.name if stored else item.name,
        size=stored.size if stored else 0,
        media_type=stored.media_type if stored else "",
        created=stored.created if stored else None,
        repository=item.repository,
        run_id=item.run_id,
        job=item.job,
        bundles=bundles,
        attestations=kinds,
    )


def trusted_keys(request: Request) -> list[TrustedKey]:
    """Every key ``bastion verify`` knows, revoked ones included."""
    registry = context_of(request).services.resources.need_trusted_keys()
    try:
        return registry.entries()
    except BastionError as exc:
        raise translate(exc) from exc


@router.get("/artifacts", **guarded(Permission.ARTIFACTS_READ))
def artifacts(request: Request, principal: ArtifactsReader) -> list[ArtifactOut]:
    """Artifacts of the newest runs, each digest once."""
    db = context_of(request).services.db
    found = artifacts_view.produced(db, principal.visible(Permission.ARTIFACTS_READ))
    return [artifact_out(request, item) for item in found]


@router.get("/artifacts/{digest}", **guarded(Permission.ARTIFACTS_READ))
def artifact(request: Request, digest: DigestPath, principal: ArtifactsReader) -> ArtifactOut:
    """One artifact by ``sha256:`` digest."""
    db = context_of(request).services.db
    item = artifacts_view.find(db, principal.visible(Permission.ARTIFACTS_READ), digest)
    return artifact_out(request, item)


@router.get("/artifacts/{digest}/verify", **guarded(Permission.ARTIFACTS_READ))
def verify(request: Request, digest: DigestPath, principal: ArtifactsReader) -> VerifyOut:
    """``bastion verify``'s checks: signature, provenance, SBOM and the deploy policy."""
    ctx = context_of(request)
    item = artifacts_view.find(
        ctx.services.db, principal.visible(Permission.ARTIFACTS_READ), digest
    )
    resources = ctx.services.resources
    report = artifacts_view.verify(resources.need_artifacts(), resources.need_trusted_keys(), item)
    return VerifyOut(
        digest=item.digest,
        ok=report.ok,
        bundle=report.bundle,
        bundles_checked=report.bundles_checked,
        checks=[
            CheckOut(name=c.name, ok=c.ok, reason=c.reason, detail=c.detail) for c in report.checks
        ],
    )


@router.get(
    "/artifacts/{digest}/attestations/{bundle}/{kind}", **guarded(Permission.ARTIFACTS_READ)
)
def attestation(
    request: Request,
    digest: DigestPath,
    bundle: Annotated[str, Path(max_length=128)],
    kind: Annotated[str, Path(max_length=32)],
    principal: ArtifactsReader,
) -> Response:
    """One DSSE envelope (``provenance``, ``cyclonedx`` or ``spdx``), byte for byte."""
    ctx = context_of(request)
    item = artifacts_view.find(
        ctx.services.db, principal.visible(Permission.ARTIFACTS_READ), digest
    )
    store = ctx.services.resources.need_artifacts()
    envelope = artifacts_view.attestation(store, item.digest, bundle, kind)
    return Response(envelope, media_type=_DSSE)


@router.get("/keys", **guarded(Permission.KEYS_READ))
def keys(request: Request, principal: KeysReader) -> list[KeyOut]:
    """The public signing keys ``bastion verify`` trusts, with fingerprints."""
    return [
        KeyOut(
            keyid=k.keyid,
            fingerprint=k.fingerprint,
            label=k.label,
            added=k.added,
            revoked_at=k.revoked_at,
            compromised=k.compromised,
            public_pem=k.public_pem,
        )
        for k in trusted_keys(request)
    ]
