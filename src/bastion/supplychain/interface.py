"""The artifact store's interface: digests, artifact records, the ``BlobStore`` protocol, errors.

A store keeps bytes by their sha256 digest and never overwrites them; names are only
pointers (refs) and promotions record the digest an environment received. The local
directory implementation is :class:`bastion.supplychain.store_local.LocalBlobStore`; an
S3-compatible backend implements the same protocol over the same key layout::

    blobs/sha256/<hex>                          the bytes, written once
    meta/sha256/<hex>.json                      name, size, media type, created (first write)
    attestations/sha256/<hex>/<bundle>/<kind>.dsse.json
                                                one build's DSSE envelopes (provenance,
                                                cyclonedx, spdx), written once
    refs/<name>.json                            name -> digest pointer
    promotions/<environment>.jsonl              append-only env -> digest records

A *bundle* is the set of attestations one build wrote about an artifact, named
``<finishedOn as %Y%m%dT%H%M%SZ>-<16 hex of the provenance payload's sha256>`` so that names
sort by build time and two builds of the same bytes (a trusted one and an untrusted one, say)
never overwrite each other's attestations.
"""

from __future__ import annotations

import enum
import hashlib
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import BinaryIO, NewType, Protocol

from bastion.errors import StoreError, VerificationError

__all__ = [
    "ArtifactRecord",
    "ArtifactStoreError",
    "AttestationKind",
    "BlobStore",
    "CorruptBlobError",
    "Digest",
    "Promotion",
    "check_bundle",
    "digest_bytes",
    "digest_file",
    "digest_stream",
    "parse_digest",
]

Digest = NewType("Digest", str)
"""``sha256:<64 lowercase hex>``: the only way an artifact is named for good."""

_DIGEST_RE = re.compile(r"^sha256:[0-9a-f]{64}$")
_BUNDLE_RE = re.compile(r"^[0-9]{8}T[0-9]{6}Z-[0-9a-f]{16}$")
_CHUNK = 1 << 20


class ArtifactStoreError(StoreError):
    """The artifact store cannot be read or written as asked."""


class CorruptBlobError(VerificationError):
    """A stored blob's bytes no longer hash to its digest (reason ``blob-corrupt``)."""

    def __init__(self, digest: Digest, actual: str) -> None:
        super().__init__(
            f"stored blob {digest} is corrupt: its bytes hash to {actual}",
            reason="blob-corrupt",
            hint="restore the blob from a backup or rebuild; never trust these bytes",
        )
        self.digest = digest


class AttestationKind(enum.Enum):
    """Kinds of attestation kept beside an artifact; the value names the file."""

    PROVENANCE = "provenance"
    CYCLONEDX = "cyclonedx"
    SPDX = "spdx"


def parse_digest(text: str) -> Digest:
    """Return ``text`` as a :data:`Digest`, accepting a bare 64-hex sha256 too."""
    candidate = text.strip().lower()
    if re.fullmatch(r"[0-9a-f]{64}", candidate):
        candidate = f"sha256:{candidate}"
    if not _DIGEST_RE.match(candidate):
        raise ArtifactStoreError(
            f"not an artifact digest: {text!r}",
            hint="give 'sha256:' followed by 64 lowercase hex digits",
        )
    return Digest(candidate)


def check_bundle(bundle: str) -> str:
    """Return ``bundle`` if it is a well-formed bundle name, else raise."""
    if not _BUNDLE_RE.match(bundle):
        raise ArtifactStoreError(f"not an attestation bundle name: {bundle!r}")
    return bundle


def digest_bytes(data: bytes) -> Digest:
    """The sha256 digest of ``data``."""
    return Digest("sha256:" + hashlib.sha256(data).hexdigest())


def digest_stream(stream: BinaryIO) -> tuple[Digest, int]:
    """The sha256 digest and size of everything left in ``stream``."""
    hasher = hashlib.sha256()
    size = 0
    while chunk := stream.read(_CHUNK):
        hasher.update(chunk)
        size += len(chunk)
    return Digest("sha256:" + hasher.hexdigest()), size


def digest_file(path: Path) -> tuple[Digest, int]:
    """The sha256 digest and size of the file at ``path``."""
    try:
        with path.open("rb") as stream:
            return digest_stream(stream)
    except OSError as exc:
        raise ArtifactStoreError(
            f"{path}: cannot read artifact: {exc.strerror}", hint="check the path exists"
        ) from exc


@dataclass(frozen=True)
class ArtifactRecord:
    """An artifact as first stored: its digest, a name, size in bytes, media type, time."""

    digest: Digest
    name: str
    size: int
    media_type: str
    created: datetime

    def __post_init__(self) -> None:
        parse_digest(self.digest)
        if self.size < 0:
            raise ArtifactStoreError(f"artifact {self.name}: negative size {self.size}")


@dataclass(frozen=True)
class Promotion:
    """A record that ``environment`` received the artifact ``digest`` at ``time``."""

    environment: str
    digest: Digest
    time: datetime


class BlobStore(Protocol):
    """A content-addressed artifact store. Blobs are immutable once written."""

    def put_file(self, path: Path, *, name: str, media_type: str) -> ArtifactRecord:
        """Store the file's bytes under their digest (idempotent, never overwrites)."""
        ...

    def put_bytes(self, data: bytes, *, name: str, media_type: str) -> ArtifactRecord:
        """Store ``data`` under its digest (idempotent, never overwrites)."""
        ...

    def has(self, digest: Digest) -> bool:
        """Whether a blob with this digest is stored."""
        ...

    def record(self, digest: Digest) -> ArtifactRecord:
        """The metadata of a stored artifact."""
        ...

    def read(self, digest: Digest) -> bytes:
        """The blob's bytes, checked against the digest (raises CorruptBlobError)."""
        ...

    def check(self, digest: Digest) -> None:
        """Re-hash the stored blob; raise CorruptBlobError when it does not match."""
        ...

    def put_attestation(
        self, digest: Digest, bundle: str, kind: AttestationKind, envelope: bytes
    ) -> None:
        """Keep a DSSE envelope about ``digest`` in ``bundle`` (written once, never replaced)."""
        ...

    def get_attestation(self, digest: Digest, bundle: str, kind: AttestationKind) -> bytes | None:
        """The DSSE envelope of ``kind`` in ``bundle`` about ``digest``, or None."""
        ...

    def bundles(self, digest: Digest) -> list[str]:
        """The attestation bundles about ``digest``, newest build first."""
        ...

    def set_ref(self, name: str, digest: Digest) -> None:
        """Point the name ``name`` at ``digest``."""
        ...

    def resolve_ref(self, name: str) -> Digest:
        """The digest ``name`` points at."""
        ...

    def promote(self, environment: str, digest: Digest) -> Promotion:
        """Record that ``environment`` received ``digest``."""
        ...

    def environments(self) -> list[str]:
        """Every environment a promotion was recorded for, sorted."""
        ...

    def promotions(self, environment: str) -> list[Promotion]:
        """Every promotion recorded for ``environment``, oldest first."""
        ...
