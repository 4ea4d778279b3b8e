"""The engine's :class:`~bastion.engine.model.GateEvaluator`, backed by Bastion's policy.

A pipeline gate job (``uses: bastion/<gate>``) runs ``python -I -m bastion.scanners`` in its
sandbox like any step, with the very command ``bastion scan`` uses
(:meth:`PolicyGateEvaluator.command`, :mod:`bastion.engine.gate_command`), the scheduler
collects the report file (:meth:`report_path`), and :meth:`evaluate` decides with the same
suppressions, baseline and Rego policy as ``bastion scan``. Every failure to read a report,
and every error of the policy itself, becomes a *blocking* verdict that says why: a gate job
never passes on something that could not be judged.

Which policy: :meth:`for_project` reads ``.bastion/policy`` and ``.bastion/suppressions.yml``
of the tree it is given. For an untrusted run (a fork's pull request) the caller should pass
the protected branch's tree, not the change's, or the change could rewrite its own policy.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from bastion.engine.gate_command import gate_command, new_report_token, report_name
from bastion.engine.gates import (
    AssessedFinding,
    GateDecision,
    GateOutcome,
    evaluate_gates,
    gate_binds,
)
from bastion.engine.model import FindingCounts, GateVerdict
from bastion.engine.run_findings import judged
from bastion.errors import BastionError, GateError
from bastion.policy import Baseline, PolicyEngine, Suppressions, load_suppressions
from bastion.sandbox import bastion_runtime_binds
from bastion.scanners.runner import decode_report
from bastion.trust import RunContext

__all__ = ["MAX_ITEMS", "PolicyGateEvaluator"]

MAX_ITEMS = 500


class PolicyGateEvaluator:
    """Runs gates through ``bastion.scanners`` and judges their reports with the policy."""

    def __init__(
        self,
        policy: PolicyEngine,
        suppressions: Suppressions | None = None,
        baseline: Baseline | None = None,
        today: dt.date | None = None,
    ) -> None:
        self._policy = policy
        self._suppressions = suppressions or Suppressions()
        self._baseline = baseline
        self._today = today
        # One per run: the tree being run cannot ship a report under a name it cannot know.
        self._report_token = new_report_token()

    @classmethod
    def for_project(cls, project: Path, baseline: Baseline | None = None) -> PolicyGateEvaluator:
        """Policy and suppressions from ``project/.bastion`` (PolicyError if malformed)."""
        config = project / ".bastion"
        return cls(
            PolicyEngine.load(config / "policy"),
            load_suppressions(config / "suppressions.yml"),
            baseline,
        )

    def report_path(self, gate: str) -> str:
        """Workspace-relative path the gate's report is written to."""
        return report_name(gate, self._report_token)

    def command(self, gate: str, options: Mapping[str, Any], report_path: str) -> tuple[str, ...]:
        """The argv that runs ``gate`` in the sandbox, as ``bastion scan`` runs it.

        Pinned (its environment set by ``/usr/bin/env``): the secrets released to a job are
        merged into a step's environment after the step's own.
        """
        return gate_command(gate, options, report_path).pinned()

    def binds(self, gate: str) -> tuple[str, ...]:
        """Bastion's runtime and the gate's tool environments, read-only."""
        paths = [*bastion_runtime_binds(), *gate_binds(gate)]
        return tuple(dict.fromkeys(str(p) for p in paths))

    def evaluate(
        self, job: str, gate: str, report: bytes | None, context: RunContext
    ) -> GateVerdict:
        """Decide on the collected report; anything unreadable blocks with the reason."""
        outcome = _outcome(job, gate, report)
        try:
            result = evaluate_gates(
                [outcome], context, self._policy, self._suppressions, self._baseline, self._today
            )
        except BastionError as exc:
            return GateVerdict(False, (f"policy could not decide: {exc.diagnostics()}",))
        return _verdict(result)


def _outcome(job: str, gate: str, report: bytes | None) -> GateOutcome:
    if report is None:
        error = GateError(f"bastion/{gate} (job {job}) wrote no report: it crashed or timed out")
        return GateOutcome(gate, error=error)
    try:
        doc = json.loads(report)
        return GateOutcome(gate, report=decode_report(doc, gate_name=gate, source=f"job {job}"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        return GateOutcome(gate, error=GateError(f"job {job}: unreadable gate report ({exc})"))
    except GateError as exc:
        return GateOutcome(gate, error=exc)
    except BastionError as exc:  # e.g. UsageError for bad options, raised in the sandbox
        return GateOutcome(gate, error=GateError(exc.message, hint=exc.hint))


def _verdict(result: GateDecision) -> GateVerdict:
    decision = result.decision
    severities = Counter(a.finding.severity.value for a in result.findings)
    counts = FindingCounts(
        total=len(result.findings),
        new=sum(1 for a in result.findings if a.new),
        suppressed=sum(1 for a in result.findings if a.suppressed),
        by_severity=dict(severities),
    )
    cpu = [o.report.cpu_seconds for o in result.outcomes if o.report is not None]
    known = [seconds for seconds in cpu if seconds is not None]
    return GateVerdict(
        decision.allowed,
        tuple(r.message for r in decision.reasons) + decision.notes,
        counts,
        warnings=tuple(w.message for w in decision.warnings),
        notes=tuple(decision.notes),
        # What the gate itself says (e.g. which vulnerability data it judged against).
        gate_notes=tuple(
            note for outcome in result.outcomes if outcome.report for note in outcome.report.notes
        ),
        # Each finding as the server lists it for triage (capped: a summary, not a report).
        items=tuple(_item(a) for a in result.findings[:MAX_ITEMS]),
        cpu_seconds=sum(known) if known else None,
        judged=tuple(judged(a) for a in result.findings),  # all: the run's findings table
    )


def _item(assessed: AssessedFinding) -> dict[str, Any]:
    finding = assessed.finding
    entry = assessed.suppression
    return {
        "fingerprint": finding.fingerprint,
        "gate": finding.gate,
        "rule_id": finding.rule_id,
        "severity": finding.severity.value,
        "message": finding.message,
        "path": finding.location.path,
        "line": finding.location.line,
        "new": assessed.new,
        "suppressed": assessed.suppressed,
        "suppressed_by": entry.describe() if entry else None,
    }
