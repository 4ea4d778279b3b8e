"""The shared background loop: passes every interval, outages and (when asked) bugs survived."""

from __future__ import annotations

import logging
import threading

import pytest

from bastion.errors import BastionError
from bastion.periodic import Periodic

LOGGER = logging.getLogger("test.periodic")


def _failing(kind: type[Exception], passes: list[int], done: threading.Event) -> Periodic:
    def task() -> None:
        passes.append(1)
        if len(passes) >= 3:
            done.set()
        raise kind("boom")

    return Periodic("test", 0.01, task, LOGGER, "test pass", survive_bugs=True)


@pytest.mark.parametrize("kind", [BastionError, RuntimeError])
def test_a_failing_pass_is_retried_at_the_next_interval(kind: type[Exception]) -> None:
    passes: list[int] = []
    done = threading.Event()
    loop = _failing(kind, passes, done)
    loop.start()
    try:
        assert done.wait(10), passes
    finally:
        loop.stop()
    assert len(passes) >= 3


def test_without_survive_bugs_a_bug_ends_the_loop_and_an_outage_does_not() -> None:
    calls: list[str] = []
    outage = threading.Event()

    def task() -> None:
        calls.append("pass")
        if len(calls) == 1:
            raise BastionError("database away")
        outage.set()
        raise RuntimeError("bug")

    loop = Periodic("test", 0.01, task, LOGGER, "test pass")
    hooked: list[BaseException | None] = []
    previous = threading.excepthook
    threading.excepthook = lambda args: hooked.append(args.exc_value)
    try:
        loop.start()
        assert outage.wait(10)
        loop.stop()
    finally:
        threading.excepthook = previous
    assert calls == ["pass", "pass"]
    assert isinstance(hooked[0], RuntimeError)
