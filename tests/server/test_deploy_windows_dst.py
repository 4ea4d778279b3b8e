"""Deploy windows across daylight-saving changes (issue 14 review): the next opening the
approval refusal names is a moment the window is really open, and the first such moment.
On a spring-forward night a window whose start the clock skips opens at the jump, one wholly
inside the gap does not open that day; on a fall-back night a repeated start opens at the first.
Europe/Berlin moves at 01:00 UTC: 2030-03-31 02:00 -> 03:00 and 2030-10-27 03:00 -> 02:00."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bastion.server.deploy_windows import DeployWindow, next_opening, parse_windows

SATURDAY_BEFORE_SPRING = datetime(2030, 3, 30, 12, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "at", "opens"),
    [
        # The start (02:30) is skipped: the window opens when the clock jumps to 03:00.
        ("Sun 02:30-04:00 Europe/Berlin", SATURDAY_BEFORE_SPRING, datetime(2030, 3, 31, 1, 0)),
        # Wholly inside the skipped hour: not that Sunday, the next one (02:15 CEST).
        ("Sun 02:15-02:45 Europe/Berlin", SATURDAY_BEFORE_SPRING, datetime(2030, 4, 7, 0, 15)),
        # 02:30 happens twice: the first, in summer time (00:30 UTC).
        (
            "Sun 02:30-02:45 Europe/Berlin",
            datetime(2030, 10, 26, 12),
            datetime(2030, 10, 27, 0, 30),
        ),
        # Missed the first 02:30-02:45: the repeated one (02:30 CET, 01:30 UTC) is next.
        (
            "Sun 02:30-02:45 Europe/Berlin",
            datetime(2030, 10, 27, 0, 50),
            datetime(2030, 10, 27, 1, 30),
        ),
    ],
)
def test_the_next_opening_across_a_clock_change(text: str, at: datetime, opens: datetime) -> None:
    window = DeployWindow.parse(text)
    at, opens = at.replace(tzinfo=UTC), opens.replace(tzinfo=UTC)
    assert window.next_start(at) == opens
    assert window.contains(opens)
    assert not window.contains(opens - timedelta(minutes=1))


@settings(max_examples=300, deadline=None)
@given(
    at=st.datetimes(
        min_value=datetime(2030, 3, 20), max_value=datetime(2030, 11, 5), timezones=st.just(UTC)
    ),
    zone=st.sampled_from(["Europe/Berlin", "America/New_York", "Australia/Lord_Howe"]),
    days=st.sets(st.integers(0, 6), min_size=1),
    start=st.integers(0, 24 * 60 - 1),
    length=st.integers(1, 24 * 60),
)
def test_the_next_opening_is_open_in_any_zone(
    at: datetime, zone: str, days: set[int], start: int, length: int
) -> None:
    names = ",".join(("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")[d] for d in sorted(days))
    end = min(start + length, 24 * 60)
    text = f"{names} {start // 60:02}:{start % 60:02}-{end // 60:02}:{end % 60:02} {zone}"
    windows = parse_windows([text])
    opening = next_opening(windows, at)
    assert opening >= at
    assert windows[0].contains(opening)
    assert opening - at <= timedelta(days=15)


def test_a_naive_time_is_refused_not_read_as_the_hosts_local_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # On a host in Berlin, naive 12:30 read as local is 11:30 UTC: inside a window that
    # closes at 12:00 UTC. Refused instead of judged on the host's zone.
    monkeypatch.setenv("TZ", "Europe/Berlin")
    time.tzset()
    try:
        window = DeployWindow.parse("Tue 09:00-12:00 UTC")
        naive = datetime(2030, 1, 1, 12, 30)
        with pytest.raises(ValueError, match="has no time zone"):
            window.contains(naive)
        with pytest.raises(ValueError, match="has no time zone"):
            window.next_start(naive)
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()
