"""The audit log itself: a verification that failed (``audit.verified`` with outcome
``failure``, recorded by whoever verified it, the evaluator's own check included)."""

from __future__ import annotations

from collections.abc import Iterable

from bastion.monitor.events import AUDIT_VERIFIED
from bastion.monitor.interface import Baseline, Observation, Severity, Signal
from bastion.monitor.rules.base import BuiltinRule, short

__all__ = ["AuditVerifyFailed"]


class AuditVerifyFailed(BuiltinRule):
    """The audit log did not verify."""

    name = "audit-verify-failed"
    actions = frozenset({AUDIT_VERIFIED})
    default_severity = Severity.CRITICAL

    def evaluate(self, event: Observation, baseline: Baseline) -> Iterable[Signal]:
        if event.outcome == "success":
            return
        problems = event.details.get("problems")
        listed = "; ".join(str(p) for p in problems) if isinstance(problems, list) else ""
        title = "the audit log does not verify"
        detail = f"checked by {event.actor}: {short(listed or 'no problem named')}"
        yield self.signal(event, title, detail, "audit-log")
