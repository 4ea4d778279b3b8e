"""Deploy windows (issue 14): the format, its refusals naming the fix, approvals refused
outside a window, and an approved job waiting for the next window when it closed meanwhile.

The server's test clock starts on Tuesday 2030-01-01 12:00 UTC."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bastion.server.approvals import Approvals, Decision, RequestState
from bastion.server.deploy_windows import DeployWindow, next_opening, parse_windows
from bastion.server.environments import EnvironmentSettings
from bastion.server.errors import BadRequestError, ForbiddenError
from bastion.server.permissions import Role
from tests.server.conftest import Server
from tests.server.test_approval_api import _as
from tests.server.test_approvals import _open, _person, _vote, approvals, repo

__all__ = ["approvals", "repo"]  # the fixtures, shared with the approval tests

TUESDAY_NOON = datetime(2030, 1, 1, 12, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "at", "inside"),
    [
        ("Mon-Fri 09:00-17:00 UTC", TUESDAY_NOON, True),
        ("Mon-Fri 09:00-17:00 UTC", TUESDAY_NOON.replace(hour=17), False),  # the end excluded
        ("Mon-Fri 09:00-17:00 UTC", TUESDAY_NOON + timedelta(days=4), False),  # Saturday
        ("Fri-Mon 00:00-24:00 UTC", TUESDAY_NOON + timedelta(days=5), True),  # Sunday, wrapped
        ("Mon-Wed,Fri 10:00-11:00 UTC", TUESDAY_NOON.replace(hour=10), True),
        ("* 12:00-12:01 UTC", TUESDAY_NOON, True),
        # 12:00 UTC is 13:00 in Berlin in winter: outside a 09:00-13:00 Berlin window.
        ("Tue 09:00-13:00 Europe/Berlin", TUESDAY_NOON, False),
        ("Tue 09:00-13:01 Europe/Berlin", TUESDAY_NOON, True),
    ],
)
def test_a_window_contains_its_wall_clock_times(text: str, at: datetime, inside: bool) -> None:
    assert DeployWindow.parse(text).contains(at) is inside


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("Mon-Fri 9:00-17:00 UTC", "not of the form"),
        ("Mon-Fri 09:00-17:00", "not of the form"),
        ("Monday 09:00-17:00 UTC", "'Monday' is not a day"),
        ("Mon-Fri 09:00-25:00 UTC", "'25:00' is not a time of day"),
        ("Mon-Fri 17:00-09:00 UTC", "the start must be before the end"),
        ("Mon-Fri 09:00-17:00 Mars/Olympus", "unknown time zone 'Mars/Olympus'"),
        ("Mon-Fri 09:00-17:00 ../etc/passwd", "is not a time zone"),
    ],
)
def test_a_malformed_window_is_refused_naming_the_fix(text: str, problem: str) -> None:
    with pytest.raises(BadRequestError) as raised:
        EnvironmentSettings("production", deploy_windows=(text,))
    assert problem in raised.value.message
    assert "write DAYS HH:MM-HH:MM ZONE, e.g. 'Mon-Fri 09:00-17:00 UTC'" in raised.value.message


@given(
    at=st.datetimes(  # naive bounds, as hypothesis wants; the values get timezones=
        min_value=datetime(2000, 1, 1),
        max_value=datetime(2100, 1, 1),
        timezones=st.just(UTC),
    ),
    days=st.sets(st.integers(0, 6), min_size=1),
    start=st.integers(0, 24 * 60 - 1),
    length=st.integers(1, 24 * 60),
)
def test_the_next_opening_is_inside_a_window_and_not_in_the_past(
    at: datetime, days: set[int], start: int, length: int
) -> None:
    names = ",".join(("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")[d] for d in sorted(days))
    end = min(start + length, 24 * 60)
    text = f"{names} {start // 60:02}:{start % 60:02}-{end // 60:02}:{end % 60:02} UTC"
    windows = parse_windows([text])
    opening = next_opening(windows, at)
    assert opening >= at
    assert windows[0].contains(opening)
    assert opening - at <= timedelta(days=7)


def test_the_api_refuses_a_bad_window_and_keeps_a_good_one(server: Server) -> None:
    _as(server, "root", Role.ADMIN)
    headers = {"X-CSRF-Token": server.csrf()}
    bad = server.client.put(
        "/api/environments/production", json={"deploy_windows": ["weekdays"]}, headers=headers
    )
    assert bad.status_code == 400
    assert "e.g. 'Mon-Fri 09:00-17:00 UTC'" in bad.text
    good = server.client.put(
        "/api/environments/production",
        json={"deploy_windows": ["Mon-Fri 09:00-17:00 UTC"]},
        headers=headers,
    )
    assert good.status_code == 200, good.text
    assert good.json()["deploy_windows"] == ["Mon-Fri 09:00-17:00 UTC"]


def _windowed(approvals: Approvals, window: str, wait_timer: int = 0) -> None:
    approvals.environments.put(
        EnvironmentSettings(
            "production", required_approvals=2, wait_timer=wait_timer, deploy_windows=(window,)
        )
    )


def test_an_approval_outside_the_window_is_refused_a_rejection_is_not(
    server: Server, approvals: Approvals, repo: Path
) -> None:
    _windowed(approvals, "Sat-Sun 10:00-16:00 UTC")  # closed on Tuesday
    held, rid = _open(approvals, repo)
    try:
        alice, bob = _person(server, "alice"), _person(server, "bob")
        with pytest.raises(ForbiddenError) as refused:
            approvals.decide(rid, _vote(server, alice, "alice"))
        assert "production is deployed to only within Sat-Sun 10:00-16:00 UTC" in str(
            refused.value.message
        )
        assert "the next window opens at 2030-01-05 10:00 UTC" in refused.value.message
        assert server.audit.actions().count("approval.approve") == 1  # the refusal, audited
        assert approvals.poll(rid) is RequestState.PENDING  # it waits, nothing counted
        rejected = approvals.decide(rid, _vote(server, bob, "bob", decision=Decision.REJECT))
        assert rejected is RequestState.REJECTED
        assert not held.join().approved
    finally:
        held.cancel.set()


def test_an_approved_job_waits_for_the_window_it_missed(
    server: Server, approvals: Approvals, repo: Path
) -> None:
    _windowed(approvals, "Tue 12:00-13:00 UTC", wait_timer=1)
    held, rid = _open(approvals, repo)
    try:
        alice, bob = _person(server, "alice"), _person(server, "bob")
        approvals.decide(rid, _vote(server, alice, "alice"))
        assert approvals.decide(rid, _vote(server, bob, "bob")) is RequestState.APPROVED
        server.clock.now = TUESDAY_NOON.replace(hour=13, minute=30)  # during the wait timer
        threading.Event().wait(1.5)
        assert held.decision is None  # approved, but the window closed: held
        server.clock.now = TUESDAY_NOON + timedelta(days=7)  # next Tuesday's window
        assert held.join().approved
    finally:
        held.cancel.set()
