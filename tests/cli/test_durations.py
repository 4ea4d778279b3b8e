"""Durations given to command options (``--overlap 2h``, ``--since 30d``): one syntax, and a
value that is not one is a usage error naming the option and the syntax."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bastion.cli.durations import duration_seconds, parse_duration
from bastion.errors import UsageError

UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("30s", 30), ("30m", 1800), ("12h", 43200), ("7d", 604800), ("2w", 1209600), (" 1h ", 3600)],
)
def test_a_duration_in_seconds(text: str, seconds: int) -> None:
    assert parse_duration(text, "--overlap") == seconds
    assert duration_seconds(text) == seconds


@given(st.integers(min_value=1, max_value=999_999), st.sampled_from(sorted(UNITS)))
def test_every_count_with_every_unit(count: int, unit: str) -> None:
    assert parse_duration(f"{count}{unit}", "--overlap") == count * UNITS[unit]


@pytest.mark.parametrize(
    "text", ["", "soon", "30", "h", "0d", "-1h", "1.5h", "1h30m", "12H", "1000000d", "2026-01-31"]
)
def test_anything_else_is_refused_naming_the_option_and_the_syntax(text: str) -> None:
    with pytest.raises(UsageError) as refused:
        parse_duration(text, "--overlap")
    assert refused.value.message == f"--overlap {text!r} is not a duration"
    assert refused.value.hint == "a whole number with a unit: s, m, h, d or w (e.g. 90d)"
    assert duration_seconds(text) is None
