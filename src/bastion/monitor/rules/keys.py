"""Bastion's own keys: one past its maximum age (``bastion keys due --record`` records
``key.overdue`` with ``kind``, ``key_id``, ``since``, ``age`` and ``max_age``).

``key-past-max-age`` keeps one open alert per key, so a daily check counts occurrences
instead of opening a new alert each day; a rotated key is a new key and a new alert.
"""

from __future__ import annotations

from collections.abc import Iterable

from bastion.monitor.events import KEY_OVERDUE
from bastion.monitor.interface import Baseline, Observation, Severity, Signal
from bastion.monitor.rules.base import BuiltinRule, short

__all__ = ["KeyPastMaxAge"]


class KeyPastMaxAge(BuiltinRule):
    """A signing, job-identity or audit key is older than its rotation schedule allows."""

    name = "key-past-max-age"
    actions = frozenset({KEY_OVERDUE})
    default_severity = Severity.MEDIUM

    def evaluate(self, event: Observation, baseline: Baseline) -> Iterable[Signal]:
        kind, key_id = event.text("kind", "?"), event.text("key_id", "?")
        title = f"the {short(kind)} key is past its maximum age"
        detail = (
            f"key {short(key_id)} signs since {event.text('since', '?')}, "
            f"{event.text('age', '?')} old, max age {event.text('max_age', '?')}: "
            f"bastion keys rotate {short(kind)}"
        )
        yield self.signal(event, title, detail, f"{kind}:{key_id}")
