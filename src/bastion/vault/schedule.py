"""Rotation schedules: a secret's maximum age, and which secrets are past it.

    >>> parse_max_age("90d")
    7776000
    >>> format_age(7776000)
    '90d'

A schedule is kept in the secret's entry (``max_age`` in seconds), which the vault index
authenticates; the age counts from ``rotated`` (the last time the value changed, not a
scope change), falling back to ``updated`` for entries written before schedules existed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from bastion.errors import UsageError
from bastion.vault.store import SecretInfo

__all__ = ["OverdueSecret", "format_age", "overdue_secrets", "parse_max_age"]

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_AGE = re.compile(r"^([1-9][0-9]{0,5})([smhdw])$")


def parse_max_age(text: str) -> int:
    """``90d``, ``12h``, ``4w`` … as seconds; anything else is a usage error."""
    match = _AGE.fullmatch(text.strip())
    if match is None:
        raise UsageError(
            f"invalid maximum age {text!r}",
            hint="a whole number with a unit: s, m, h, d or w (e.g. 90d)",
        )
    return int(match.group(1)) * _UNITS[match.group(2)]


def format_age(seconds: int) -> str:
    """The largest whole unit that expresses ``seconds`` exactly (``7776000`` -> ``90d``)."""
    for unit in ("w", "d", "h", "m"):
        if seconds >= _UNITS[unit] and seconds % _UNITS[unit] == 0:
            return f"{seconds // _UNITS[unit]}{unit}"
    return f"{seconds}s"


def _parse_time(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class OverdueSecret:
    """A secret whose value is older than its schedule allows (never its value)."""

    name: str
    rotated: str
    age: int
    max_age: int

    def to_json(self) -> dict[str, object]:
        """JSON form (what ``secret.overdue`` audit events carry)."""
        return {
            "name": self.name,
            "rotated": self.rotated,
            "age": format_age(self.age),
            "max_age": format_age(self.max_age),
        }


def overdue_secrets(infos: Iterable[SecretInfo], now: datetime) -> list[OverdueSecret]:
    """The secrets in ``infos`` with a schedule whose value is older than it, oldest first."""
    found = []
    for info in infos:
        if info.max_age is None:
            continue
        rotated = info.rotated or info.updated
        age = int((now - _parse_time(rotated)).total_seconds())
        if age > info.max_age:
            found.append(OverdueSecret(info.name, rotated, age, info.max_age))
    return sorted(found, key=lambda item: item.rotated)
