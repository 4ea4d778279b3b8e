"""Deploy windows: when an environment may be deployed to, as ``DAYS HH:MM-HH:MM ZONE``.

    >>> window = DeployWindow.parse("Mon-Fri 09:00-17:00 UTC")
    >>> window.contains(datetime(2030, 1, 7, 16, 59, tzinfo=UTC))   # a Monday
    True
    >>> window.contains(datetime(2030, 1, 5, 10, 0, tzinfo=UTC))    # a Saturday
    False

``DAYS`` is a day (``Mon``), a range (``Mon-Fri``, wrapping is allowed: ``Fri-Mon``), a
comma list of those (``Mon-Wed,Fri``) or ``*`` for every day. The times are 24-hour, the
start before the end (``24:00`` is the end of the day); a window across midnight is two
windows (``Fri 22:00-24:00 UTC`` and ``Sat 00:00-02:00 UTC``). ``ZONE`` is ``UTC`` or an IANA
time zone (``Europe/Berlin``): the days and times are that zone's wall clock. An environment
without windows may be deployed to at any time; with several, being inside any one suffices.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bastion.server.errors import BadRequestError

__all__ = ["DeployWindow", "next_opening", "open_now", "parse_windows"]

DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
EXAMPLE = "Mon-Fri 09:00-17:00 UTC"
MAX_WINDOWS = 16
_FORM = re.compile(r"(?P<days>\S+) (?P<start>\d\d:\d\d)-(?P<end>\d\d:\d\d) (?P<zone>\S+)")
_CLOCK = re.compile(r"([01]\d|2[0-4]):([0-5]\d)")


def _refuse(text: str, problem: str) -> BadRequestError:
    return BadRequestError(
        f"deploy window {text!r}: {problem}; write DAYS HH:MM-HH:MM ZONE, e.g. {EXAMPLE!r}"
    )


def _day(text: str, name: str) -> int:
    try:
        return DAYS.index(name)
    except ValueError:
        raise _refuse(text, f"{name!r} is not a day (one of {', '.join(DAYS)})") from None


def _days(text: str, field: str) -> frozenset[int]:
    if field == "*":
        return frozenset(range(7))
    days: set[int] = set()
    for part in field.split(","):
        first, dash, last = part.partition("-")
        start = _day(text, first)
        end = _day(text, last) if dash else start
        days.update((start + i) % 7 for i in range((end - start) % 7 + 1))
    return frozenset(days)


def _minutes(text: str, field: str) -> int:
    matched = _CLOCK.fullmatch(field)
    minutes = int(matched[1]) * 60 + int(matched[2]) if matched else -1
    if not 0 <= minutes <= 24 * 60:
        raise _refuse(text, f"{field!r} is not a time of day (00:00 to 24:00)")
    return minutes


def _zone(text: str, name: str) -> ZoneInfo:
    if name == "UTC":
        return ZoneInfo("UTC")
    if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_+-]*(/[A-Za-z0-9_+-]+)*", name):
        raise _refuse(text, f"{name!r} is not a time zone (UTC or e.g. Europe/Berlin)")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise _refuse(text, f"unknown time zone {name!r} (UTC or e.g. Europe/Berlin)") from None


def _aware(at: datetime) -> datetime:
    """``at``, refused when naive: ``astimezone`` would read it as this host's local time,
    so a server whose TZ is not UTC would open every window hours early or late."""
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"{at.isoformat()} has no time zone: deploy windows need an aware time")
    return at


@dataclass(frozen=True, slots=True)
class DeployWindow:
    """One window; made only by :meth:`parse`, so an invalid one cannot exist."""

    text: str
    days: frozenset[int]
    start: int  # minutes after midnight, wall clock of ``zone``
    end: int
    zone: ZoneInfo

    @classmethod
    def parse(cls, text: str) -> DeployWindow:
        """``text`` as a window; BadRequestError naming the mistake and the form otherwise."""
        matched = _FORM.fullmatch(text)
        if matched is None:
            raise _refuse(text, "not of the form")
        start, end = _minutes(text, matched["start"]), _minutes(text, matched["end"])
        if start >= end:
            raise _refuse(text, "the start must be before the end (split a night in two)")
        days = _days(text, matched["days"])
        return cls(text, days, start, end, _zone(text, matched["zone"]))

    def contains(self, at: datetime) -> bool:
        """Whether ``at`` (aware) falls inside the window."""
        local = _aware(at).astimezone(self.zone)
        minute = local.hour * 60 + local.minute
        return local.weekday() in self.days and self.start <= minute < self.end

    def next_start(self, at: datetime) -> datetime:
        """The first moment after ``at`` at which the window opens (in UTC)."""
        local = _aware(at).astimezone(self.zone)
        # Fifteen days: a week's only window may fall in a daylight-saving gap.
        for offset in range(15):
            day = local.date() + timedelta(days=offset)
            if day.weekday() not in self.days:
                continue
            opens = self._opening(datetime.combine(day, time(), self.zone), at)
            if opens is not None:
                return opens
        raise AssertionError("a window with at least one day opens within fifteen days")

    def _opening(self, midnight: datetime, at: datetime) -> datetime | None:
        """When the window opens on ``midnight``'s day, after ``at`` (None: not that day).

        The start's wall time maps to one instant, except around a daylight-saving change:
        skipped (the clock jumps over it: the window opens at the jump, or not at all when
        it lies wholly in the gap) or repeated (it opens at the first). Both readings of the
        wall time (``fold``) bound the instants to look at, minute by minute (an hour or two).
        """
        wall = midnight + timedelta(minutes=self.start)
        readings = sorted(wall.replace(fold=f).astimezone(UTC) for f in (0, 1))
        moment, last = readings
        while moment <= last:
            if moment > at and self.contains(moment):
                return moment
            moment += timedelta(minutes=1)
        return None


def parse_windows(texts: Iterable[str]) -> tuple[DeployWindow, ...]:
    """Every window of an environment, checked (at most :data:`MAX_WINDOWS`)."""
    windows = tuple(DeployWindow.parse(t) for t in dict.fromkeys(texts))
    if len(windows) > MAX_WINDOWS:
        raise BadRequestError(f"at most {MAX_WINDOWS} deploy windows per environment")
    return windows


def open_now(windows: tuple[DeployWindow, ...], at: datetime) -> bool:
    """No windows: always open; else inside at least one."""
    return not windows or any(w.contains(at) for w in windows)


def next_opening(windows: tuple[DeployWindow, ...], at: datetime) -> datetime:
    """``at`` when open, else when the first window opens next."""
    if open_now(windows, at):
        return at
    return min(w.next_start(at) for w in windows)
