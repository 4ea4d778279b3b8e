"""Watching one started process tree: stream its output, enforce timeout and cancel.

Shared by the bubblewrap sandbox and the unsafe host runner. Output is read in the calling
thread with a selector, so a job printing a lot can never block on a full pipe while we wait
for it, and the timeout and ``cancel`` are checked at least every ``POLL_SECONDS``.
"""

from __future__ import annotations

import contextlib
import os
import selectors
import signal
import subprocess
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

__all__ = ["POLL_SECONDS", "Outcome", "supervise"]

POLL_SECONDS = 0.05
# After the main process exits, how long leftover writers may keep the pipe open.
_DRAIN_SECONDS = 1.0
_READ_SIZE = 65536


@dataclass(frozen=True, slots=True)
class Outcome:
    """How a supervised process ended."""

    exit_code: int
    signal: int | None
    timed_out: bool
    cancelled: bool
    duration_seconds: float


def _read_ready(
    selector: selectors.BaseSelector, sinks: Mapping[int, Callable[[bytes], None]]
) -> None:
    for key, _ in selector.select(POLL_SECONDS):
        fd = int(key.fd)
        chunk = os.read(fd, _READ_SIZE)
        if chunk:
            sinks[fd](chunk)
        else:
            selector.unregister(fd)


def supervise(
    process: subprocess.Popen[bytes],
    sinks: Mapping[int, Callable[[bytes], None]],
    *,
    timeout_seconds: float,
    cancel: Callable[[], bool] | None,
    kill_tree: Callable[[], None],
    after_exit: Callable[[], None] | None = None,
) -> Outcome:
    """Read every fd in ``sinks`` until EOF while ``process`` runs; kill on timeout/cancel.

    ``kill_tree`` must kill the whole tree; it is also called if a sink raises, so no job
    outlives an error of ours. ``after_exit`` runs once when the main process has exited.
    """
    start = time.monotonic()
    deadline = start + timeout_seconds
    timed_out = cancelled = False
    exited_at: float | None = None
    with selectors.DefaultSelector() as selector:
        for fd in sinks:
            selector.register(fd, selectors.EVENT_READ)
        try:
            while True:
                if not (timed_out or cancelled):
                    if cancel is not None and cancel():
                        cancelled = True
                        kill_tree()
                    elif time.monotonic() >= deadline:
                        timed_out = True
                        kill_tree()
                if exited_at is None and process.poll() is not None:
                    exited_at = time.monotonic()
                    if after_exit is not None:
                        after_exit()
                if not selector.get_map():
                    if exited_at is not None:
                        break
                    # Output is closed: wait for the exit itself, still waking to poll.
                    with contextlib.suppress(subprocess.TimeoutExpired):
                        process.wait(POLL_SECONDS)
                    continue
                if exited_at is not None and time.monotonic() - exited_at > _DRAIN_SECONDS:
                    break
                _read_ready(selector, sinks)
        except BaseException:
            kill_tree()
            process.wait()
            raise
    returncode = process.wait()
    signum = -returncode if returncode < 0 else None
    if timed_out or cancelled:
        signum = signal.SIGKILL
    exit_code = 128 + signum if signum is not None else returncode
    return Outcome(exit_code, signum, timed_out, cancelled, time.monotonic() - start)
