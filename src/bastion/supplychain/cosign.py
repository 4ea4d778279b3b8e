"""cosign's tag scheme: an image's signature and attestations as OCI artifacts beside it.

    >>> cosign_tag("sha256:" + "ab" * 32, "sig")
    'sha256-abababababababababababababababababababababababababababababababab.sig'

``sha256-<hex>.sig`` holds one layer per signature: a "simple signing" payload naming the
image's manifest digest, the signature (base64, over the payload's exact bytes) in the
``dev.cosignproject.cosign/signature`` annotation. ``sha256-<hex>.att`` holds one DSSE
envelope per layer (``application/vnd.dsse.envelope.v1+json``) with its ``predicateType``
annotation: here the SLSA provenance and both SBOMs, so cosign-style verifiers
(``cosign verify --key``, ``cosign verify-attestation --type slsaprovenance1``) find them.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass, field

from securesystemslib.signer import Signer  # type: ignore[attr-defined]

from bastion.errors import SigningError
from bastion.oci import check_digest
from bastion.supplychain.dsse import Envelope

__all__ = [
    "DSSE_MEDIA_TYPE",
    "SIMPLE_SIGNING_MEDIA_TYPE",
    "CosignArtifact",
    "attestation_artifact",
    "cosign_tag",
    "signature_artifact",
    "simple_signing_payload",
]

SIMPLE_SIGNING_MEDIA_TYPE = "application/vnd.dev.cosign.simplesigning.v1+json"
DSSE_MEDIA_TYPE = "application/vnd.dsse.envelope.v1+json"
MANIFEST_MEDIA_TYPE = "application/vnd.oci.image.manifest.v1+json"
_CONFIG_MEDIA_TYPE = "application/vnd.oci.image.config.v1+json"
_SIGNATURE_ANNOTATION = "dev.cosignproject.cosign/signature"


def cosign_tag(digest: str, suffix: str) -> str:
    """The tag cosign looks under for ``digest``'s ``sig`` or ``att`` artifact."""
    return f"{check_digest(digest, 'image').replace(':', '-')}.{suffix}"


@dataclass(frozen=True)
class CosignArtifact:
    """One artifact to push: its blobs by digest, its manifest, and the tag it goes under."""

    tag: str
    manifest: bytes
    blobs: dict[str, bytes] = field(default_factory=dict)

    @property
    def digest(self) -> str:
        """The manifest's digest."""
        return "sha256:" + hashlib.sha256(self.manifest).hexdigest()


def _digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _artifact(tag: str, layers: list[tuple[bytes, str, dict[str, str]]]) -> CosignArtifact:
    """An OCI manifest over ``layers`` with the config cosign writes (diff_ids of the layers)."""
    config = {
        "architecture": "",
        "os": "",
        "config": {},
        "rootfs": {"type": "layers", "diff_ids": [_digest(data) for data, _, _ in layers]},
    }
    config_bytes = json.dumps(config, sort_keys=True, separators=(",", ":")).encode()
    blobs = {_digest(config_bytes): config_bytes}
    descriptors = []
    for data, media_type, notes in layers:
        blobs[_digest(data)] = data
        descriptors.append(
            {
                "mediaType": media_type,
                "size": len(data),
                "digest": _digest(data),
                "annotations": notes,
            }
        )
    manifest = {
        "schemaVersion": 2,
        "mediaType": MANIFEST_MEDIA_TYPE,
        "config": {
            "mediaType": _CONFIG_MEDIA_TYPE,
            "size": len(config_bytes),
            "digest": _digest(config_bytes),
        },
        "layers": descriptors,
    }
    return CosignArtifact(tag, json.dumps(manifest, separators=(",", ":")).encode(), blobs)


def simple_signing_payload(docker_reference: str, digest: str) -> bytes:
    """The payload cosign signs: which repository, which manifest digest."""
    payload = {
        "critical": {
            "identity": {"docker-reference": docker_reference},
            "image": {"docker-manifest-digest": check_digest(digest, "image")},
            "type": "cosign container image signature",
        },
        "optional": None,
    }
    return json.dumps(payload, separators=(",", ":")).encode()


def signature_artifact(docker_reference: str, digest: str, signer: Signer) -> CosignArtifact:
    """The ``.sig`` artifact: the simple signing payload, signed over its exact bytes."""
    payload = simple_signing_payload(docker_reference, digest)
    try:
        raw = bytes.fromhex(signer.sign(payload).signature)
    except (ValueError, OSError) as exc:
        raise SigningError(f"the signer failed: {exc}") from exc
    annotation = {_SIGNATURE_ANNOTATION: base64.b64encode(raw).decode()}
    return _artifact(cosign_tag(digest, "sig"), [(payload, SIMPLE_SIGNING_MEDIA_TYPE, annotation)])


def attestation_artifact(digest: str, envelopes: list[tuple[str, Envelope]]) -> CosignArtifact:
    """The ``.att`` artifact: one DSSE envelope per layer, each with its predicate type."""
    layers = [
        (envelope.to_json(), DSSE_MEDIA_TYPE, {"predicateType": predicate_type})
        for predicate_type, envelope in envelopes
    ]
    return _artifact(cosign_tag(digest, "att"), layers)
