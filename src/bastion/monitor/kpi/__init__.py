"""Security KPIs from the run records and the audit log.

    >>> report = compute_kpis(db, since=None, repo=None)          # doctest: +SKIP
    >>> report.to_dict()["compliance"]["overall"]

Each KPI lives in its own module with its definition beside its query (``docs/kpi.md``
gathers them): :mod:`.runs` (gate adoption, detection before/after production, MTTR,
compliance, failures), :mod:`.approvals` (approval latency), :mod:`.readiness` (audit
readiness), :mod:`.sbom` (SBOM completeness), :mod:`.leaks` (secret-leak incidents) and
:mod:`.coverage` (security test coverage). An empty database gives zeros and "no data",
never an error.
"""

from __future__ import annotations

from datetime import datetime

from bastion.monitor.kpi.approvals import ApprovalLatency, approval_latency
from bastion.monitor.kpi.audit_view import audited, read_events
from bastion.monitor.kpi.coverage import Coverage, security_coverage
from bastion.monitor.kpi.facts import FINAL, refresh_facts
from bastion.monitor.kpi.leaks import secret_leaks
from bastion.monitor.kpi.readiness import Readiness, audit_readiness
from bastion.monitor.kpi.report import KpiReport
from bastion.monitor.kpi.runs import run_kpis
from bastion.monitor.kpi.sbom import SbomCompleteness, record_sbom_components, sbom_completeness
from bastion.monitor.models import MONITOR_CHAIN
from bastion.store import Database
from bastion.supplychain import BlobStore

__all__ = [
    "ApprovalLatency",
    "Coverage",
    "KpiReport",
    "Readiness",
    "SbomCompleteness",
    "compute_kpis",
    "record_sbom_components",
    "refresh_facts",
]


def compute_kpis(
    db: Database,
    *,
    since: datetime | None = None,
    repo: str | None = None,
    store: BlobStore | None = None,
) -> KpiReport:
    """Every KPI over what was recorded since ``since`` (of ``repo``, if given). With the
    artifact ``store``, SBOMs not summarised yet are read first (SBOM completeness)."""
    db.ensure_schema(MONITOR_CHAIN)
    refresh_facts(db)
    if store is not None:
        record_sbom_components(db, store)
    report = KpiReport()
    run_kpis(report, db, since, repo)
    if audited(db):  # without an audit log there is no approval nor deploy to judge
        events = read_events(db)
        report.approval_latency = approval_latency(db, events, since, repo)
        report.readiness = audit_readiness(db, events, since, repo)
    report.sbom = sbom_completeness(db, since, repo)
    report.secret_leaks = secret_leaks(db, FINAL, since, repo)
    report.coverage = security_coverage(db, since, repo)
    return report
