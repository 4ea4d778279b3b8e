"""Maskers for when the vault holds no secret: :class:`PlainText` changes nothing.

With a vault, pass ``bastion.vault.Masker(values)`` instead (it fits :class:`TextMasker`).
"""

from __future__ import annotations

__all__ = ["PlainText"]


class PlainText:
    """A masker for a process that knows no secret value (nothing to hide)."""

    def mask(self, data: bytes) -> bytes:
        """``data`` unchanged."""
        return data
