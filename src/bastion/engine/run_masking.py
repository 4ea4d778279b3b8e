"""The masking of one run's jobs: the released secrets compiled once, used for everything.

    >>> masking = RunMasking.build({"TOKEN": "s3cr3t-t0ken-value"})
    >>> masking.text("token is s3cr3t-t0ken-value")
    'token is ***'

Compiling every form of every secret is the expensive part of masking (about a second for
50 secrets). A run compiles them once, after its secrets are released, and every job uses
the result (:class:`~bastion.executors.secret_guard.JobMasking`): each step's output stream
gets its own cheap streaming state, and reasons, reports, egress records and stored files
are checked against the same patterns. Every job masks every secret the run released, not
only its own: a value one job leaked to another (through the network, say) stays masked.

A value that exists only later (a held deploy job's identity token, minted at hand-over)
is added in place with :meth:`RunMasking.extend`: every holder of the run's masking (job
output, egress writers and auditors, stored files) masks it from then on, and a stream
already running switches to the new patterns at its next chunk.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping

from bastion.executors import OutputFilter, SecretScan
from bastion.vault import Masker, MaskingPatterns, SecretFinder

__all__ = ["RunMasking"]


class _Scan:
    """A :class:`SecretScan` over a vault finder: says which secret, never the value."""

    def __init__(self, finder: SecretFinder) -> None:
        self._finder = finder

    def feed(self, chunk: bytes) -> str | None:
        hit = self._finder.feed(chunk)
        return None if hit is None else hit.describe()


class RunMasking:
    """Every job's masking in one run (a :class:`~bastion.executors.secret_guard.JobMasking`)."""

    def __init__(
        self,
        patterns: MaskingPatterns,
        secrets: Mapping[str, str] | None = None,
        *,
        lowercase: bool = False,
    ) -> None:
        self.patterns = patterns
        self._secrets, self._lowercase = dict(secrets or {}), lowercase
        self._lock = threading.Lock()

    @classmethod
    def build(cls, secrets: Mapping[str, str], *, lowercase: bool = False) -> RunMasking:
        """Compile ``secrets`` (name to value); ``lowercase`` for lower-cased records too."""
        return cls(MaskingPatterns(secrets, lowercase=lowercase), secrets, lowercase=lowercase)

    def extend(self, secrets: Mapping[str, str]) -> None:
        """Mask ``secrets`` too, from now on, for every holder of this masking (compiled
        before the swap: no holder ever sees a half-built set)."""
        with self._lock:
            merged = {**self._secrets, **secrets}
            self.patterns = MaskingPatterns(merged, lowercase=self._lowercase)
            self._secrets = merged

    def stream(self) -> OutputFilter:
        current = self.patterns
        masker = Masker(current)

        def feed(chunk: bytes | None) -> bytes:
            nonlocal current, masker
            head = b""
            if self.patterns is not current:
                # Extended since the last chunk: nothing before this chunk can hold the new
                # value (it reaches no job before the extension), so flushing is safe.
                head, current = masker.flush(), self.patterns
                masker = Masker(current)
            return head + (masker.flush() if chunk is None else masker.feed(chunk))

        return feed

    def text(self, text: str) -> str:
        data = Masker(self.patterns).mask(text.encode("utf-8", errors="surrogateescape"))
        return data.decode("utf-8", errors="replace")

    def data(self, data: bytes) -> bytes:
        return Masker(self.patterns).mask(data)

    def scan(self) -> SecretScan:
        return _Scan(self.patterns.finder())
