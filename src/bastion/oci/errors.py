"""Why an image was refused: one error type with a machine-readable reason code.

``ImageError`` derives from :class:`bastion.errors.GateError`: a gate given an image it cannot
read safely has no decision to make, so it fails closed, and the engine and CLI already map
that family to "could not operate".

``RegistryError`` derives from :class:`bastion.errors.RemoteError` (exit 3): a registry that
could not be reached, or answered a push with an error, in the registry's own words.
"""

from __future__ import annotations

import enum

from bastion.errors import GateError, RemoteError

__all__ = ["ImageError", "RefusalReason", "RegistryError"]


class RefusalReason(enum.StrEnum):
    """Machine-readable reason codes for a refused image."""

    UNSAFE_PATH = "unsafe-path"  # ../ or an absolute member name
    DIGEST_MISMATCH = "digest-mismatch"  # a blob's bytes do not hash to its descriptor
    TOO_LARGE = "too-large"  # a size cap was passed
    MALFORMED = "malformed"  # not JSON, not a tar, a descriptor missing a field
    UNSUPPORTED = "unsupported"  # a media type or layout we do not read
    NOT_FOUND = "not-found"  # a blob the manifest names is not in the image


class ImageError(GateError):
    """An image could not be read safely; ``reason`` says why in one code."""

    def __init__(self, message: str, *, reason: RefusalReason, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.reason = reason


class RegistryError(RemoteError):
    """A registry refused or failed a push; ``status`` is its HTTP status (0: unreachable)."""

    def __init__(self, message: str, *, status: int = 0, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.status = status
