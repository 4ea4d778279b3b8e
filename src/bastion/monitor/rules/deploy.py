"""Deployments and approvals: an unprotected ref, a build of a trust that may not deploy,
an approval outside the environment's deploy window, an approver new to the environment.

Input shapes (``deploy.started``, ``approval.granted``, ``approval.approve``) are described
in :mod:`bastion.monitor.events`. The server records each approving vote as
``approval.approve``: only votes that counted (outcome ``success``) are approvals here; a
refused one (wrong code, four-eyes, outside a window the server enforces) approved nothing.
"""

from __future__ import annotations

from collections.abc import Iterable

from bastion.monitor.events import APPROVAL_GRANTED, APPROVAL_VOTE, DEPLOY_STARTED
from bastion.monitor.interface import Baseline, Observation, Severity, Signal
from bastion.monitor.rules.base import BuiltinRule, short
from bastion.trust import Trust

_APPROVALS = frozenset({APPROVAL_GRANTED, APPROVAL_VOTE})


def _counted(event: Observation) -> bool:
    """An approval that took effect (a refused vote approved nothing)."""
    return event.action == APPROVAL_GRANTED or event.outcome == "success"


__all__ = [
    "ApprovalByNewApprover",
    "ApprovalOutsideWindow",
    "DeployFromLowTrust",
    "DeployFromUnprotectedRef",
]


class DeployFromUnprotectedRef(BuiltinRule):
    """A deployment whose ref is not known to be protected (``protected`` is not true: an
    event that does not say, like those of versions before the deploy recorded it, alerts)."""

    name = "deploy-unprotected-ref"
    actions = frozenset({DEPLOY_STARTED})
    default_severity = Severity.CRITICAL

    def evaluate(self, event: Observation, baseline: Baseline) -> Iterable[Signal]:
        if event.details.get("protected") is True:
            return
        env, ref, repo = event.text("environment"), event.text("ref"), event.text("repo")
        title = f"deploy to {short(env)} from unprotected ref {short(ref or 'unknown')}"
        yield self.signal(event, title, _deployed(event), f"{repo}:{env}:{ref}:{event.seq}", repo)


class DeployFromLowTrust(BuiltinRule):
    """A deployment of a build whose trust may not deploy to a protected environment
    (anything but ``trusted`` or ``release``; a missing or unknown trust alerts)."""

    name = "deploy-low-trust"
    actions = frozenset({DEPLOY_STARTED})
    default_severity = Severity.HIGH

    def evaluate(self, event: Observation, baseline: Baseline) -> Iterable[Signal]:
        trust = event.text("trust", "unknown")
        if _may_deploy(trust):
            return
        env, repo = event.text("environment"), event.text("repo")
        title = f"deploy to {short(env)} from a run of trust {short(trust)}"
        detail = f"{_deployed(event)}; trusted or release expected"
        yield self.signal(event, title, detail, f"{repo}:{env}:{event.seq}", repo)


def _may_deploy(trust: str) -> bool:
    try:
        return Trust(trust).deploys_protected
    except ValueError:  # an unknown level is no proof of trust
        return False


def _deployed(event: Observation) -> str:
    """Which build was deployed, by whom: repository, ref and commit as the event says."""
    source = f"{short(event.text('repo') or 'unknown repository')} {short(event.text('ref'))}"
    return f"{source} @ {short(event.text('commit') or '?')} deployed by {event.actor}"


class ApprovalOutsideWindow(BuiltinRule):
    """An approval for an environment with a deploy window, given outside it."""

    name = "approval-outside-window"
    actions = _APPROVALS
    default_severity = Severity.MEDIUM

    def evaluate(self, event: Observation, baseline: Baseline) -> Iterable[Signal]:
        if not _counted(event):
            return
        env = event.text("environment")
        window = self.settings.deploy_windows.get(env)
        if window is None or window.contains(event.time):
            return
        repo = event.text("repo") or None
        title = f"approval for {short(env)} outside its deploy window"
        detail = f"{event.actor} approved {event.subject} at {event.time.isoformat()}"
        yield self.signal(event, title, detail, f"{env}:{event.seq}", repo)


class ApprovalByNewApprover(BuiltinRule):
    """An approver who never approved this environment before (the first approver of an
    environment is learned silently)."""

    name = "approval-new-approver"
    actions = _APPROVALS
    default_severity = Severity.MEDIUM

    def evaluate(self, event: Observation, baseline: Baseline) -> Iterable[Signal]:
        if not _counted(event):
            return
        env = event.text("environment")
        had_any = baseline.known("approver", env)
        if baseline.learn("approver", env, event.actor) and had_any:
            title = f"{short(event.actor)} approved {short(env)} for the first time"
            detail = f"approval of {event.subject} (run {event.text('run')})"
            yield self.signal(
                event, title, detail, f"{env}:{event.actor}", event.text("repo") or None
            )
