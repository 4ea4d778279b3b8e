"""The one call the engine makes after a build job: store, describe and attest artifacts.

Example::

    store = LocalBlobStore(home / "artifacts")
    signer = load_local_signer(home, create=True).signer
    attested = attest_artifacts(store, [Path("dist/app.whl")], context, signer)

Signing follows the trust model: runs of trust ``trusted``, ``release`` and ``local`` sign
(and must be given a signer); ``untrusted``, ``internal`` and ``dirty`` runs never sign,
whatever signer is passed, and their provenance records ``signed: false``.
"""

from __future__ import annotations

import hashlib
import mimetypes
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC
from pathlib import Path
from typing import Any

from securesystemslib.signer import Signer  # type: ignore[attr-defined]

from bastion.errors import SigningError
from bastion.supplychain.context import BuildContext
from bastion.supplychain.dsse import Envelope, sign_payload
from bastion.supplychain.interface import ArtifactRecord, AttestationKind, BlobStore
from bastion.supplychain.inventory import Package, lockfile_packages
from bastion.supplychain.provenance import provenance_predicate
from bastion.supplychain.sbom import build_sboms, collect_packages
from bastion.supplychain.statement import (
    CYCLONEDX_PREDICATE,
    SLSA_PROVENANCE_V1,
    SPDX_PREDICATE,
    Subject,
    encode_statement,
)

__all__ = [
    "IMAGE_MANIFEST_MEDIA_TYPE",
    "AttestedArtifact",
    "attest_artifacts",
    "attest_image",
    "bundle_name",
    "media_type_of",
]

IMAGE_MANIFEST_MEDIA_TYPE = "application/vnd.oci.image.manifest.v1+json"

_MEDIA_TYPES = {
    ".whl": "application/zip",
    ".tar": "application/x-tar",
    ".oci": "application/x-tar",
}


def media_type_of(path: Path) -> str:
    """A media type for the artifact at ``path`` (application/octet-stream when unknown)."""
    if path.suffix in _MEDIA_TYPES:
        return _MEDIA_TYPES[path.suffix]
    guessed, encoding = mimetypes.guess_type(path.name)
    if encoding == "gzip":
        return "application/gzip"
    return guessed or "application/octet-stream"


@dataclass(frozen=True)
class AttestedArtifact:
    """A stored artifact and its three envelopes (signed unless the run's trust forbids)."""

    record: ArtifactRecord
    bundle: str
    provenance: Envelope
    cyclonedx: Envelope
    spdx: Envelope

    @property
    def signed(self) -> bool:
        """Whether the envelopes carry a signature."""
        return bool(self.provenance.signatures)


def bundle_name(context: BuildContext, provenance_payload: bytes) -> str:
    """The bundle a build's attestations go in: build time, then the provenance's hash."""
    stamp = context.finished.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    return f"{stamp}-{hashlib.sha256(provenance_payload).hexdigest()[:16]}"


def _envelope(
    subject: Subject, predicate_type: str, predicate: Any, signer: Signer | None
) -> Envelope:
    return sign_payload(encode_statement([subject], predicate_type, predicate), signer)


def _attest_one(
    store: BlobStore, path: Path, context: BuildContext, signer: Signer | None
) -> AttestedArtifact:
    record = store.put_file(path, name=path.name, media_type=media_type_of(path))
    return _attest_record(store, record, collect_packages(path, context), context, signer)


def _attest_record(
    store: BlobStore,
    record: ArtifactRecord,
    packages: list[Package],
    context: BuildContext,
    signer: Signer | None,
) -> AttestedArtifact:
    subject = Subject(record.name, record.digest)
    sboms = build_sboms(record, packages, timestamp=context.finished)
    predicate = provenance_predicate(context, signed=signer is not None, subject=str(record.digest))
    provenance = _envelope(subject, SLSA_PROVENANCE_V1, predicate, signer)
    bundle = bundle_name(context, provenance.payload)
    attested = AttestedArtifact(
        record=record,
        bundle=bundle,
        provenance=provenance,
        cyclonedx=_envelope(subject, CYCLONEDX_PREDICATE, sboms.cyclonedx, signer),
        spdx=_envelope(subject, SPDX_PREDICATE, sboms.spdx, signer),
    )
    digest = record.digest
    store.put_attestation(digest, bundle, AttestationKind.CYCLONEDX, attested.cyclonedx.to_json())
    store.put_attestation(digest, bundle, AttestationKind.SPDX, attested.spdx.to_json())
    # Provenance last: its presence says the bundle is complete.
    store.put_attestation(digest, bundle, AttestationKind.PROVENANCE, provenance.to_json())
    return attested


def attest_artifacts(
    store: BlobStore,
    files: Sequence[Path],
    context: BuildContext,
    signer: Signer | None,
) -> list[AttestedArtifact]:
    """Store each file by digest, write its SBOMs and provenance, sign per the trust model.

    Raises SigningError when the run's trust requires a signature and ``signer`` is None,
    ArtifactStoreError when a file cannot be stored, ArchiveLimitError when an archive
    artifact is malformed or too large to inventory.
    """
    if context.trust.signs and signer is None:
        raise SigningError(
            f"a {context.trust.value} run must sign its artifacts but no signer was given",
            hint="configure a signing key ('bastion keys generate')",
        )
    effective = signer if context.trust.signs else None
    return [_attest_one(store, path, context, effective) for path in files]


def attest_image(
    store: BlobStore,
    manifest: bytes,
    name: str,
    packages: Sequence[Package],
    context: BuildContext,
    signer: Signer | None,
) -> AttestedArtifact:
    """Attest a container image like any artifact: its subject is the manifest's digest.

    The manifest's exact bytes are stored (``name`` is the image reference); ``packages``
    are what the image holds (its layers and what the image gate read from them), listed
    in both SBOMs beside the build's own dependencies. Signing follows the trust model as in
    :func:`attest_artifacts`.
    """
    if context.trust.signs and signer is None:
        raise SigningError(
            f"a {context.trust.value} run must sign its artifacts but no signer was given",
            hint="configure a signing key ('bastion keys generate')",
        )
    record = store.put_bytes(manifest, name=name, media_type=IMAGE_MANIFEST_MEDIA_TYPE)
    every = [*lockfile_packages(context.dependencies), *packages]
    return _attest_record(store, record, every, context, signer if context.trust.signs else None)
