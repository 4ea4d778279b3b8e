"""Security test coverage: how much of the code the scanning gates reach.

Bastion records no line counts, so code is counted in repositories: of the repositories
with a finished run in the period, the share whose latest finished run ran the gate to a
verdict (a gate job that passed or failed; one skipped, cancelled or in error did not
scan). The gate of a job is its name, as the built-in pipeline names each gate job after
its ``uses: bastion/<gate>``. ``sast`` is the share of code scanned by SAST, ``sca`` the
dependency-scanning coverage, ``iac`` and ``image`` the adoption of IaC and image scanning.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from bastion.monitor.models import RunFactRecord
from bastion.store import Database

__all__ = ["COVERED_GATES", "Coverage", "security_coverage"]

COVERED_GATES = ("sast", "sca", "iac", "image")


def _pct(part: int, whole: int) -> float:
    return round(100.0 * part / whole, 1) if whole else 0.0


@dataclass
class Coverage:
    """Repositories looked at, and how many of them each gate covered."""

    repositories: int = 0
    covered: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COVERED_GATES, 0))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: the count and the percentage per gate."""
        return {
            "repositories": self.repositories,
            "percent": {g: _pct(n, self.repositories) for g, n in self.covered.items()},
        }


def security_coverage(db: Database, since: datetime | None, repo: str | None) -> Coverage:
    """Coverage over each repository's latest finished run since ``since``."""
    r = RunFactRecord
    latest = select(func.max(r.run_id)).group_by(r.repo)
    if since is not None:
        latest = latest.where(r.created_at >= since)
    if repo is not None:
        latest = latest.where(r.repo == repo)
    out = Coverage()
    with db.session() as session:
        lists = list(session.scalars(select(r.scanned).where(r.run_id.in_(latest))))
    for listed in lists:
        for gate in COVERED_GATES:
            out.covered[gate] += f",{gate}," in listed
    out.repositories = len(lists)
    return out
