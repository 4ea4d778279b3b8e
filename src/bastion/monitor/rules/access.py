"""Access: a secret released to a job that never used it, a secret past its maximum age,
a burst of failed logins.

``secret-first-use`` reads ``secret.released`` (subject ``secret/<name>``, details ``job``
and ``run``); the repository is the run's (:meth:`Baseline.seen` cannot know it, so the
scope is the repository the evaluator recorded for the run, else the job alone).
``failed-login-burst`` counts ``auth.login`` failures and denials per account and per
address in a sliding window; the window lives in memory (an evaluator restart starts it
over, so a burst across a restart may go unnoticed: stated, not hidden).
``secret-past-max-age`` reads ``secret.overdue`` (recorded by ``bastion secrets due
--record``) and keeps one open alert per secret, so a daily check counts occurrences.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from datetime import datetime, timedelta

from bastion.monitor.events import LOGIN, SECRET_OVERDUE, SECRET_RELEASED
from bastion.monitor.interface import Baseline, Observation, Severity, Signal
from bastion.monitor.rules.base import BuiltinRule, short
from bastion.monitor.settings import RuleSettings

__all__ = ["FailedLoginBurst", "SecretFirstUse", "SecretPastMaxAge"]


class SecretFirstUse(BuiltinRule):
    """A job received a secret it never received before (its first secret use of all is
    learned silently, as is a job never seen)."""

    name = "secret-first-use"
    actions = frozenset({SECRET_RELEASED})
    default_severity = Severity.MEDIUM

    def evaluate(self, event: Observation, baseline: Baseline) -> Iterable[Signal]:
        secret = event.subject.removeprefix("secret/")
        job, repo = event.text("job"), event.text("repo")
        scope = f"{repo}:{job}"
        had_any = baseline.known("job-secret", scope)
        if baseline.learn("job-secret", scope, secret) and had_any:
            title = f"job {short(job)} used secret {short(secret)} for the first time"
            detail = f"released for run {event.text('run')}" + (
                f" of {short(repo)}" if repo else ""
            )
            yield self.signal(event, title, detail, f"{scope}:{secret}", repo or None)


class SecretPastMaxAge(BuiltinRule):
    """A secret's value is older than its rotation schedule allows."""

    name = "secret-past-max-age"
    actions = frozenset({SECRET_OVERDUE})
    default_severity = Severity.MEDIUM

    def evaluate(self, event: Observation, baseline: Baseline) -> Iterable[Signal]:
        secret = event.text("name") or event.subject.removeprefix("secret/")
        title = f"secret {short(secret)} is past its maximum age"
        detail = (
            f"last rotated {event.text('rotated', '?')}, {event.text('age', '?')} old, "
            f"max age {event.text('max_age', '?')}: bastion secrets rotate {short(secret)}"
        )
        yield self.signal(event, title, detail, secret)


class FailedLoginBurst(BuiltinRule):
    """``login_failures`` failed sign-ins within ``login_window_seconds``, by account or by
    address; one signal per burst (the count restarts after it)."""

    name = "failed-login-burst"
    actions = frozenset({LOGIN})
    default_severity = Severity.HIGH

    def __init__(self, settings: RuleSettings | None = None) -> None:
        super().__init__(settings)
        self._seen: dict[str, deque[datetime]] = {}
        self._window = timedelta(seconds=self.settings.login_window_seconds)

    def evaluate(self, event: Observation, baseline: Baseline) -> Iterable[Signal]:
        if event.outcome not in {"failure", "denied"}:
            return
        for key in (f"account {event.actor}", f"address {event.text('address', '?')}"):
            times = self._seen.setdefault(key, deque())
            times.append(event.time)
            while times and event.time - times[0] > self._window:
                times.popleft()
            if len(times) >= self.settings.login_failures:
                times.clear()
                title = f"{self.settings.login_failures} failed sign-ins for {short(key)}"
                seconds = int(self._window.total_seconds())
                detail = f"within {seconds} s, the last at {event.time.isoformat()}"
                yield self.signal(event, title, detail, key)
