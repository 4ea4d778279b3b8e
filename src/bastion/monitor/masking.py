"""Maskers for alert texts: :class:`VaultMasker` hides every value the vault holds now;
:class:`PlainText` changes nothing (a process that knows no secret).

    >>> masker = VaultMasker(open_default_vault(home, os.environ))   # doctest: +SKIP
"""

from __future__ import annotations

import threading

from bastion.vault import Masker, MaskingPatterns, Vault

__all__ = ["PlainText", "VaultMasker"]


class PlainText:
    """A masker for a process that knows no secret value (nothing to hide)."""

    def mask(self, data: bytes) -> bytes:
        """``data`` unchanged."""
        return data


class VaultMasker:
    """Masks with the vault's current values; compiled again when the vault file changes
    (a secret set by ``bastion secrets set`` or the server is masked from its next use)."""

    def __init__(self, vault: Vault) -> None:
        self._vault = vault
        self._seen: tuple[int, int, int] | None = None
        self._patterns: MaskingPatterns | None = None
        self._lock = threading.Lock()

    def _current(self) -> MaskingPatterns:
        try:
            info = self._vault.path.stat()
            stamp: tuple[int, int, int] | None = (info.st_ino, info.st_mtime_ns, info.st_size)
        except FileNotFoundError:
            stamp = None  # no vault file yet: nothing to hide, and nothing cached
        with self._lock:
            if self._patterns is None or stamp is None or stamp != self._seen:
                self._patterns = self._vault.masking_patterns()
                self._seen = stamp
            return self._patterns

    def mask(self, data: bytes) -> bytes:
        """``data`` with every form of every current vault value replaced by ``***``."""
        return Masker(self._current()).mask(data)
