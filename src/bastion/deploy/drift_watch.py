"""Drift on a schedule: ``bastion serve`` checks every deployed environment every interval.

    >>> watch = DriftWatch(home, sink, interval=300.0)  # doctest: +SKIP
    >>> watch.start(); ...; watch.stop()

Each pass walks ``<home>/deploy/*/environment.json`` and runs :func:`check_drift` on each
environment, so a difference is audited as ``deploy.drift_detected``, which the monitor's
``deploy-drift`` rule turns into an alert. An environment whose ``environment.json`` no
longer parses is drift too (audited the same way, naming the file's error): a watch that
skipped it would stay silent exactly when someone has tampered with it.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from bastion.audit import AuditEvent, Outcome
from bastion.deploy.drift import DriftReport, check_drift
from bastion.deploy.interface import AuditSink, EnvironmentConfig
from bastion.errors import BastionError, UsageError

__all__ = ["DRIFT_ACTOR", "DriftWatch"]

DRIFT_ACTOR = "system:drift-watch"
logger = logging.getLogger("bastion.deploy")


class DriftWatch:
    """Checks every environment under ``home`` for drift, every ``interval`` s, in a thread."""

    def __init__(self, home: Path, audit: AuditSink, interval: float) -> None:
        if interval <= 0:
            raise UsageError(f"drift interval {interval} must be a positive number of seconds")
        self.home, self.audit, self.interval = home, audit, interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def environments(self) -> list[str]:
        """The names of the environments configured under ``home``, sorted."""
        root = self.home / "deploy"
        if not root.is_dir():
            return []
        return sorted(p.parent.name for p in root.glob("*/environment.json"))

    def run_once(self) -> list[DriftReport]:
        """One pass over every environment; each result is in the audit log."""
        return [self._check(name) for name in self.environments()]

    def _check(self, name: str) -> DriftReport:
        try:
            config = EnvironmentConfig.load(self.home, name)
        except UsageError as exc:
            report = DriftReport(name, (("environment.json", "readable", exc.message),))
            details = report.to_dict()
            event = AuditEvent(
                DRIFT_ACTOR, "deploy.drift_detected", f"deploy/{name}", Outcome.FAILURE, details
            )
            self.audit(event)
            return report
        return check_drift(self.home, config, self.audit, DRIFT_ACTOR)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.run_once()
            except BastionError as exc:  # e.g. the audit log unreachable: the next pass retries
                logger.warning("drift check failed: %s", exc.message)

    def start(self) -> None:
        """Start the background thread (once); the first pass runs one interval from now."""
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="bastion-drift", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        """Ask the thread to stop and wait for the pass in progress to finish."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
