"""Streaming masking of secrets in job output.

    >>> masker = Masker(["s3cr3t-t0ken-value"])
    >>> masker.feed(b"token=s3cr3t-t0k") + masker.feed(b"en-value done\\n") + masker.flush()
    b'token=*** done\\n'

Every secret and its common encodings (:func:`bastion.vault.variants.secret_variants`) are
replaced with ``***``. Overlapping or touching occurrences collapse into one ``***``, so the
output is a pure function of the whole stream: feeding it in any split gives exactly what
:meth:`Masker.mask` gives for the joined bytes.

The patterns are compiled once (:class:`~bastion.vault.patterns.MaskingPatterns`) and
shared by every stream of a run. Why Hyperscan rather than ``re``: 50 secrets produce
several hundred literal patterns, and CPython's ``re`` tries each alternative at every
position (under 1 MB/s measured here); Hyperscan's literal matcher scans all of them in
one pass at hundreds of MB/s.

Invisible insertions: a job (or a colouring tool) can slip ANSI escape sequences or
zero-width characters between a secret's characters, and a terminal shows the secret intact.
When a chunk holds any, the masker also matches a copy with them removed (:class:`_Visible`)
and maps what it finds back onto the stream, so the inserted bytes are masked with the rest.

Streaming: a value may be split across chunks, so :meth:`Masker.feed` holds back the tail of
the stream that could be the beginning of a secret or encoding (at most ``longest variant -
1`` bytes, usually none) and emits it with the next chunk or on :meth:`Masker.flush`. A run
of masked text that crosses the boundary is emitted as ``***`` at once and its known
remainder is remembered, so output is never delayed by more than one variant's length.
"""

from __future__ import annotations

import bisect
import re
import threading
from collections.abc import Iterable

from bastion.vault.patterns import MaskingPatterns, merged

__all__ = ["MASK", "Masker"]

MASK = b"***"

# ANSI CSI sequences (colours, cursor moves) and zero-width characters (U+200B..U+200D,
# U+2060, U+FEFF); then one left unfinished at the very end, whose rest may come with the
# next chunk and which must not hide the secret's beginning in front of it.
_INVISIBLE = re.compile(
    rb"\x1b\[[0-9;?]*[@-~]|\xe2\x80[\x8b-\x8d]|\xe2\x81\xa0|\xef\xbb\xbf"
    rb"|(?:\x1b(?:\[[0-9;?]*)?|\xe2[\x80\x81]?|\xef\xbb?)\Z"
)
# First bytes of everything above (a chunk may end just after one).
_INVISIBLE_LEADS = (b"\x1b", b"\xe2", b"\xef")


class _Visible:
    """``data`` without invisible insertions, and where each kept byte came from."""

    def __init__(self, data: bytes, found: list[re.Match[bytes]]) -> None:
        parts: list[bytes] = []
        # _kept[i] is the view position where the i-th kept run starts; _origin[i] the
        # stream position it came from. Runs are between removed insertions.
        self._kept: list[int] = []
        self._origin: list[int] = []
        pos = view = 0
        for match in found:
            self._kept.append(view)
            self._origin.append(pos)
            parts.append(data[pos : match.start()])
            view += match.start() - pos
            pos = match.end()
        self._kept.append(view)
        self._origin.append(pos)
        parts.append(data[pos:])
        self.data = b"".join(parts)

    @classmethod
    def of(cls, data: bytes) -> _Visible | None:
        """The view of ``data``, or None when it has no invisible insertion (the usual case)."""
        if not any(lead in data for lead in _INVISIBLE_LEADS):
            return None
        found = list(_INVISIBLE.finditer(data))
        return cls(data, found) if found else None

    def origin(self, index: int) -> int:
        """Stream position of the view's byte ``index``."""
        run = bisect.bisect_right(self._kept, index) - 1
        return self._origin[run] + index - self._kept[run]

    def spans(self, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
        """View spans as stream spans (covering the insertions inside them)."""
        return [(self.origin(start), self.origin(end - 1) + 1) for start, end in spans]


class Masker:
    """Replaces secrets (and their encodings) with ``***`` in a byte stream.

    One instance per output stream; calls are serialised by an internal lock. Given
    :class:`MaskingPatterns` already compiled, making one costs nothing worth measuring
    (a run builds its patterns once and a masker per step); given secrets, it compiles
    them, raising :class:`VaultError` for a secret too short to mask safely.
    """

    def __init__(self, secrets: MaskingPatterns | Iterable[str | bytes]) -> None:
        patterns = secrets if isinstance(secrets, MaskingPatterns) else MaskingPatterns(secrets)
        self._matcher = patterns.matcher
        self._hold = max(self._matcher.longest - 1, 0)
        self._starts = patterns.starts
        self._pending = b""
        # Bytes at the start of ``_pending`` already known to be covered by a match that
        # began in emitted output, and whether the last emitted byte was masked.
        self._carry_covered = 0
        self._last_masked = False
        self._lock = threading.Lock()

    @property
    def pattern_count(self) -> int:
        """How many distinct byte strings are masked."""
        return len(self._matcher.lengths)

    def mask(self, data: bytes) -> bytes:
        """Mask one complete piece of text (not streaming; independent of stream state)."""
        with self._lock:
            spans = self._covered(data, _Visible.of(data))
        return self._render(data, spans, len(data), False)[0]

    def feed(self, chunk: bytes) -> bytes:
        """Mask the next chunk of the stream; returns what is safe to show now."""
        with self._lock:
            data = self._pending + chunk
            visible = _Visible.of(data)
            cut = self._starts.first_start(data, max(len(data) - self._hold, 0))
            if visible is not None:
                seen = visible.data
                start = self._starts.first_start(seen, max(len(seen) - self._hold, 0))
                if start < len(seen):
                    cut = min(cut, visible.origin(start))
            return self._emit(data, cut, visible)

    def flush(self) -> bytes:
        """Emit everything held back (call at the end of the stream)."""
        with self._lock:
            out = self._emit(self._pending, len(self._pending), _Visible.of(self._pending))
            self._carry_covered = 0
            self._last_masked = False
            return out

    def _covered(self, data: bytes, visible: _Visible | None) -> list[tuple[int, int]]:
        """Spans of ``data`` to mask: found in it, and in its view without insertions."""
        spans = self._matcher.covered(data)
        if visible is None:
            return spans
        return merged(spans + visible.spans(self._matcher.covered(visible.data)))

    def _emit(self, data: bytes, cut: int, visible: _Visible | None) -> bytes:
        spans = self._covered(data, visible)
        if self._carry_covered:
            spans = _merge_front(spans, self._carry_covered)
        out, carry, last_masked = self._render(data, spans, cut, self._last_masked)
        self._pending = data[cut:]
        # Nothing emitted past the carried span's end: keep what is still ahead of ``cut``.
        self._carry_covered = max(carry, self._carry_covered - cut)
        self._last_masked = last_masked
        return out

    @staticmethod
    def _render(
        data: bytes, spans: list[tuple[int, int]], cut: int, continuing: bool
    ) -> tuple[bytes, int, bool]:
        """Masked ``data[:cut]``, covered bytes carried past ``cut``, last byte masked?

        ``continuing`` says the previously emitted byte was masked, so a span starting at
        0 continues that ``***`` instead of starting a new one.
        """
        parts: list[bytes] = []
        pos = 0
        carry = 0
        last_masked = continuing and cut == 0
        for start, end in spans:
            if start >= cut:
                # Touching the cut: it continues the mask if the byte before was masked.
                break
            parts.append(data[pos:start])
            if not (start == 0 and continuing):
                parts.append(MASK)
            pos = min(end, cut)
            carry = max(end - cut, 0)
            last_masked = end >= cut
        if pos < cut:
            parts.append(data[pos:cut])
            last_masked = False if cut > 0 else last_masked
        return b"".join(parts), carry, last_masked


def _merge_front(spans: list[tuple[int, int]], covered: int) -> list[tuple[int, int]]:
    """Add ``[0, covered)`` to merged ``spans``."""
    end = covered
    rest = []
    for start, stop in spans:
        if start <= end:
            end = max(end, stop)
        else:
            rest.append((start, stop))
    return [(0, end), *rest]
