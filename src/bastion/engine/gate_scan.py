"""``bastion scan``: the security gates over a directory, outside a pipeline, same policy.

Scanners only read, and the tree can be large (a copy of it was most of the time of a scan),
so the gates see the directory itself, bound read-only, with what a copy would leave out
covered (every ``.git`` and ``.bastion/state`` at any depth, special files such as FIFOs:
``survey_source``); each gate writes only its report, into a scratch workspace of its own,
and the gates run concurrently. A scanner, even a compromised one, never writes into the
user's tree; a ``sarif`` gate command that tries to (a build) fails, closed, with "Read-only
file system": it should write under ``$BASTION_OUT`` or ``/tmp``.

One case gets a copy instead: running as root, each job has its own uid and reads a file
only through its "other" permission bits, so a ``0600`` file would be silently skipped.
When the survey finds such entries, the tree is copied (``readable=True``) into this scan's
private temporary directory and the gates see the copy; as a user (a user namespace, the
job reads with the user's own rights) such an entry is an error naming it, as it was when
the tree was always copied. A tree with hundreds of entries to cover (vendored checkouts,
each with its ``.git``) is copied too: one mount each would cost more than the copy. A
sandbox that cannot show a tree read-only (the ``--unsafe-no-sandbox`` runner) gets the old
writable copy, gates one after another.

``--baseline REF`` scans that commit the same way (``Workspace.from_commit``, then a view of
that checkout) and takes its fingerprints; because fingerprints ignore paths and line
numbers, a finding that only moved is not new. If the baseline scan of a gate fails, that
gate's findings all count as new (the closed side) and the decision says so.

Policy, suppressions and baseline file are read before any gate runs, so a malformed one
stops the scan with exit 2 instead of after minutes of scanning.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from bastion.engine.gate_priority import GateCpuHistory
from bastion.engine.gates import (
    GateDecision,
    GateOutcome,
    GateSpec,
    evaluate_gates,
    run_gates,
    shows_read_only_source,
)
from bastion.engine.git_context import read_git_state
from bastion.errors import SandboxError, UsageError
from bastion.policy import (
    Baseline,
    PolicyEngine,
    RunContext,
    load_baseline_file,
    load_suppressions,
)
from bastion.sandbox import Limits, Sandbox, Workspace
from bastion.sandbox.workspace import survey_source
from bastion.scanners.registry import available_gates, load_gate
from bastion.trust import Trust

__all__ = ["NEEDS_OPTIONS", "PathScan", "default_gates", "scan_path"]

# Gates that cannot run without options (a command to run): left out of the default set.
NEEDS_OPTIONS = frozenset({"sarif"})
_MAX_HIDDEN = 256


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
    # Where to learn and remember each gate's CPU time, so that concurrent gates yield the
    # CPU to the longest (see ``gate_priority``); None: every gate at the same priority.
    cpu_history: GateCpuHistory | None = None
    # Progress for people while a gate's tools are installed or warmed, before any gate runs.
    say: Callable[[str], None] | None = None


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
        trust=Trust.UNTRUSTED,
        event="scan",
        commit=git.commit,
    )
    notes: list[str] = []
    with tempfile.TemporaryDirectory(prefix="bastion-scan-") as tmp:
        scratch = Path(tmp)
        if root in scratch.resolve().parents:
            raise SandboxError(
                f"the scan's temporary directory {tmp} is inside {root}, the tree to scan",
                hint="set TMPDIR to a directory outside the tree",
            )
        if request.baseline_ref is not None:
            ref = request.baseline_ref
            baseline = _baseline_from_ref(
                sandbox, root, ref, gates, scratch, request.limits, notes, say=request.say
            )
        history = request.cpu_history
        with _gate_tree(sandbox, root, scratch) as tree:
            outcomes = run_gates(
                sandbox,
                gates,
                tree.workspace,
                limits=request.limits,
                commit=None if git.dirty else git.commit,
                on_done=request.on_gate_done,
                source=tree.source,
                hidden_source=tree.hidden,
                expected_cpu=history.expected(root) if history else None,
                say=request.say,
            )
        if history is not None and len(gates) > 1:  # a lone gate has nobody to yield to
            history.remember(root, _cpu_used(outcomes))
    result = evaluate_gates(outcomes, context, policy, suppressions, baseline, request.today)
    if not notes:
        return result
    decision = replace(result.decision, notes=result.decision.notes + tuple(notes))
    return replace(result, decision=decision)


@dataclass(frozen=True, slots=True)
class _GateTree:
    """Where gates run: a writable ``workspace``, or scratch parent plus a read-only view."""

    workspace: Path
    source: Path | None = None
    hidden: tuple[str, ...] = ()


@contextlib.contextmanager
def _gate_tree(sandbox: Sandbox, tree: Path, scratch: Path) -> Iterator[_GateTree]:
    """How the gates see ``tree``: in place read-only, a readable copy, or a writable copy."""
    if not shows_read_only_source(sandbox):
        with Workspace.from_working_tree(tree, parent=scratch) as workspace:
            yield _GateTree(workspace.path)
        return
    as_other = os.geteuid() == 0
    survey = survey_source(tree, as_other=as_other)
    if survey.fully_readable and len(survey.hidden) <= _MAX_HIDDEN:
        yield _GateTree(scratch, tree, survey.hidden)
        return
    if survey.fully_readable:
        # One mount per hidden entry: past a few hundred (vendored checkouts, each with its
        # .git), a copy that simply leaves them out is the cheaper and surer way.
        with Workspace.from_working_tree(tree, parent=scratch, readable=as_other) as copy:
            yield _GateTree(scratch, copy.path)
        return
    if not as_other:
        names = ", ".join(survey.unreadable)
        raise SandboxError(
            f"{survey.unreadable_count} entries of {tree} cannot be read, so no gate could "
            f"scan them: {names}",
            hint="make them readable (chmod u+r, u+rx for directories) or remove them",
        )
    # Root with files only their owner may read: a private copy the job uid may read.
    with Workspace.from_working_tree(tree, parent=scratch, readable=True) as copy:
        yield _GateTree(scratch, copy.path)


def _baseline_from_ref(
    sandbox: Sandbox,
    root: Path,
    ref: str,
    gates: Sequence[GateSpec],
    parent: Path,
    limits: Limits | None,
    notes: list[str],
    say: Callable[[str], None] | None = None,
) -> Baseline:
    with Workspace.from_commit(root, ref, parent=parent) as checkout:
        # Our own checkout in the scan's private directory: the job uid may list its root.
        checkout.path.chmod(0o755)
        with _gate_tree(sandbox, checkout.path, parent) as tree:
            outcomes = run_gates(
                sandbox,
                gates,
                tree.workspace,
                limits=limits,
                source=tree.source,
                hidden_source=tree.hidden,
                say=say,
            )
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


def _cpu_used(outcomes: Sequence[GateOutcome]) -> dict[str, float]:
    """CPU seconds each gate that reported reports having used."""
    return {
        outcome.gate: outcome.report.cpu_seconds
        for outcome in outcomes
        if outcome.report is not None and outcome.report.cpu_seconds is not None
    }
