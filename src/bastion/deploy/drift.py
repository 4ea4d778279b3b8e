"""Drift: does what runs in an environment still match what was last deployed?

Compared, for the active version: the process listening on its port is running (found
through /proc, not trusted from the state's pid), the file it runs hashes to the deployed
digest, HAProxy gives it all the traffic, and the environment config is the one it was
deployed with. Any difference is audited as ``deploy.drift_detected`` (the alert); a clean
check as ``deploy.drift_checked``. :func:`watch_drift` repeats the check periodically.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bastion.audit import AuditEvent, Outcome
from bastion.deploy.haproxy import HAProxy
from bastion.deploy.interface import (
    AuditSink,
    EnvironmentConfig,
    HAProxyError,
    Slot,
    environment_dir,
)
from bastion.deploy.process import listener_pid, running_release
from bastion.deploy.state import EnvironmentState, config_digest
from bastion.supplychain import digest_file

__all__ = ["DriftReport", "check_drift", "watch_drift"]


@dataclass(frozen=True)
class DriftReport:
    """Each difference found as (what, expected, found); none means no drift."""

    environment: str
    differences: tuple[tuple[str, str, str], ...]

    @property
    def drifted(self) -> bool:
        """Whether anything differs."""
        return bool(self.differences)

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        rows = [{"what": w, "expected": e, "found": f} for w, e, f in self.differences]
        return {"environment": self.environment, "drifted": self.drifted, "differences": rows}


def _observe(home: Path, config: EnvironmentConfig) -> list[tuple[str, str, str]]:
    directory = environment_dir(home, config.name)
    state = EnvironmentState.load(directory)
    running = state.running()
    if state.active is None or running is None:
        return []
    found: list[tuple[str, str, str]] = []
    if state.config != config_digest(config):
        found.append(("config", state.config or "-", config_digest(config)))
    pid = listener_pid(running.port)
    release = running_release(pid) if pid is not None else None
    if pid is None or release is None:
        found.append(("process", f"listening on {running.port}", "nothing"))
    else:
        digest = _digest_of(release)
        if digest != running.digest:
            found.append(("digest", running.digest, digest))
    try:
        weights = HAProxy(directory, config.port).weights()
        expected = {state.active: 100, state.active.other: 0}
        if weights != expected:
            found.append(("weights", _text(expected), _text(weights)))
    except HAProxyError as exc:
        found.append(("haproxy", "running", str(exc)))
    return found


def _digest_of(release: Path) -> str:
    try:
        return digest_file(release)[0]
    except OSError as exc:
        return f"unreadable: {exc.strerror}"


def _text(weights: dict[Slot, int]) -> str:
    return ",".join(f"{slot.value}={weights.get(slot, 0)}" for slot in Slot)


def check_drift(home: Path, config: EnvironmentConfig, audit: AuditSink, actor: str) -> DriftReport:
    """Compare what runs with what was last deployed; audit the result."""
    report = DriftReport(config.name, tuple(_observe(home, config)))
    action = "deploy.drift_detected" if report.drifted else "deploy.drift_checked"
    outcome = Outcome.FAILURE if report.drifted else Outcome.SUCCESS
    details = report.to_dict()
    audit(AuditEvent(actor, action, f"deploy/{config.name}", outcome, details))
    return report


def watch_drift(
    check: Callable[[], DriftReport],
    interval: float,
    rounds: int,
    sleep: Callable[[float], None] = time.sleep,
) -> DriftReport:
    """Run ``check`` every ``interval`` s, at most ``rounds`` times; stop at the first drift."""
    report = check()
    for _ in range(rounds - 1):
        if report.drifted:
            break
        sleep(interval)
        report = check()
    return report
