"""The KPI report: every figure of ``bastion kpi``, ``/api/kpi`` and the KPI page."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bastion.monitor.kpi.approvals import ApprovalLatency
from bastion.monitor.kpi.coverage import Coverage
from bastion.monitor.kpi.readiness import Readiness
from bastion.monitor.kpi.sbom import SbomCompleteness

__all__ = ["KpiReport"]


@dataclass
class KpiReport:
    """The KPIs; with ``no_data`` every number is zero and every map empty."""

    runs: int = 0
    gate_adoption: dict[str, float] = field(default_factory=dict)
    pipelines: int = 0
    found_before: int = 0
    found_after: int = 0
    mttr_hours: dict[str, float] = field(default_factory=dict)
    open_findings: dict[str, int] = field(default_factory=dict)
    compliance: dict[str, float] = field(default_factory=dict)
    compliance_overall: float = 0.0
    failures: dict[str, dict[str, int]] = field(default_factory=dict)
    approval_latency: dict[str, ApprovalLatency] = field(default_factory=dict)
    readiness: Readiness = field(default_factory=Readiness)
    sbom: SbomCompleteness = field(default_factory=SbomCompleteness)
    secret_leaks: dict[str, int] = field(default_factory=dict)
    coverage: Coverage = field(default_factory=Coverage)

    @property
    def no_data(self) -> bool:
        """True when no finished run matched."""
        return self.runs == 0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (the API and ``bastion kpi --json``)."""
        return {
            "no_data": self.no_data,
            "runs": self.runs,
            "gate_adoption": {"pipelines": self.pipelines, "percent": self.gate_adoption},
            "detection": {
                "before_production": self.found_before,
                "after_production": self.found_after,
            },
            "mttr_hours": self.mttr_hours,
            "open_findings": self.open_findings,
            "compliance": {"overall": self.compliance_overall, "by_repo": self.compliance},
            "failures_by_day": self.failures,
            "approval_latency": {e: v.to_dict() for e, v in self.approval_latency.items()},
            "audit_readiness": self.readiness.to_dict(),
            "sbom_completeness": self.sbom.to_dict(),
            "secret_leaks_by_month": self.secret_leaks,
            "security_coverage": self.coverage.to_dict(),
        }
