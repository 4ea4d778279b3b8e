"""Approval latency: from a deploy's approval request to its final decision, per environment.

Source: the audit events the server's approvals record. ``approval.requested`` (subject
``approval:<id>``, details ``environment`` and ``run``) opens a request; the first of
``approval.approved``, ``approval.rejected`` or ``approval.expired`` with the same subject
is its final decision. Latency = decision time - request time. Requests still pending (or
cancelled with their run) are counted, never timed.
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bastion.monitor.kpi.audit_view import AuditRow
from bastion.monitor.kpi.lookups import run_repos
from bastion.store import Database

__all__ = ["DECIDED", "REQUESTED", "ApprovalLatency", "approval_latency", "percentile"]

REQUESTED = "approval.requested"
DECIDED = ("approval.approved", "approval.rejected", "approval.expired")


def percentile(values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile of sorted ``values`` (0.0 for none)."""
    if not values:
        return 0.0
    return values[max(0, math.ceil(pct / 100 * len(values)) - 1)]


@dataclass(frozen=True)
class ApprovalLatency:
    """One environment's requests, how many were decided, and their latency in minutes."""

    requests: int
    decided: int
    median_minutes: float
    p90_minutes: float

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "requests": self.requests,
            "decided": self.decided,
            "median_minutes": self.median_minutes,
            "p90_minutes": self.p90_minutes,
        }


def approval_latency(
    db: Database, events: list[AuditRow], since: datetime | None, repo: str | None
) -> dict[str, ApprovalLatency]:
    """Per environment, over the requests made since ``since`` (of ``repo``'s runs)."""
    requested: dict[str, tuple[datetime, str, int | None]] = {}
    decided: dict[str, datetime] = {}
    for event in events:
        if event.action == REQUESTED:
            requested[event.subject] = (event.time, event.environment, event.run)
        elif event.action in DECIDED:
            decided.setdefault(event.subject, event.time)
    if since is not None:
        requested = {s: r for s, r in requested.items() if r[0] >= since}
    if repo is not None:
        repos = run_repos(db, (r[2] for r in requested.values() if r[2] is not None))
        requested = {
            s: r for s, r in requested.items() if r[2] is not None and repos.get(r[2]) == repo
        }
    counts: dict[str, int] = defaultdict(int)
    minutes: dict[str, list[float]] = defaultdict(list)
    for subject, (at, env, _run) in requested.items():
        counts[env] += 1
        if subject in decided:
            minutes[env].append((decided[subject] - at).total_seconds() / 60)
    out = {}
    for env in sorted(counts):
        times = sorted(minutes[env])
        median = round(statistics.median(times), 1) if times else 0.0
        out[env] = ApprovalLatency(counts[env], len(times), median, round(percentile(times, 90), 1))
    return out
