"""How long events may wait for a checkpoint before verification calls them suspect.

A checkpoint is signed after every run (and after every action recorded outside one), so
an event left outside every checkpoint is either recent (its run is still going, or a
crash came between appending and signing) or was added behind the log's back: someone who
can write the database appends a forged event and recomputes the hashes, and no signature
says otherwise. Events older than :data:`DEFAULT_MAX_UNSEALED_AGE` past the newest
checkpoint fail verification; so do events dated in the future (beyond a small clock skew),
which would otherwise dodge the age rule forever.

What this cannot catch: a forged event dated within the window, before the next
checkpoint seals it. That window is the interval, so keep it as short as runs allow.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from bastion.audit.interface import TamperKind
from bastion.audit.report import Problem

__all__ = ["CLOCK_SKEW", "DEFAULT_MAX_UNSEALED_AGE", "Freshness"]

# A run's events are sealed when it ends; a day covers the longest runs we expect
# (jobs time out after an hour by default) with room for a slow, crowded machine.
DEFAULT_MAX_UNSEALED_AGE = timedelta(hours=24)
CLOCK_SKEW = timedelta(minutes=5)


@dataclass(frozen=True)
class Freshness:
    """The rule for events no checkpoint covers: none older than ``max_age`` at ``now``."""

    max_age: timedelta
    now: datetime

    def check(
        self, start: int, end: int, oldest: datetime | None, newest: datetime | None
    ) -> Problem | None:
        """A problem when events ``start <= seq < end`` (times given) break the rule."""
        if end <= start or oldest is None or newest is None:
            return None
        count = f"{end - start} event(s) from seq {start}"
        if oldest < self.now - self.max_age:
            return Problem(
                TamperKind.UNSEALED,
                f"{count} are covered by no checkpoint, the oldest dated {oldest.isoformat()}, "
                f"more than {_text(self.max_age)} ago: a checkpoint follows every run, so "
                "they were appended behind the log's back or checkpoints were lost "
                "(see --max-unsealed-age)",
                start,
                end,
            )
        if newest > self.now + CLOCK_SKEW:
            return Problem(
                TamperKind.UNSEALED,
                f"{count} are covered by no checkpoint and one is dated in the future "
                f"({newest.isoformat()}): a forged date would escape the age rule",
                start,
                end,
            )
        return None


def _text(age: timedelta) -> str:
    seconds = int(age.total_seconds())
    if seconds % 3600 == 0:
        return f"{seconds // 3600} h"
    return f"{seconds} s"
