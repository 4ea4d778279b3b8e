"""Human units in pipeline files: durations (``90s``, ``10m``, ``1h30m``) and sizes (``512M``)."""

from __future__ import annotations

import re

__all__ = ["parse_duration", "parse_size"]

_DURATION = re.compile(r"^(?:(?P<h>\d+)h)?(?:(?P<m>\d+)m)?(?:(?P<s>\d+(?:\.\d+)?)s)?$")
_SIZE = re.compile(r"^(?P<n>\d+(?:\.\d+)?)\s*(?P<u>[KMGT]i?B?|B)?$", re.IGNORECASE)
_SIZE_FACTORS = {"": 1, "B": 1, "K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4}


def parse_duration(value: object) -> float:
    """Seconds from ``30``, ``"45s"``, ``"10m"`` or ``"1h30m"``; ValueError otherwise."""
    if isinstance(value, bool):
        raise ValueError("a duration is a number of seconds or text like '10m'")
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str):
        text = value.strip().lower()
        match = _DURATION.match(text)
        if not text or match is None or not any(match.groupdict().values()):
            raise ValueError(f"'{value}' is not a duration; write e.g. 90s, 10m or 1h30m")
        parts = match.groupdict()
        seconds = int(parts["h"] or 0) * 3600 + int(parts["m"] or 0) * 60 + float(parts["s"] or 0)
    else:
        raise ValueError("a duration is a number of seconds or text like '10m'")
    if seconds <= 0:
        raise ValueError("a duration must be positive")
    return seconds


def parse_size(value: object) -> int:
    """Bytes from ``1073741824``, ``"512M"``, ``"2GiB"``; ValueError otherwise."""
    if isinstance(value, bool):
        raise ValueError("a size is a number of bytes or text like '512M'")
    if isinstance(value, int):
        size = value
    elif isinstance(value, str):
        match = _SIZE.match(value.strip())
        if match is None:
            raise ValueError(f"'{value}' is not a size; write e.g. 512M or 2G")
        unit = (match["u"] or "").upper().replace("I", "").replace("B", "") or ""
        size = int(float(match["n"]) * _SIZE_FACTORS[unit])
    else:
        raise ValueError("a size is a number of bytes or text like '512M'")
    if size <= 0:
        raise ValueError("a size must be positive")
    return size
