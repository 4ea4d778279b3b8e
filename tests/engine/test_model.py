"""Closed choices are mapped exhaustively: every state has its exit code and finality."""

from __future__ import annotations

import pytest

from bastion.engine.model import JobState, RunState, Trust


@pytest.mark.parametrize("state", list(RunState))
def test_every_run_state_has_an_exit_code(state: RunState) -> None:
    expected = {
        RunState.PASSED: 0,
        RunState.FAILED: 1,
        RunState.BLOCKED: 1,
        RunState.CANCELLED: 130,
    }.get(state, 3)
    assert state.exit_code == expected


@pytest.mark.parametrize("state", list(JobState))
def test_job_finality(state: JobState) -> None:
    assert state.final is (state not in (JobState.QUEUED, JobState.RUNNING))


def test_trust_levels_match_the_trust_model() -> None:
    assert [t.value for t in Trust] == [
        "untrusted",
        "internal",
        "trusted",
        "release",
        "local",
        "dirty",
    ]
