"""Durations given to command options: ``30m``, ``12h``, ``7d``.

One syntax for every option (``keys rotate --overlap``, ``alerts kpi --since``): a whole
number from 1 to 999999 with one unit, s, m, h, d or w — the vault's rotation schedules'
(:func:`bastion.vault.parse_max_age`), so ``--max-age 90d`` reads the same way.
"""

from __future__ import annotations

from bastion.errors import UsageError
from bastion.vault import parse_max_age

__all__ = ["duration_seconds", "parse_duration"]


def parse_duration(text: str, option: str) -> int:
    """``text``, the value of ``option``, in seconds; UsageError naming both otherwise."""
    try:
        return parse_max_age(text)
    except UsageError as exc:
        raise UsageError(f"{option} {text!r} is not a duration", hint=exc.hint) from exc


def duration_seconds(text: str) -> int | None:
    """``text`` in seconds when it is a duration, else None (an option that takes a date
    too tries that next)."""
    try:
        return parse_max_age(text)
    except UsageError:
        return None
