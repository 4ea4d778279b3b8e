"""The local-directory artifact store (the default ``BlobStore``).

Writes go to a temporary file in the same directory, are fsynced and then renamed into
place, so a reader never sees half a blob. A blob that already exists is never replaced:
a second write of the same digest re-hashes the stored bytes and raises
:class:`CorruptBlobError` when they changed underneath us.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from bastion.atomic import replacing
from bastion.supplychain.interface import (
    ArtifactRecord,
    ArtifactStoreError,
    AttestationKind,
    CorruptBlobError,
    Digest,
    Promotion,
    check_bundle,
    digest_bytes,
    digest_file,
    parse_digest,
)

__all__ = ["LocalBlobStore"]

# Names of refs and environments become file names: keep them to a safe alphabet.
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@+-]{0,199}$")
_CHUNK = 1 << 20


def _safe_name(kind: str, name: str) -> str:
    if not _NAME_RE.match(name) or ".." in name:
        raise ArtifactStoreError(
            f"invalid {kind} name {name!r}",
            hint="use letters, digits and . _ @ + - (at most 200, not starting with a dot)",
        )
    return name


class LocalBlobStore:
    """A content-addressed store in a local directory (see ``interface`` for the layout)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    # -- paths -------------------------------------------------------------------------
    def _hex(self, digest: Digest) -> str:
        return parse_digest(digest).split(":", 1)[1]

    def blob_path(self, digest: Digest) -> Path:
        """Where the blob with ``digest`` lives (it may not exist)."""
        return self.root / "blobs" / "sha256" / self._hex(digest)

    def _meta_path(self, digest: Digest) -> Path:
        return self.root / "meta" / "sha256" / f"{self._hex(digest)}.json"

    def _attestations_dir(self, digest: Digest) -> Path:
        return self.root / "attestations" / "sha256" / self._hex(digest)

    def _attestation_path(self, digest: Digest, bundle: str, kind: AttestationKind) -> Path:
        return self._attestations_dir(digest) / check_bundle(bundle) / f"{kind.value}.dsse.json"

    def attestation_ref(self, digest: Digest, bundle: str, kind: AttestationKind) -> str:
        """Where an attestation sits, relative to the store's root (what a run record keeps:
        stable if the store moves)."""
        return self._attestation_path(digest, bundle, kind).relative_to(self.root).as_posix()

    # -- atomic writes -----------------------------------------------------------------
    def _write_atomic(self, target: Path, fill: Callable[[BinaryIO], object]) -> None:
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            with replacing(target) as stream:
                fill(stream)
        except OSError as exc:
            raise ArtifactStoreError(
                f"{target}: cannot write to the artifact store: {exc.strerror}",
                hint=f"check that {self.root} is writable and has free space",
            ) from exc

    def _write_blob(self, digest: Digest, fill: Callable[[BinaryIO], object]) -> None:
        target = self.blob_path(digest)
        if target.exists():
            # Never overwrite: the stored bytes must still be the ones we were given.
            self.check(digest)
            return
        self._write_atomic(target, fill)
        self.check(digest)

    def _write_meta(self, digest: Digest, name: str, size: int, media_type: str) -> None:
        if self._meta_path(digest).exists():
            return
        doc = {
            "digest": digest,
            "name": name,
            "size": size,
            "media_type": media_type,
            "created": datetime.now(UTC).isoformat(),
        }
        data = json.dumps(doc, sort_keys=True).encode()
        self._write_atomic(self._meta_path(digest), lambda s: s.write(data))

    # -- blobs -------------------------------------------------------------------------
    def put_file(self, path: Path, *, name: str, media_type: str) -> ArtifactRecord:
        """Store the file's bytes under their digest (idempotent, never overwrites)."""
        digest, size = digest_file(path)

        def fill(stream: BinaryIO) -> None:
            with path.open("rb") as source:
                while chunk := source.read(_CHUNK):
                    stream.write(chunk)

        self._write_blob(digest, fill)
        self._write_meta(digest, name, size, media_type)
        return self.record(digest)

    def put_bytes(self, data: bytes, *, name: str, media_type: str) -> ArtifactRecord:
        """Store ``data`` under its digest (idempotent, never overwrites)."""
        digest = digest_bytes(data)
        self._write_blob(digest, lambda s: s.write(data))
        self._write_meta(digest, name, len(data), media_type)
        return self.record(digest)

    def has(self, digest: Digest) -> bool:
        """Whether a blob with this digest is stored."""
        return self.blob_path(digest).is_file()

    def record(self, digest: Digest) -> ArtifactRecord:
        """The metadata of a stored artifact."""
        path = self._meta_path(digest)
        try:
            doc = json.loads(path.read_bytes())
            return ArtifactRecord(
                digest=parse_digest(str(doc["digest"])),
                name=str(doc["name"]),
                size=int(doc["size"]),
                media_type=str(doc["media_type"]),
                created=datetime.fromisoformat(str(doc["created"])),
            )
        except FileNotFoundError as exc:
            raise ArtifactStoreError(
                f"no artifact {digest} in {self.root}",
                hint="check the digest, or pass --store with the right store directory",
            ) from exc
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ArtifactStoreError(f"{path}: unreadable artifact record: {exc}") from exc

    def read(self, digest: Digest) -> bytes:
        """The blob's bytes, checked against the digest (raises CorruptBlobError)."""
        try:
            data = self.blob_path(digest).read_bytes()
        except OSError as exc:
            raise ArtifactStoreError(f"no blob {digest} in {self.root}") from exc
        actual = digest_bytes(data)
        if actual != digest:
            raise CorruptBlobError(digest, actual)
        return data

    def check(self, digest: Digest) -> None:
        """Re-hash the stored blob; raise CorruptBlobError when it does not match."""
        actual, _ = digest_file(self.blob_path(digest))
        if actual != digest:
            raise CorruptBlobError(digest, actual)

    # -- attestations ------------------------------------------------------------------
    def put_attestation(
        self, digest: Digest, bundle: str, kind: AttestationKind, envelope: bytes
    ) -> None:
        """Keep a DSSE envelope about ``digest`` in ``bundle`` (written once, never replaced)."""
        if not self.has(digest):
            raise ArtifactStoreError(f"cannot attest {digest}: no such artifact in {self.root}")
        path = self._attestation_path(digest, bundle, kind)
        if path.exists():
            if path.read_bytes() != envelope:
                raise ArtifactStoreError(
                    f"{path}: a different {kind.value} attestation is already stored",
                    hint="attestations are immutable; a new build writes a new bundle",
                )
            return
        self._write_atomic(path, lambda s: s.write(envelope))

    def get_attestation(self, digest: Digest, bundle: str, kind: AttestationKind) -> bytes | None:
        """The DSSE envelope of ``kind`` in ``bundle`` about ``digest``, or None."""
        try:
            return self._attestation_path(digest, bundle, kind).read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise ArtifactStoreError(f"cannot read the {kind.value} attestation: {exc}") from exc

    def bundles(self, digest: Digest) -> list[str]:
        """The attestation bundles about ``digest``, newest build first."""
        folder = self._attestations_dir(digest)
        if not folder.is_dir():
            return []
        names = []
        for entry in folder.iterdir():
            try:
                names.append(check_bundle(entry.name))
            except ArtifactStoreError:
                continue  # temp files and strays are not bundles
        return sorted(names, reverse=True)

    # -- refs and promotions -----------------------------------------------------------
    def set_ref(self, name: str, digest: Digest) -> None:
        """Point the name ``name`` at ``digest``."""
        path = self.root / "refs" / f"{_safe_name('ref', name)}.json"
        data = json.dumps({"digest": parse_digest(digest)}).encode()
        self._write_atomic(path, lambda s: s.write(data))

    def resolve_ref(self, name: str) -> Digest:
        """The digest ``name`` points at."""
        path = self.root / "refs" / f"{_safe_name('ref', name)}.json"
        try:
            return parse_digest(str(json.loads(path.read_bytes())["digest"]))
        except FileNotFoundError as exc:
            raise ArtifactStoreError(f"no artifact named {name!r} in {self.root}") from exc
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ArtifactStoreError(f"{path}: unreadable ref: {exc}") from exc

    def promote(self, environment: str, digest: Digest) -> Promotion:
        """Record (append-only) that ``environment`` received ``digest``."""
        if not self.has(digest):
            raise ArtifactStoreError(f"cannot promote {digest}: no such artifact")
        promotion = Promotion(_safe_name("environment", environment), digest, datetime.now(UTC))
        path = self.root / "promotions" / f"{environment}.jsonl"
        line = json.dumps(
            {"environment": environment, "digest": digest, "time": promotion.time.isoformat()}
        )
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with path.open("a", encoding="utf-8") as stream:
                stream.write(line + "\n")
                stream.flush()
                os.fsync(stream.fileno())
        except OSError as exc:
            raise ArtifactStoreError(f"{path}: cannot record promotion: {exc.strerror}") from exc
        return promotion

    def environments(self) -> list[str]:
        """Every environment a promotion was recorded for, sorted."""
        folder = self.root / "promotions"
        if not folder.is_dir():
            return []
        return sorted(path.stem for path in folder.glob("*.jsonl"))

    def promotions(self, environment: str) -> list[Promotion]:
        """Every promotion recorded for ``environment``, oldest first."""
        path = self.root / "promotions" / f"{_safe_name('environment', environment)}.jsonl"
        if not path.exists():
            return []
        result = []
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            try:
                doc = json.loads(line)
                result.append(
                    Promotion(
                        str(doc["environment"]),
                        parse_digest(str(doc["digest"])),
                        datetime.fromisoformat(str(doc["time"])),
                    )
                )
            except (ValueError, KeyError, TypeError) as exc:
                raise ArtifactStoreError(f"{path}:{number}: unreadable promotion: {exc}") from exc
        return result
