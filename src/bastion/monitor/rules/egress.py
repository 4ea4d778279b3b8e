"""Egress: a host new to a repository's job (against the baseline learned from its earlier
requests; a job's first requests are learned silently), and denied egress attempts.

Input: ``egress.request`` (:mod:`bastion.monitor.events`).
"""

from __future__ import annotations

from collections.abc import Iterable

from bastion.monitor.events import EGRESS_REQUEST
from bastion.monitor.interface import Baseline, Observation, Severity, Signal
from bastion.monitor.rules.base import BuiltinRule, run_of, short

__all__ = ["EgressDenied", "NewEgressHost"]


class NewEgressHost(BuiltinRule):
    """An allowed request to a host this repository's job never reached before."""

    name = "new-egress-host"
    actions = frozenset({EGRESS_REQUEST})
    default_severity = Severity.MEDIUM

    def evaluate(self, event: Observation, baseline: Baseline) -> Iterable[Signal]:
        if event.outcome != "success":
            return
        repo, job, host = event.text("repo"), event.text("job"), event.text("host")
        if not host:
            return
        scope = f"{repo}:{job}"
        had_any = baseline.known("egress-host", scope)
        if baseline.learn("egress-host", scope, host) and had_any:
            title = f"job {short(job)} of {short(repo)} reached new host {short(host)}"
            detail = (
                f"{run_of(event.subject) or event.subject}, port {event.details.get('port', '?')}"
            )
            yield self.signal(event, title, detail, f"{scope}:{host}", repo)


class EgressDenied(BuiltinRule):
    """A request the egress proxy refused (one open alert per repository, job and host)."""

    name = "egress-denied"
    actions = frozenset({EGRESS_REQUEST})
    default_severity = Severity.HIGH

    def evaluate(self, event: Observation, baseline: Baseline) -> Iterable[Signal]:
        if event.outcome != "denied":
            return
        repo, job, host = event.text("repo"), event.text("job"), event.text("host")
        title = f"egress to {short(host or '?')} denied for job {short(job)} of {short(repo)}"
        reason = short(event.text("reason", "not allowed"))
        detail = f"{run_of(event.subject) or event.subject}: {reason}"
        yield self.signal(event, title, detail, f"{repo}:{job}:{host}", repo)
