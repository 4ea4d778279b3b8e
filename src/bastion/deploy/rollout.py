"""Rollouts of the local target behind HAProxy: canary, blue-green, direct; rollback.

A deploy verifies the digest first (refused before any change), starts the new version in
the idle slot and health-checks it, then moves traffic by HAProxy weights: canary steps
(e.g. 10 → 50 → 100 %), or one switch (blue-green, direct). Each step is checked
(:func:`~bastion.deploy.checks.check_step`) and its decision audited (``deploy.step``). A
failed step, or HAProxy failing or dying, rolls back at once: all traffic to the previous
version (HAProxy restarted from the state if it is gone), the new one stopped, and
``deploy.rolled_back`` audited as the alert. Blue-green keeps the previous version running
as the standby, so :meth:`LocalDeployer.rollback` switches back instantly.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from bastion.audit import AuditEvent, Outcome
from bastion.deploy.admission import admit, deployed_source
from bastion.deploy.checks import StepResult, check_step
from bastion.deploy.haproxy import HAProxy
from bastion.deploy.interface import (
    AuditSink,
    DeployError,
    EnvironmentConfig,
    HAProxyError,
    Slot,
    Strategy,
    environment_dir,
)
from bastion.deploy.process import (
    free_port,
    materialize,
    start_service,
    stop_service,
    wait_healthy,
)
from bastion.deploy.state import EnvironmentState, SlotState, config_digest
from bastion.supplychain import BlobStore, Digest, TrustedKey

__all__ = ["DEFAULT_STEPS", "DeployResult", "LocalDeployer", "StepObserver"]

DEFAULT_STEPS = (10, 50, 100)
StepObserver = Callable[[StepResult], None]


@dataclass(frozen=True)
class DeployResult:
    """How a deploy or rollback ended: ``deployed`` or ``rolled_back``, and why."""

    environment: str
    digest: Digest
    strategy: Strategy
    outcome: str
    reason: str
    steps: tuple[StepResult, ...] = field(default=())

    @property
    def ok(self) -> bool:
        """Whether the new version serves all traffic."""
        return self.outcome == "deployed"

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "environment": self.environment,
            "digest": self.digest,
            "strategy": self.strategy.value,
            "outcome": self.outcome,
            "reason": self.reason,
            "steps": [s.to_dict() for s in self.steps],
        }


class LocalDeployer:
    """Deploys verified artifacts to one local environment (``<home>/deploy/<env>``)."""

    def __init__(
        self,
        home: Path,
        config: EnvironmentConfig,
        store: BlobStore,
        trusted: Sequence[TrustedKey],
        audit: AuditSink,
        actor: str,
        observer: StepObserver | None = None,
    ) -> None:
        self.config = config
        self.store = store
        self.trusted = trusted
        self.audit = audit
        self.actor = actor
        self.observer = observer
        self.directory = environment_dir(home, config.name)
        self.haproxy = HAProxy(self.directory, config.port)
        self.subject = f"deploy/{config.name}"

    def _record(self, action: str, outcome: Outcome, **details: Any) -> None:
        details["environment"] = self.config.name
        self.audit(AuditEvent(self.actor, action, self.subject, outcome, details))

    def deploy(
        self, digest: Digest, strategy: Strategy, steps: Sequence[int] = DEFAULT_STEPS
    ) -> DeployResult:
        """Verify, start, shift traffic step by step; roll back on the first failed check."""
        plan = _plan(strategy, steps)
        report = admit(self.store, self.trusted, self.config, digest, self.audit, self.actor)
        state = self._ensure_proxy(EnvironmentState.load(self.directory))
        slot = state.active.other if state.active else Slot.BLUE
        state = self._clear(state, slot)
        new = self._start(digest, slot)
        state = state.with_slot(slot, new)
        state.save(self.directory)
        details: dict[str, Any] = {"digest": digest, "strategy": strategy.value}
        details["slot"] = slot.value
        details |= deployed_source(report)  # ref, trust, protection: what the deploy rules judge
        self._record("deploy.started", Outcome.SUCCESS, **details, steps=list(plan))
        if not wait_healthy(new.pid, new.port, self.config.health_path):
            return self._roll_back(state, slot, strategy, "unhealthy-at-start", ())
        results: list[StepResult] = []
        try:
            self.haproxy.point(slot, new.port)
            for percent in plan:
                result = self._step(state, slot, new, percent)
                results.append(result)
                if not result.ok:
                    return self._roll_back(state, slot, strategy, result.reason, results)
        except HAProxyError as exc:
            return self._roll_back(state, slot, strategy, f"haproxy-failed: {exc}", results)
        return self._complete(state, slot, strategy, results)

    def _step(
        self, state: EnvironmentState, slot: Slot, new: SlotState, percent: int
    ) -> StepResult:
        old = state.active
        weights = {slot: percent} if old is None else {slot: percent, old: 100 - percent}
        self.haproxy.weigh(weights)
        result = check_step(self.haproxy, self.config, slot, new.port, percent)
        outcome = Outcome.SUCCESS if result.ok else Outcome.FAILURE
        self._record("deploy.step", outcome, digest=new.digest, **result.to_dict())
        if self.observer is not None:
            self.observer(result)
        return result

    def _complete(
        self, state: EnvironmentState, slot: Slot, strategy: Strategy, steps: list[StepResult]
    ) -> DeployResult:
        new = state.slots[slot]
        previous = state.active
        state = replace(state, active=slot, config=config_digest(self.config))
        if strategy is not Strategy.BLUE_GREEN and previous is not None:
            state = self._clear(state, previous)  # canary and direct keep no standby
        state.save(self.directory)
        self.store.promote(self.config.name, new.digest)
        self._record("deploy.completed", Outcome.SUCCESS, digest=new.digest, slot=slot.value)
        return DeployResult(self.config.name, new.digest, strategy, "deployed", "ok", tuple(steps))

    def _roll_back(
        self,
        state: EnvironmentState,
        slot: Slot,
        strategy: Strategy,
        reason: str,
        steps: Sequence[StepResult],
    ) -> DeployResult:
        """All traffic back to the active version, the new one stopped; audited as an alert."""
        failed = state.slots[slot]
        state = self._restore_traffic(state, slot)
        state = self._clear(state, slot)
        state.save(self.directory)
        running = state.running()
        self._record(
            "deploy.rolled_back",
            Outcome.FAILURE,
            digest=failed.digest,
            reason=reason,
            restored=running.digest if running else None,
            steps=[s.to_dict() for s in steps],
        )
        return DeployResult(
            self.config.name, failed.digest, strategy, "rolled_back", reason, tuple(steps)
        )

    def _restore_traffic(self, state: EnvironmentState, slot: Slot) -> EnvironmentState:
        old = state.active
        try:
            self.haproxy.weigh({slot: 0} if old is None else {slot: 0, old: 100})
            return state
        except HAProxyError:
            self.haproxy.stop(state.haproxy_pid)  # restart it from what should run
            restarted = replace(state.with_slot(slot, None), haproxy_pid=None)
            return self._ensure_proxy(restarted).with_slot(slot, state.slots[slot])

    def rollback(self) -> DeployResult:
        """Switch all traffic back to the standby (previous) version now; audited."""
        state = self._ensure_proxy(EnvironmentState.load(self.directory))
        current = state.running()
        if state.active is None or current is None:
            raise DeployError(f"{self.config.name}: nothing is deployed")
        standby = state.slots.get(state.active.other)
        if standby is None or not wait_healthy(
            standby.pid, standby.port, self.config.health_path, 2.0
        ):
            raise DeployError(
                f"{self.config.name}: no running previous version to switch back to",
                hint="deploy the previous digest again",
            )
        self.haproxy.weigh({state.active: 0, state.active.other: 100})
        replace(state, active=state.active.other).save(self.directory)
        self._record(
            "deploy.rolled_back",
            Outcome.SUCCESS,
            digest=current.digest,
            reason="manual",
            restored=standby.digest,
        )
        self.store.promote(self.config.name, standby.digest)
        return DeployResult(
            self.config.name, current.digest, Strategy.BLUE_GREEN, "rolled_back", "manual"
        )

    def _ensure_proxy(self, state: EnvironmentState) -> EnvironmentState:
        """HAProxy running and answering; (re)started from the state when it is not."""
        try:
            self.haproxy.command("show info")
            return state
        except HAProxyError:
            pass
        servers = {
            slot: (s.port, 100 if slot is state.active else 0) for slot, s in state.slots.items()
        }
        pid = self.haproxy.start(servers)
        state = replace(state, haproxy_pid=pid)
        state.save(self.directory)
        return state

    def _clear(self, state: EnvironmentState, slot: Slot) -> EnvironmentState:
        held = state.slots.get(slot)
        if held is None:
            return state
        stop_service(held.pid)
        return state.with_slot(slot, None)

    def _start(self, digest: Digest, slot: Slot) -> SlotState:
        release = materialize(self.store, digest, self.directory / "releases")
        port = free_port()
        pid = start_service(release, port, self.directory / f"{slot.value}.log")
        return SlotState(digest, release, pid, port)


def _plan(strategy: Strategy, steps: Sequence[int]) -> tuple[int, ...]:
    match strategy:
        case Strategy.CANARY:
            plan = tuple(steps)
            if not plan or plan[-1] != 100 or any(b <= a for a, b in itertools.pairwise(plan)):
                raise DeployError(f"canary steps {plan} must rise and end at 100")
            if plan[0] <= 0:
                raise DeployError("canary steps must be above 0 %")
            return plan
        case Strategy.BLUE_GREEN | Strategy.DIRECT:
            return (100,)
