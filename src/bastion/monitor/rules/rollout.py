"""Deployments that went wrong after they started: a rollback, and drift from what was
deployed (both recorded by :mod:`bastion.deploy`; shapes in :mod:`bastion.monitor.events`).

``deploy-rolled-back`` opens one alert per rollback (each is its own incident);
``deploy-drift`` keeps one open alert per environment, so ``bastion deploy drift
--interval`` finding the same drift every round counts occurrences instead of flooding.
"""

from __future__ import annotations

from collections.abc import Iterable

from bastion.monitor.events import DEPLOY_DRIFT_DETECTED, DEPLOY_ROLLED_BACK
from bastion.monitor.interface import Baseline, Observation, Severity, Signal
from bastion.monitor.rules.base import BuiltinRule, short

__all__ = ["DeployDrift", "DeployRolledBack"]


def _environment(event: Observation) -> str:
    return event.text("environment") or event.subject.removeprefix("deploy/")


class DeployRolledBack(BuiltinRule):
    """A deployment was rolled back: a failed step (outcome ``failure``) or by hand."""

    name = "deploy-rolled-back"
    actions = frozenset({DEPLOY_ROLLED_BACK})
    default_severity = Severity.HIGH

    def evaluate(self, event: Observation, baseline: Baseline) -> Iterable[Signal]:
        env = _environment(event)
        how = "by hand" if event.outcome == "success" else "after a failed step"
        title = f"deploy to {short(env)} rolled back {how}"
        detail = (
            f"{event.text('digest', '?')} rolled back by {event.actor} "
            f"({short(event.text('reason', 'no reason given'))}); "
            f"now serving {event.text('restored', 'nothing')}"
        )
        yield self.signal(event, title, detail, f"{env}:{event.seq}")


def _differences(event: Observation) -> list[str]:
    rows = event.details.get("differences")
    return [
        short(f"{row.get('what')}: expected {row.get('expected')}, found {row.get('found')}")
        for row in (rows if isinstance(rows, list) else ())
        if isinstance(row, dict)
    ]


class DeployDrift(BuiltinRule):
    """What runs in an environment differs from what was deployed there."""

    name = "deploy-drift"
    actions = frozenset({DEPLOY_DRIFT_DETECTED})
    default_severity = Severity.HIGH

    def evaluate(self, event: Observation, baseline: Baseline) -> Iterable[Signal]:
        env = _environment(event)
        found = _differences(event)
        title = f"{short(env)} drifted from its deployment"
        detail = "; ".join(found) or "no difference named"
        yield self.signal(event, title, detail, env)
