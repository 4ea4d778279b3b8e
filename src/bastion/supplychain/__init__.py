"""Bastion's supply chain: artifact store, SBOMs, SLSA provenance, DSSE signatures, verify.

Example::

    from pathlib import Path
    from bastion.supplychain import (
        Expectations, LocalBlobStore, TrustedKeys, attest_artifacts, load_local_signer,
        verify_artifact,
    )

    store = LocalBlobStore(home / "artifacts")
    key = load_local_signer(home, create=True)          # ECDSA P-256, made on first use
    [done] = attest_artifacts(store, [Path("dist/app.whl")], context, key.signer)
    report = verify_artifact(
        store, done.record.digest, TrustedKeys(home).entries(),
        Expectations(builder_id=context.builder_id, repository=context.repository),
    )
    assert report.ok
"""

from __future__ import annotations

from bastion.supplychain.attest import (
    AttestedArtifact,
    attest_artifacts,
    attest_image,
    media_type_of,
)
from bastion.supplychain.context import BuildContext, GateResult, ResolvedDependency
from bastion.supplychain.cosign import (
    CosignArtifact,
    attestation_artifact,
    cosign_tag,
    signature_artifact,
)
from bastion.supplychain.dsse import INTOTO_PAYLOAD_TYPE, Envelope, pae, sign_payload
from bastion.supplychain.interface import (
    ArtifactRecord,
    ArtifactStoreError,
    AttestationKind,
    BlobStore,
    CorruptBlobError,
    Digest,
    Promotion,
    digest_bytes,
    digest_file,
    parse_digest,
)
from bastion.supplychain.inventory import Origin, Package, PackageKind
from bastion.supplychain.keys import (
    KeyAlgorithm,
    LocalKey,
    TrustedKey,
    TrustedKeys,
    fingerprint,
    generate_local_key,
    load_local_signer,
    local_key_paths,
    rotate_local_key,
)
from bastion.supplychain.statement import (
    CYCLONEDX_PREDICATE,
    SLSA_PROVENANCE_V1,
    SPDX_PREDICATE,
)
from bastion.supplychain.store_local import LocalBlobStore
from bastion.supplychain.verify import (
    ArtifactVerificationReport,
    Check,
    Expectations,
    verify_artifact,
)

__all__ = [
    "CYCLONEDX_PREDICATE",
    "INTOTO_PAYLOAD_TYPE",
    "SLSA_PROVENANCE_V1",
    "SPDX_PREDICATE",
    "ArtifactRecord",
    "ArtifactStoreError",
    "ArtifactVerificationReport",
    "AttestationKind",
    "AttestedArtifact",
    "BlobStore",
    "BuildContext",
    "Check",
    "CorruptBlobError",
    "CosignArtifact",
    "Digest",
    "Envelope",
    "Expectations",
    "GateResult",
    "KeyAlgorithm",
    "LocalBlobStore",
    "LocalKey",
    "Origin",
    "Package",
    "PackageKind",
    "Promotion",
    "ResolvedDependency",
    "TrustedKey",
    "TrustedKeys",
    "attest_artifacts",
    "attest_image",
    "attestation_artifact",
    "cosign_tag",
    "digest_bytes",
    "digest_file",
    "fingerprint",
    "generate_local_key",
    "load_local_signer",
    "local_key_paths",
    "media_type_of",
    "pae",
    "parse_digest",
    "rotate_local_key",
    "sign_payload",
    "signature_artifact",
    "verify_artifact",
]
