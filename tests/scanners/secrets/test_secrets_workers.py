"""Forked workers: results from every task, and failures that fail closed."""

from __future__ import annotations

import os

import pytest

from bastion.errors import GateError, UsageError
from bastion.scanners.secrets.workers import run_forked


def _square(value: int) -> int:
    return value * value


def _explode(value: int) -> int:
    if value == 3:
        raise ValueError("bad input 3")
    return value


def _refuse(value: int) -> int:
    raise UsageError(f"refused {value}")


def _pid(_value: int) -> int:
    return os.getpid()


def _die(value: int) -> int:
    os._exit(9)


def test_every_task_is_done_once() -> None:
    assert sorted(run_forked(2, iter(range(50)), _square)) == [n * n for n in range(50)]


def test_no_tasks_gives_no_results() -> None:
    assert list(run_forked(2, iter([]), _square)) == []


@pytest.mark.parametrize(
    ("work", "message"),
    [(_explode, "ValueError: bad input 3"), (_refuse, "refused"), (_die, "died unexpectedly")],
)
def test_worker_failures_raise_gate_errors(work: object, message: str) -> None:
    with pytest.raises(GateError, match=message):
        list(run_forked(2, iter(range(6)), work))  # type: ignore[arg-type]


def test_abandoned_iteration_stops_the_workers() -> None:
    results = run_forked(2, iter(range(1000)), _square)
    assert next(results) >= 0
    results.close()  # kills and reaps the children; nothing is left running


def test_a_worker_killed_between_tasks_is_noticed() -> None:
    import signal

    results = run_forked(1, iter(range(100)), _pid)
    child = next(results)
    os.kill(child, signal.SIGKILL)
    with pytest.raises(GateError, match="died unexpectedly"):
        list(results)
