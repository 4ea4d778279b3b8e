"""Drift on a schedule: ``bastion serve`` checks every deployed environment every interval.

    >>> watch = DriftWatch(home, sink, interval=300.0)  # doctest: +SKIP
    >>> watch.start(); ...; watch.stop()

Each pass walks ``<home>/deploy/*/environment.json`` and runs :func:`check_drift` on each
environment, so a difference is audited as ``deploy.drift_detected``, which the monitor's
``deploy-drift`` rule turns into an alert. An environment whose ``environment.json`` no
longer parses is drift too (audited the same way, naming the file's error): a watch that
skipped it would stay silent exactly when someone has tampered with it. For the same reason
an environment with a deploy state but no ``environment.json`` left is checked (and drifts),
and one whose check fails (an unreadable deploy state, say) is drift too, without stopping
the pass: every other environment is still checked.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path

from bastion.audit import AuditEvent, Outcome
from bastion.deploy.drift import DriftReport, check_drift
from bastion.deploy.interface import AuditSink, EnvironmentConfig
from bastion.errors import BastionError, UsageError
from bastion.periodic import Periodic

__all__ = ["DRIFT_ACTOR", "DriftWatch"]

DRIFT_ACTOR = "system:drift-watch"
MAX_INTERVAL = 30 * 24 * 3600.0
STATE_FILE = "state.json"  # what EnvironmentState.save writes: something was deployed
logger = logging.getLogger("bastion.deploy")


class DriftWatch:
    """Checks every environment under ``home`` for drift, every ``interval`` s, in a thread."""

    def __init__(self, home: Path, audit: AuditSink, interval: float) -> None:
        # Not finite is refused too: a NaN wait returns at once (a pass after pass, flooding
        # the audit log) and an infinite one raises in the thread (the watch silently gone).
        if not (math.isfinite(interval) and 0 < interval <= MAX_INTERVAL):
            raise UsageError(
                f"drift interval {interval} must be a positive number of seconds, at most "
                f"{MAX_INTERVAL:.0f} (30 days)",
                hint="e.g. --drift-interval 300, or 0 for no drift checks",
            )
        self.home, self.audit, self.interval = home, audit, interval
        self._thread = Periodic(
            "bastion-drift",
            interval,
            self.run_once,
            logger,
            "drift check",
            first_pass_now=False,
            survive_bugs=True,
        )

    def environments(self) -> list[str]:
        """The names of the environments configured or deployed under ``home``, sorted: a
        folder with a ``state.json`` counts even when its ``environment.json`` was removed."""
        root = self.home / "deploy"
        if not root.is_dir():
            return []
        marks = ("environment.json", STATE_FILE)
        return sorted({p.parent.name for mark in marks for p in root.glob(f"*/{mark}")})

    def run_once(self) -> list[DriftReport]:
        """One pass over every environment; each result is in the audit log."""
        return [self._check(name) for name in self.environments()]

    def _check(self, name: str) -> DriftReport:
        try:
            config = EnvironmentConfig.load(self.home, name)
        except UsageError as exc:
            return self._drifted(name, ("environment.json", "readable", exc.message))
        try:
            return check_drift(self.home, config, self.audit, DRIFT_ACTOR)
        except (BastionError, OSError) as exc:
            # Not knowing is not "no drift": say so, and go on to the next environment.
            problem = exc.message if isinstance(exc, BastionError) else str(exc)
            return self._drifted(name, ("check", "completed", problem))

    def _drifted(self, name: str, difference: tuple[str, str, str]) -> DriftReport:
        report = DriftReport(name, (difference,))
        event = AuditEvent(
            DRIFT_ACTOR,
            "deploy.drift_detected",
            f"deploy/{name}",
            Outcome.FAILURE,
            report.to_dict(),
        )
        self.audit(event)
        return report

    def start(self) -> None:
        """Start the background thread (once); the first pass runs one interval from now."""
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        """Ask the thread to stop and wait for the pass in progress to finish."""
        self._thread.stop(timeout)
