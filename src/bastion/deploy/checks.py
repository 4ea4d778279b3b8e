"""The check made at each rollout step: the new version's health and its error rate.

Traffic is a bounded request loop through HAProxy's frontend (``probe``); the new
version's error rate is read from HAProxy's own per-server counters over that loop, so it
is what HAProxy saw that server answer (5xx, refused connections, broken responses).
"""

from __future__ import annotations

import http.client
import time
from dataclasses import dataclass

from bastion.deploy.haproxy import HAProxy
from bastion.deploy.interface import EnvironmentConfig, Slot
from bastion.deploy.process import health_ok

__all__ = ["StepResult", "check_step", "probe"]

_PROBE_DEADLINE = 30.0


@dataclass(frozen=True)
class StepResult:
    """One step's decision: traffic share, health, what the new version answered, verdict."""

    percent: int
    healthy: bool
    responses: int
    errors: int
    ok: bool
    reason: str

    @property
    def error_rate(self) -> float:
        """Errors over responses of the new version during the step (1.0 if none answered)."""
        return self.errors / self.responses if self.responses else 1.0

    def to_dict(self) -> dict[str, object]:
        """JSON form for the audit log and ``--json``."""
        return {
            "percent": self.percent,
            "healthy": self.healthy,
            "responses": self.responses,
            "errors": self.errors,
            "error_rate": round(self.error_rate, 4),
            "ok": self.ok,
            "reason": self.reason,
        }


def probe(port: int, count: int, path: str = "/", deadline: float = _PROBE_DEADLINE) -> int:
    """Send up to ``count`` GETs to 127.0.0.1:``port`` within ``deadline`` s; return errors."""
    errors = 0
    stop = time.monotonic() + deadline
    for _ in range(count):
        if time.monotonic() > stop:
            break
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2.0)
        try:
            conn.request("GET", path)
            response = conn.getresponse()
            response.read()
            errors += response.status >= 500
        except (OSError, http.client.HTTPException):
            errors += 1
        finally:
            conn.close()
    return errors


def check_step(
    haproxy: HAProxy, config: EnvironmentConfig, slot: Slot, port: int, percent: int
) -> StepResult:
    """Probe through HAProxy, then judge ``slot``: healthy, answered, error rate in bounds.

    HAProxyError propagates: a proxy that cannot be asked is a failed step.
    """
    before = haproxy.counters(slot)
    probe(config.port, config.probe_requests)
    seen = haproxy.counters(slot).since(before)
    healthy = health_ok(port, config.health_path)
    result = StepResult(percent, healthy, seen.responses, seen.errors, True, "ok")
    if not healthy:
        return _failed(result, "unhealthy")
    if seen.responses == 0:
        return _failed(result, "no-traffic")
    if result.error_rate > config.max_error_rate:
        return _failed(result, "error-rate")
    return result


def _failed(result: StepResult, reason: str) -> StepResult:
    return StepResult(
        result.percent, result.healthy, result.responses, result.errors, False, reason
    )
