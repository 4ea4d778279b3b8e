"""The compiled masking patterns of a set of secrets: built once, shared by every stream.

    >>> patterns = MaskingPatterns({"TOKEN": "s3cr3t-t0ken-value"})
    >>> patterns.find(b"Authorization: Basic czNjcjN0LXQwa2VuLXZhbHVl")
    SecretHit(secret='TOKEN', form='base64')

Compiling several hundred literals per secret into a Hyperscan database is the expensive
part of masking (about a second for 50 secrets); a run builds one :class:`MaskingPatterns`
and every step's :class:`~bastion.vault.masking.Masker`, every masked message and every
scan of a stored file reuses it. Scanning is safe from many threads at once: each thread
has its own Hyperscan scratch space (one scratch may not serve two scans at a time).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

import hyperscan

from bastion.errors import VaultError
from bastion.vault.variants import MIN_VARIANT_LENGTH, labelled_variants

__all__ = ["MaskingPatterns", "SecretFinder", "SecretHit"]

_UNNAMED = "a released secret"

_OnMatch = Callable[[int, int, int, int, object], bool | None]


@dataclass(frozen=True, slots=True)
class SecretHit:
    """Which secret a scanned text holds, and in which form (a family of ``variants``)."""

    secret: str
    form: str

    def describe(self) -> str:
        """``secret NAME (as base64)``: names the secret, never quotes its value."""
        return f"secret {self.secret} (as {self.form})"


class _Database:
    """A literal database and one scratch space per thread using it."""

    def __init__(self, patterns: list[bytes]) -> None:
        self._db = _compile(patterns)
        self._local = threading.local()

    def scan(self, data: bytes, on_match: _OnMatch) -> None:
        scratch = getattr(self._local, "scratch", None)
        if scratch is None:
            scratch = self._local.scratch = hyperscan.Scratch(self._db)
        self._db.scan(data, match_event_handler=on_match, scratch=scratch)


class Matcher:
    """Finds every occurrence of every pattern; returns merged covered intervals."""

    def __init__(self, patterns: list[bytes]) -> None:
        self.lengths = [len(p) for p in patterns]
        self.longest = max(self.lengths, default=0)
        self._db = _Database(patterns) if patterns else None

    def covered(self, data: bytes) -> list[tuple[int, int]]:
        """Sorted, merged ``[start, end)`` intervals covered by a match (touching merge)."""
        if self._db is None or not data:
            return []
        spans: list[tuple[int, int]] = []
        lengths = self.lengths

        def on_match(pattern_id: int, _from: int, to: int, _flags: int, _ctx: object) -> None:
            spans.append((to - lengths[pattern_id], to))

        self._db.scan(data, on_match)
        return merged(spans)

    def first(self, data: bytes) -> int | None:
        """The id of a pattern found in ``data`` (the scan stops at the first), or None."""
        if self._db is None or not data:
            return None
        found: list[int] = []

        def on_match(pattern_id: int, _from: int, _to: int, _flags: int, _ctx: object) -> bool:
            found.append(pattern_id)
            return True  # stop: one hit is enough to refuse

        # ScanTerminated is how Hyperscan reports the stop asked for above.
        with contextlib.suppress(hyperscan.ScanTerminated):
            self._db.scan(data, on_match)
        return found[0] if found else None


def merged(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Sorted ``spans`` with overlapping or touching ones joined."""
    if not spans:
        return []
    spans.sort()
    out = [spans[0]]
    for start, end in spans[1:]:
        last_start, last_end = out[-1]
        if start <= last_end:
            out[-1] = (last_start, max(last_end, end))
        else:
            out.append((start, end))
    return out


class PrefixIndex:
    """Where the tail of a buffer could be the beginning of a variant.

    Holding back only such a tail (instead of always ``longest - 1`` bytes) keeps a live
    log current: ordinary text is shown at once, and only bytes that could still turn out
    to be part of a secret wait for the next chunk. Candidate positions come from one
    Hyperscan pass over the tail looking for the variants' first four bytes, so the cost
    per chunk stays a few microseconds.
    """

    _KEY = 4

    def __init__(self, patterns: list[bytes]) -> None:
        self._short: set[bytes] = set()
        self._by_key: dict[bytes, list[bytes]] = {}
        for pattern in patterns:
            for size in range(1, self._KEY):
                self._short.add(pattern[:size])
            self._by_key.setdefault(pattern[: self._KEY], []).append(pattern)
        keys = list(self._by_key)
        self._db = _Database(keys) if keys else None

    def first_start(self, data: bytes, low: int) -> int:
        """The smallest ``i >= low`` with ``data[i:]`` a prefix of a pattern, else len."""
        end = len(data)
        if self._db is None or low >= end:
            return end
        starts: list[int] = []

        def on_match(key_id: int, _from: int, to: int, _flags: int, _ctx: object) -> None:
            starts.append(low + to - self._KEY)

        self._db.scan(data[low:], on_match)
        for index in sorted(starts):
            tail = data[index:]
            if any(p.startswith(tail) for p in self._by_key[data[index : index + self._KEY]]):
                return index
        for index in range(max(low, end - self._KEY + 1), end):
            if data[index:] in self._short:
                return index
        return end


class MaskingPatterns:
    """Every form of every secret, compiled; immutable and shared by many streams.

    ``secrets`` maps names to values (a plain iterable of values names none);
    ``lowercase`` adds each form lower-cased, for records a program lower-cased after the
    job encoded the value (host names in egress records). Raises :class:`VaultError` for
    a secret too short to mask safely.
    """

    def __init__(
        self,
        secrets: Mapping[str, str | bytes] | Iterable[str | bytes],
        *,
        lowercase: bool = False,
    ) -> None:
        named = (
            secrets.items() if isinstance(secrets, Mapping) else ((_UNNAMED, s) for s in secrets)
        )
        labels: dict[bytes, SecretHit] = {}
        for name, secret in named:
            raw = secret.encode("utf-8") if isinstance(secret, str) else secret
            if len(raw) < MIN_VARIANT_LENGTH:
                raise VaultError(
                    f"a secret of {len(raw)} bytes is too short to mask safely",
                    hint=f"secrets must be at least {MIN_VARIANT_LENGTH} bytes long",
                )
            for form, family in labelled_variants(raw).items():
                labels.setdefault(form, SecretHit(name, family))
                if lowercase:
                    labels.setdefault(form.lower(), SecretHit(name, f"{family}, lower-cased"))
        # Longest first is irrelevant to Hyperscan (it reports all), but keeps ids stable.
        self.patterns = sorted(labels, key=lambda v: (-len(v), v))
        self._hits = [labels[p] for p in self.patterns]
        self.matcher = Matcher(self.patterns)
        self.starts = PrefixIndex(self.patterns)

    @property
    def longest(self) -> int:
        """Length of the longest pattern (how far a match may reach back across chunks)."""
        return self.matcher.longest

    def find(self, data: bytes) -> SecretHit | None:
        """Which secret ``data`` holds, in one form or another, or None."""
        index = self.matcher.first(data)
        return None if index is None else self._hits[index]

    def finder(self) -> SecretFinder:
        """A find-only scan over a stream of chunks (a file read piece by piece)."""
        return SecretFinder(self)


class SecretFinder:
    """Looks for any form of the secrets in a stream; never keeps more than one form's length.

    Each chunk is scanned behind the last ``longest - 1`` bytes of the one before, so a
    form split between two chunks is found too.
    """

    def __init__(self, patterns: MaskingPatterns) -> None:
        self._patterns = patterns
        self._keep = max(patterns.longest - 1, 0)
        self._tail = b""

    def feed(self, chunk: bytes) -> SecretHit | None:
        """The secret found in the stream so far (including ``chunk``), or None."""
        data = self._tail + chunk
        hit = self._patterns.find(data)
        self._tail = data[-self._keep :] if self._keep else b""
        return hit


def _compile(patterns: list[bytes]) -> hyperscan.Database:
    """A block-mode database matching each of ``patterns`` literally (id = index)."""
    database = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
    # Every byte escaped: Hyperscan reads patterns as C strings, so a raw NUL would end a
    # pattern early (its literal mode does the same).
    database.compile(
        expressions=[_escape(p) for p in patterns],
        ids=list(range(len(patterns))),
        flags=[0] * len(patterns),
    )
    return database


def _escape(pattern: bytes) -> bytes:
    """``pattern`` as a Hyperscan regex matching exactly those bytes."""
    return b"".join(
        bytes([b]) if chr(b).isascii() and chr(b).isalnum() else b"\\x%02x" % b for b in pattern
    )
