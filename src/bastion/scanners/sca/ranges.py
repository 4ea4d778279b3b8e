"""OSV version ranges compiled to intervals once, so each check is a few comparisons.

A record's ``events`` are evaluated as the OSV specification describes (sorted by version,
``introduced`` opens, ``fixed`` closes before, ``last_affected`` after, ``limit`` caps); doing
that walk once per record and keeping the resulting intervals is what makes a 2,000-package
scan, and the search for the smallest safe upgrade among hundreds of records, fast.

    >>> from bastion.scanners.sca.versions import parse_version
    >>> [iv] = compile_events("PyPI", (("introduced", "1.0"), ("fixed", "1.2")), [])
    >>> iv.contains(parse_version("PyPI", "1.1")), iv.contains(parse_version("PyPI", "1.2"))
    (True, False)
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from bastion.scanners.sca.errors import InvalidVersionError
from bastion.scanners.sca.versions import Comparable, parse_version

__all__ = ["Interval", "cached_parse", "compile_events", "first_unaffected", "merge"]


@functools.lru_cache(maxsize=65536)
def cached_parse(ecosystem: str, text: str) -> Comparable | None:
    """``text`` parsed by ``ecosystem``'s rules, or None; cached (bounds recur constantly)."""
    try:
        return parse_version(ecosystem, text)
    except InvalidVersionError:
        return None


def _lt(left: Comparable | None, right: Comparable | None, *, none_is_low: bool) -> bool:
    if left is None or right is None:
        if left is None and right is None:
            return False
        return (left is None) == none_is_low
    return bool(left < right)


@dataclass(frozen=True, slots=True)
class Interval:
    """Versions from ``low`` (inclusive; None = no lower bound) to ``high`` (None = none)."""

    low: Comparable | None
    high: Comparable | None
    high_inclusive: bool = False

    def contains(self, version: Comparable) -> bool:
        """True when ``version`` lies inside the interval."""
        if self.low is not None and version < self.low:
            return False
        if self.high is None:
            return True
        return not (self.high < version) if self.high_inclusive else bool(version < self.high)

    def below(self, version: Comparable) -> bool:
        """True when the whole interval lies below ``version``."""
        if self.high is None:
            return False
        return bool(self.high < version) or (not self.high_inclusive and not (version < self.high))


def _capped(interval: Interval, limit: Comparable | None) -> Interval | None:
    if limit is None:
        return interval
    if interval.low is not None and not (interval.low < limit):
        return None
    if (
        interval.high is None
        or limit < interval.high
        or (interval.high_inclusive and not (interval.high < limit))
    ):
        return Interval(interval.low, limit, False)
    return interval


def compile_events(
    ecosystem: str, events: Iterable[tuple[str, str]], bad: list[str]
) -> list[Interval]:
    """The intervals one range's events describe; unparseable bounds are added to ``bad``.

    An unparseable ``introduced`` counts as "0" and an unparseable end as absent, so a range
    can only grow: a doubtful bound never hides a vulnerability.
    """
    bounds: list[tuple[Comparable | None, str]] = []
    limits: list[Comparable] = []
    for kind, text in events:
        value = None if kind == "introduced" and text == "0" else cached_parse(ecosystem, text)
        if value is None and not (kind == "introduced" and text == "0"):
            bad.append(text)
            if kind != "introduced":
                continue
        if kind == "limit":
            limits.append(value)  # type: ignore[arg-type]  # None was skipped above
        else:
            bounds.append((value, kind))
    bounds.sort(key=functools.cmp_to_key(_order))
    intervals: list[Interval] = []
    start: Comparable | None = None
    is_open = False
    for value, kind in bounds:
        if kind == "introduced":
            if not is_open:
                start, is_open = value, True
        elif is_open and value is not None:
            intervals.append(Interval(start, value, kind == "last_affected"))
            is_open = False
    if is_open:
        intervals.append(Interval(start, None))
    limit = min(limits, key=functools.cmp_to_key(_cmp)) if limits else None
    return [c for c in (_capped(i, limit) for i in intervals) if c is not None]


def _cmp(left: Comparable, right: Comparable) -> int:
    return -1 if left < right else (1 if right < left else 0)


def _order(left: tuple[Comparable | None, str], right: tuple[Comparable | None, str]) -> int:
    if _lt(left[0], right[0], none_is_low=True):
        return -1
    if _lt(right[0], left[0], none_is_low=True):
        return 1
    return 0


def _by_low(left: Interval, right: Interval) -> int:
    return _order((left.low, ""), (right.low, ""))


def merge(intervals: Iterable[Interval]) -> list[Interval]:
    """Sorted, non-overlapping intervals covering the same versions."""
    ordered = sorted(intervals, key=functools.cmp_to_key(_by_low))
    merged: list[Interval] = []
    for interval in ordered:
        overlaps = bool(merged) and (interval.low is None or not merged[-1].below(interval.low))
        if overlaps:
            last = merged[-1]
            if last.high is None or interval.high is None:
                high, inclusive = None, False
            elif last.high < interval.high:
                high, inclusive = interval.high, interval.high_inclusive
            elif interval.high < last.high:
                high, inclusive = last.high, last.high_inclusive
            else:
                high, inclusive = last.high, last.high_inclusive or interval.high_inclusive
            merged[-1] = Interval(last.low, high, inclusive)
        else:
            merged.append(interval)
    return merged


def first_unaffected(
    candidates: Sequence[tuple[Comparable, str]], merged: Sequence[Interval], listed: frozenset[str]
) -> str | None:
    """The first of the ascending ``candidates`` inside no interval and not ``listed``."""
    index = 0
    for value, text in candidates:
        while index < len(merged) and merged[index].below(value):
            index += 1
        inside = index < len(merged) and merged[index].contains(value)
        if not inside and text not in listed and str(value) not in listed:
            return text
    return None
