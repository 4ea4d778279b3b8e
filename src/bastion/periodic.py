"""A task run every ``interval`` seconds in a daemon thread, until stopped.

    watch = Periodic("bastion-drift", 300.0, check_all, logger, "drift check")
    watch.start(); ...; watch.stop()

The server's background passes (monitor, drift) share this one loop: start once, stop waits
for the pass in progress. A pass failing with a :class:`~bastion.errors.BastionError` (an
outage) is logged and retried at the next interval; ``survive_bugs`` also keeps the thread
alive through any other exception (logged with its traceback). Like :mod:`bastion.errors`,
this root module may be imported by every package.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from bastion.errors import BastionError

__all__ = ["Periodic"]


class Periodic:
    """Runs ``task`` every ``interval`` s in a thread named ``name``."""

    def __init__(
        self,
        name: str,
        interval: float,
        task: Callable[[], object],
        logger: logging.Logger,
        what: str,
        *,
        first_pass_now: bool = True,
        survive_bugs: bool = False,
    ) -> None:
        self.name, self.interval, self.task = name, interval, task
        self._logger, self._what = logger, what
        self._first_pass_now, self._survive_bugs = first_pass_now, survive_bugs
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _pass(self) -> None:
        try:
            self.task()
        except BastionError as exc:  # an outage: the next pass retries
            self._logger.warning("%s failed: %s", self._what, exc.message)
        except Exception:
            if not self._survive_bugs:
                raise
            self._logger.exception("%s failed", self._what)  # never end silently

    def _run(self) -> None:
        if self._first_pass_now and not self._stop.is_set():
            self._pass()
        while not self._stop.wait(self.interval):
            self._pass()

    def start(self) -> None:
        """Start the background thread (once)."""
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        """Ask the thread to stop and wait for the pass in progress to finish."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
