"""Content-addressed reads: every blob is hashed while it is read and refused on mismatch.

>>> import hashlib, io
>>> data = b"layer bytes"
>>> digest = "sha256:" + hashlib.sha256(data).hexdigest()
>>> VerifyingReader(io.BytesIO(data), Descriptor("x", digest, len(data))).read()
b'layer bytes'
"""

from __future__ import annotations

import hashlib
import io
import json
import re
from dataclasses import dataclass
from typing import IO, Any

from bastion.oci.errors import ImageError, RefusalReason

__all__ = ["MAX_JSON_BYTES", "Descriptor", "VerifyingReader", "check_digest", "read_json"]

MAX_JSON_BYTES = 4 * 1024 * 1024
_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")


def check_digest(value: object, what: str) -> str:
    """``value`` if it is a ``sha256:<64 hex>`` digest; :class:`ImageError` otherwise."""
    if not isinstance(value, str) or not _DIGEST.match(value):
        raise ImageError(
            f"{what}: {str(value)[:80]!r} is not a sha256 digest", reason=RefusalReason.MALFORMED
        )
    return value


@dataclass(frozen=True, slots=True)
class Descriptor:
    """An OCI content descriptor: media type, digest and size; checked when built."""

    media_type: str
    digest: str
    size: int

    def __post_init__(self) -> None:
        check_digest(self.digest, "descriptor")
        if self.size < 0:
            raise ImageError(
                f"descriptor {self.digest}: negative size", reason=RefusalReason.MALFORMED
            )

    @property
    def hex(self) -> str:
        """The digest's hexadecimal part (the blob's file name)."""
        return self.digest.removeprefix("sha256:")

    @classmethod
    def from_json(cls, data: object, what: str) -> Descriptor:
        """A descriptor from a manifest's or index's JSON object."""
        if not isinstance(data, dict):
            raise ImageError(f"{what}: descriptor is not an object", reason=RefusalReason.MALFORMED)
        size = data.get("size")
        if not isinstance(size, int) or isinstance(size, bool):
            raise ImageError(
                f"{what}: descriptor has no integer size", reason=RefusalReason.MALFORMED
            )
        media = data.get("mediaType", "")
        return cls(str(media), check_digest(data.get("digest"), what), size)


class VerifyingReader(io.RawIOBase):
    """Reads a blob, never past its declared size, and checks its digest at the end."""

    def __init__(self, stream: IO[bytes], descriptor: Descriptor) -> None:
        self._stream = stream
        self._descriptor = descriptor
        self._hash = hashlib.sha256()
        self._seen = 0
        self._checked = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        room = self._descriptor.size - self._seen
        want = min(len(view), room + 1)  # one byte past the size proves an overlong blob
        data = self._stream.read(want) if want > 0 else b""
        self._seen += len(data)
        if self._seen > self._descriptor.size:
            raise ImageError(
                f"blob {self._descriptor.digest} is longer than its descriptor's "
                f"{self._descriptor.size} bytes",
                reason=RefusalReason.DIGEST_MISMATCH,
            )
        self._hash.update(data)
        if not data:
            self._finish()
            return 0
        view[: len(data)] = data
        return len(data)

    def _finish(self) -> None:
        if self._checked:
            return
        self._checked = True
        actual = "sha256:" + self._hash.hexdigest()
        if self._seen != self._descriptor.size or actual != self._descriptor.digest:
            raise ImageError(
                f"blob {self._descriptor.digest} does not match its descriptor "
                f"(read {self._seen} bytes hashing to {actual})",
                reason=RefusalReason.DIGEST_MISMATCH,
                hint="the image was altered or truncated; rebuild or re-pull it",
            )

    def drain(self) -> None:
        """Read to the end, so the digest is checked even if the consumer stopped early."""
        while self.read(1 << 20):
            pass
        self._finish()


def read_json(stream: IO[bytes], descriptor: Descriptor, what: str) -> tuple[bytes, Any]:
    """A small JSON blob's exact bytes and parsed value, digest-checked and size-capped."""
    if descriptor.size > MAX_JSON_BYTES:
        raise ImageError(
            f"{what} is {descriptor.size} bytes (limit {MAX_JSON_BYTES})",
            reason=RefusalReason.TOO_LARGE,
        )
    reader = VerifyingReader(stream, descriptor)
    data = reader.readall()
    reader.drain()
    try:
        return data, json.loads(data)
    except ValueError as exc:
        raise ImageError(f"{what} is not JSON: {exc}", reason=RefusalReason.MALFORMED) from exc
