"""``bastion scan``: the security gates over a directory, outside a pipeline, same policy.

The directory is copied into a fresh workspace first (``Workspace.from_working_tree``, which
leaves out ``.git``), so a scanner, even a compromised one, never writes into the user's tree.
``--baseline REF`` scans that commit the same way (``Workspace.from_commit``) and takes its
fingerprints; because fingerprints ignore paths and line numbers, a finding that only moved
is not new. If the baseline scan of a gate fails, that gate's findings all count as new (the
closed side) and the decision says so.

Policy, suppressions and baseline file are read before any gate runs, so a malformed one
stops the scan with exit 2 instead of after minutes of scanning.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from bastion.engine.gates import GateDecision, GateOutcome, GateSpec, evaluate_gates, run_gates
from bastion.engine.git_context import read_git_state
from bastion.errors import UsageError
from bastion.policy import (
    Baseline,
    PolicyEngine,
    RunContext,
    load_baseline_file,
    load_suppressions,
)
from bastion.sandbox import Limits, Sandbox, Workspace
from bastion.scanners.registry import available_gates, load_gate

__all__ = ["NEEDS_OPTIONS", "PathScan", "default_gates", "scan_path"]

# Gates that cannot run without options (a command to run): left out of the default set.
NEEDS_OPTIONS = frozenset({"sarif"})


@dataclass(frozen=True, slots=True)
class PathScan:
    """What ``bastion scan`` was asked; None paths default to the tree's ``.bastion/``."""

    root: Path
    gates: Sequence[GateSpec] = ()
    policy_dir: Path | None = None
    suppressions_file: Path | None = None
    baseline_file: Path | None = None
    baseline_ref: str | None = None
    limits: Limits | None = None
    today: dt.date | None = None
    on_gate_done: Callable[[GateOutcome, float], None] | None = None


def default_gates() -> list[GateSpec]:
    """Every registered gate that runs without options."""
    return [GateSpec(name) for name in available_gates() if name not in NEEDS_OPTIONS]


def scan_path(request: PathScan, sandbox: Sandbox) -> GateDecision:
    """Run the gates over ``request.root`` in ``sandbox`` and decide."""
    root = request.root.resolve()
    if not root.is_dir():
        raise UsageError(f"{request.root} is not a directory", hint="give the folder to scan")
    if request.baseline_file is not None and request.baseline_ref is not None:
        raise UsageError("give either a baseline file or a git ref, not both")
    policy = PolicyEngine.load(request.policy_dir or root / ".bastion" / "policy")
    suppressions = load_suppressions(
        request.suppressions_file or root / ".bastion" / "suppressions.yml"
    )
    baseline = load_baseline_file(request.baseline_file) if request.baseline_file else None
    gates = list(request.gates) or default_gates()
    if not gates:
        raise UsageError("no gate to run", hint="name one with --gate")
    for spec in gates:
        load_gate(spec.name)  # an unknown name is a UsageError before anything runs
    git = read_git_state(root)
    context = RunContext(
        repo=(git.toplevel or root).name,
        ref=git.ref or "",
        trust="untrusted",
        event="scan",
        commit=git.commit,
    )
    notes: list[str] = []
    with tempfile.TemporaryDirectory(prefix="bastion-scan-") as tmp:
        if request.baseline_ref is not None:
            baseline = _baseline_from_ref(
                sandbox, root, request.baseline_ref, gates, Path(tmp), request.limits, notes
            )
        with Workspace.from_working_tree(root, parent=Path(tmp)) as workspace:
            commit = None if git.dirty else git.commit
            outcomes = run_gates(
                sandbox,
                gates,
                workspace.path,
                limits=request.limits,
                commit=commit,
                on_done=request.on_gate_done,
            )
    result = evaluate_gates(outcomes, context, policy, suppressions, baseline, request.today)
    if not notes:
        return result
    decision = replace(result.decision, notes=result.decision.notes + tuple(notes))
    return replace(result, decision=decision)


def _baseline_from_ref(
    sandbox: Sandbox,
    root: Path,
    ref: str,
    gates: Sequence[GateSpec],
    parent: Path,
    limits: Limits | None,
    notes: list[str],
) -> Baseline:
    with Workspace.from_commit(root, ref, parent=parent) as workspace:
        outcomes = run_gates(sandbox, gates, workspace.path, limits=limits)
    fingerprints: list[str] = []
    for outcome in outcomes:
        if outcome.report is not None:
            fingerprints.extend(f.fingerprint for f in outcome.report.findings)
        elif outcome.error is not None:
            notes.append(
                f"baseline scan of {ref} failed for bastion/{outcome.gate} "
                f"({outcome.error.message}): all its findings count as new"
            )
    return Baseline.of(fingerprints, f"git:{ref}")
