"""Running gates in the sandbox and deciding on their findings: shared by runs and ``bastion scan``.

Scanners parse untrusted code, so a gate never runs in Bastion's process:
:func:`run_gate_sandboxed` starts ``python -I -m bastion.scanners`` (``bastion.scanners.runner``)
in a :class:`~bastion.sandbox.Sandbox` with the job workspace at ``/workspace``, Bastion's own
runtime and the gate's tool environments bound read-only, and reads the JSON report the runner
leaves in the workspace (a per-run random name, removed after reading). A crash, a non-zero
exit, a timeout, or a missing, oversized or malformed report raises
:class:`~bastion.errors.GateError` with the last lines of output: the gate fails closed.

Gates only read the tree, so :func:`run_gates` can show it to them read-only instead of
copying it (``source``, for a sandbox whose ``shows_read_only_source`` is true): each gate
then gets its own small scratch workspace for its report, and the gates run concurrently,
one thread each (they wait on their sandboxes; the cores do the work). Without a view, the
gates share one writable workspace and run one after another: each sandbox gives the
workspace to its own job uid, so two at once would take it from each other.

:func:`evaluate_gates` turns reports into one :class:`GateDecision`: suppressions and the
baseline mark each finding, the Rego policy decides, and a gate that could not run always
blocks (no policy can waive it). :func:`scan_path` is ``bastion scan``: the same, for a
directory, on a fresh copy of it.

How a gate plugs in: a subclass of :class:`bastion.scanners.Gate` named in
:class:`bastion.scanners.GateName` and ``bastion.scanners.registry``. Its host-side hooks are
declared there with their defaults and called directly: ``prepare()`` (install tool
environments, warm caches) runs in a preparation phase, :func:`prepare_gates`, before any
job of a run or any gate of ``bastion scan`` starts, never on the way to running a gate;
``required_binds()`` (directories the sandbox binds read-only; :func:`gate_binds`) never
installs. The in-sandbox command is :func:`bastion.engine.gate_command.gate_command`, the
same for both.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from bastion.engine.gate_command import gate_command, new_report_token, report_name
from bastion.engine.gate_priority import limits_by_gate
from bastion.errors import GateError, ToolMissingError
from bastion.policy import (
    Baseline,
    Decision,
    PolicyEngine,
    PolicyInput,
    Reason,
    RunContext,
    Suppression,
    Suppressions,
    suppression_notes,
)
from bastion.regular_file import Refusal, Refused, read_regular_file
from bastion.sandbox import Limits, Sandbox, SandboxSpec, Workspace, bastion_runtime_binds
from bastion.scanners.finding import Finding
from bastion.scanners.interface import GateReport
from bastion.scanners.registry import load_gate
from bastion.scanners.runner import decode_report
from bastion.scanners.tools.catalog import Tool
from bastion.scanners.tools.install_progress import InstallProgress, tools_named

__all__ = [
    "AssessedFinding",
    "GateDecision",
    "GateOutcome",
    "GateSpec",
    "evaluate_gates",
    "gate_binds",
    "prepare_gate",
    "prepare_gates",
    "run_gate_sandboxed",
    "run_gates",
    "shows_read_only_source",
]

_MAX_REPORT_BYTES = 64 * 1024 * 1024
_TAIL_LINES = 15
_TAIL_BYTES = 64 * 1024
# How long preparing a gate may take before a line says what is going on (a first install).
_QUIET_PREPARE_SECONDS = 0.5


@dataclass(frozen=True, slots=True)
class GateSpec:
    """One gate to run and its ``with:`` options."""

    name: str
    options: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class GateOutcome:
    """What one gate gave: a report, or the error that made it fail closed."""

    gate: str
    report: GateReport | None = None
    error: GateError | None = None


@dataclass(frozen=True, slots=True)
class AssessedFinding:
    """A finding with what the baseline and the suppressions say about it."""

    finding: Finding
    new: bool
    suppression: Suppression | None = None
    expired_suppression: Suppression | None = None

    @property
    def suppressed(self) -> bool:
        """True when an unexpired suppression covers it."""
        return self.suppression is not None

    def policy_dict(self) -> dict[str, Any]:
        """The finding as the policy sees it (see ``bastion.policy.model``)."""
        data = self.finding.to_dict()
        entry = self.suppression or self.expired_suppression
        data.update(
            new=self.new,
            suppressed=self.suppressed,
            where=str(self.finding.location) or "(no file)",
            suppression=entry.to_dict("active" if self.suppressed else "expired")
            if entry
            else None,
        )
        return data


@dataclass(frozen=True, slots=True)
class GateDecision:
    """The outcome of a set of gates: the policy decision and everything behind it."""

    decision: Decision
    findings: tuple[AssessedFinding, ...]
    outcomes: tuple[GateOutcome, ...]
    baseline: str | None = None

    @property
    def allowed(self) -> bool:
        """True when nothing blocks."""
        return self.decision.allowed

    @property
    def exit_code(self) -> int:
        """0 pass, 1 blocked, 3 when a gate's tools are missing (Bastion could not operate)."""
        if any(isinstance(o.error, ToolMissingError) for o in self.outcomes):
            return ToolMissingError.exit_code
        return 0 if self.allowed else 1

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready report (``bastion scan --format json``; also a baseline file)."""
        return {
            "allowed": self.allowed,
            "decision": self.decision.to_dict(),
            "baseline": self.baseline,
            "gates": {
                o.gate: {
                    "error": o.error.diagnostics() if o.error else None,
                    "facts": dict(o.report.facts) if o.report else {},
                    "notes": list(o.report.notes) if o.report else [],
                }
                for o in self.outcomes
            },
            "findings": [a.policy_dict() for a in self.findings],
        }


def prepare_gate(gate: str) -> None:
    """Host-side preparation of ``gate``: install its tools, warm its caches (first use)."""
    load_gate(gate).prepare()


def prepare_gates(
    gates: Iterable[str],
    say: Callable[[str], None],
    *,
    quiet_seconds: float = _QUIET_PREPARE_SECONDS,
) -> None:
    """Prepare each gate in turn, before the jobs that run them start.

    Why here: a first install or warm-up takes seconds to minutes, and done while building a
    job's spec it held the run's coordinating thread (no events, jobs looking idle). A gate
    whose preparation lasts over ``quiet_seconds`` gets a line through ``say`` meanwhile.
    """
    names = list(dict.fromkeys(gates))
    installs = _plan_installs(names, say)
    for gate in names:
        _prepare_saying(gate, say, quiet_seconds, installs)


def _gate_tools(gate: str) -> list[Tool]:
    """The tool environments ``gate`` runs from (none for a gate of Bastion's own code)."""
    return tools_named(load_gate(gate).tool_versions())


def _plan_installs(gates: Sequence[str], say: Callable[[str], None]) -> InstallProgress:
    """The first run's installs, counted before any starts, so each says 'N of M'."""
    return InstallProgress.plan([tool for gate in gates for tool in _gate_tools(gate)], say)


def _prepare_saying(
    gate: str,
    say: Callable[[str], None],
    quiet_seconds: float,
    installs: InstallProgress | None = None,
) -> None:
    """:func:`prepare_gate`, its tool installs said one line each first (``installs``), with
    a progress line once the rest (warm-ups) has taken ``quiet_seconds``."""
    if installs is not None:
        installs.install(_gate_tools(gate))
    notice = threading.Timer(
        quiet_seconds,
        say,
        (
            f"preparing bastion/{gate}: installing its tools or warming their caches "
            "(first use; `bastion tools install` does this ahead of time) ...",
        ),
    )
    notice.daemon = True
    notice.start()
    try:
        prepare_gate(gate)
    finally:
        notice.cancel()


def _prepare_for_scan(
    gates: Sequence[GateSpec], say: Callable[[str], None] | None
) -> dict[str, GateError]:
    """The preparation phase of :func:`run_gates`: each gate prepared once, one at a time.

    A gate that cannot be prepared (its tools missing) is not run: its error is its outcome,
    and the other gates still run, as a gate that fails in its sandbox would leave them.
    """
    failed: dict[str, GateError] = {}
    names = list(dict.fromkeys(spec.name for spec in gates))
    speak = say or (lambda _line: None)
    installs = _plan_installs(names, speak)
    for name in names:
        try:
            _prepare_saying(name, speak, _QUIET_PREPARE_SECONDS, installs)
        except GateError as exc:
            failed[name] = exc
    return failed


def gate_binds(gate: str) -> list[Path]:
    """The host directories ``gate`` needs bound read-only (it installs nothing)."""
    return list(load_gate(gate).required_binds())


def shows_read_only_source(sandbox: Sandbox) -> bool:
    """Whether ``sandbox`` can show a tree read-only (``SandboxSpec.read_only_source``)."""
    return getattr(sandbox, "shows_read_only_source", False) is True


def run_gate_sandboxed(
    sandbox: Sandbox,
    gate: str,
    workspace: Path,
    options: Mapping[str, Any] | None = None,
    *,
    limits: Limits | None = None,
    extra_binds: Sequence[Path] = (),
    commit: str | None = None,
    on_output: Callable[[bytes], None] | None = None,
    cancel: Callable[[], bool] | None = None,
    source: Path | None = None,
    hidden_source: Sequence[str] = (),
) -> GateReport:
    """Run ``gate`` over ``workspace`` inside ``sandbox``; GateError if it cannot decide.

    With ``source``, the gate scans that tree shown read-only (``hidden_source`` covered)
    and ``workspace`` only receives its report. The gate must have been prepared
    (:func:`prepare_gates`): running one installs nothing.
    """
    binds = [*bastion_runtime_binds(), *gate_binds(gate), *extra_binds]
    name = report_name(gate, new_report_token())
    out = name if source is None else f"../{name}"
    command = gate_command(gate, options or {}, out, commit=commit)
    spec = SandboxSpec(
        argv=command.argv,
        workspace=workspace,
        env=command.env,
        working_directory="." if source is None else "source",
        limits=limits or Limits(),
        read_only_binds=tuple(dict.fromkeys(binds)),
        read_only_source=source,
        hidden_source_paths=tuple(hidden_source),
    )
    tail = _Tail()

    def sink(chunk: bytes) -> None:
        tail.feed(chunk)
        if on_output is not None:
            on_output(chunk)

    report_path = workspace / name
    try:
        result = sandbox.run(spec, sink, cancel)
        if result.cancelled:
            raise GateError(f"bastion/{gate} was cancelled before it could decide")
        return _read_report(gate, report_path, result.exit_code, result.timed_out, tail)
    finally:
        for leftover in (report_path, report_path.with_name(name + ".partial")):
            leftover.unlink(missing_ok=True)


def _read_report(gate: str, path: Path, exit_code: int, timed_out: bool, tail: _Tail) -> GateReport:
    where = f"bastion/{gate}"
    if timed_out:
        raise GateError(f"{where} timed out{tail.text()}", hint="raise the gate's time limit")
    # The sandboxed side wrote this path: no symlink, no FIFO that would block us.
    data = read_regular_file(path.parent, path.name, limit=_MAX_REPORT_BYTES)
    if isinstance(data, Refused):
        if data.refusal is Refusal.MISSING:
            raise GateError(f"{where} crashed (exit status {exit_code}){tail.text()}")
        raise GateError(f"{where}: its report {data.text()}")
    try:
        doc = json.loads(data)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise GateError(f"{where}: unreadable report ({exc}){tail.text()}") from exc
    report = decode_report(doc, gate_name=gate, source=where)
    if exit_code != 0:
        raise GateError(f"{where} exited with status {exit_code}{tail.text()}")
    return report


class _Tail:
    """The last bytes of a gate's output, for error messages."""

    def __init__(self) -> None:
        self._data = bytearray()

    def feed(self, chunk: bytes) -> None:
        self._data += chunk
        if len(self._data) > 2 * _TAIL_BYTES:
            del self._data[:-_TAIL_BYTES]

    def text(self) -> str:
        lines = bytes(self._data).decode(errors="replace").rstrip().splitlines()[-_TAIL_LINES:]
        return ("; last output:\n    " + "\n    ".join(lines)) if lines else "; no output"


def run_gates(
    sandbox: Sandbox,
    gates: Sequence[GateSpec],
    workspace: Path,
    *,
    limits: Limits | None = None,
    commit: str | None = None,
    on_done: Callable[[GateOutcome, float], None] | None = None,
    source: Path | None = None,
    hidden_source: Sequence[str] = (),
    expected_cpu: Mapping[str, float] | None = None,
    say: Callable[[str], None] | None = None,
) -> list[GateOutcome]:
    """Prepare, then run the gates; a gate that fails becomes an outcome with its error.

    Every gate is prepared first (tools installed, caches warmed: :func:`prepare_gates`'s
    progress line goes to ``say``), one at a time and before any gate runs.
    Without ``source``: one after another in the writable ``workspace``. With ``source``:
    concurrently over that tree shown read-only (``hidden_source`` covered), each gate with
    its own scratch workspace made under ``workspace``. Outcomes keep the order of
    ``gates``; ``on_done(outcome, seconds)`` is called as each gate ends (progress for
    people), never by two threads at once. If the calling thread is interrupted (Ctrl-C)
    while gates run concurrently, every sandbox is cancelled before the interrupt goes on.
    With ``expected_cpu`` (gate name -> CPU seconds of its last run), concurrent gates
    other than the longest yield the CPU to it (:mod:`bastion.engine.gate_priority`).
    """
    lock = threading.Lock()
    limits_for = limits_by_gate(
        [spec.name for spec in gates] if source is not None else [],
        expected_cpu or {},
        limits or Limits(),
    )
    stop = threading.Event()
    unprepared = _prepare_for_scan(gates, say)

    def one(spec: GateSpec) -> GateOutcome:
        started = time.monotonic()
        try:
            if spec.name in unprepared:
                raise unprepared[spec.name]
            if source is None:
                report = run_gate_sandboxed(
                    sandbox, spec.name, workspace, spec.options, limits=limits, commit=commit
                )
            else:
                with Workspace.scratch(workspace) as scratch:
                    report = run_gate_sandboxed(
                        sandbox,
                        spec.name,
                        scratch.path,
                        spec.options,
                        limits=limits_for[spec.name],
                        commit=commit,
                        source=source,
                        hidden_source=hidden_source,
                        cancel=stop.is_set,
                    )
        except GateError as exc:
            outcome = GateOutcome(spec.name, error=exc)
        else:
            outcome = GateOutcome(spec.name, report=report)
        if on_done is not None:
            with lock:
                on_done(outcome, time.monotonic() - started)
        return outcome

    if source is None or len(gates) < 2:
        return [one(spec) for spec in gates]
    with ThreadPoolExecutor(max_workers=len(gates), thread_name_prefix="bastion-gate") as pool:
        futures = [pool.submit(one, spec) for spec in gates]
        try:
            return [future.result() for future in futures]
        except BaseException:
            stop.set()  # the pool then waits only for sandboxes being killed
            raise


def evaluate_gates(
    outcomes: Sequence[GateOutcome],
    context: RunContext,
    policy: PolicyEngine,
    suppressions: Suppressions | None = None,
    baseline: Baseline | None = None,
    today: dt.date | None = None,
) -> GateDecision:
    """Mark findings (baseline, suppressions), let the policy decide, add gate failures."""
    day = today or dt.datetime.now(dt.UTC).date()
    sups = suppressions or Suppressions()
    assessed = tuple(
        _assess(finding, sups, baseline, day)
        for outcome in outcomes
        if outcome.report is not None
        for finding in outcome.report.findings
    )
    gates_input = {
        o.gate: {
            "facts": dict(o.report.facts) if o.report else {},
            "notes": list(o.report.notes) if o.report else [],
            "error": o.error.message if o.error else None,
        }
        for o in outcomes
    }
    decision = policy.decide(
        PolicyInput(
            context=context,
            findings=[a.policy_dict() for a in assessed],
            gates=gates_input,
            suppressions=suppression_notes(sups.entries, day),
        )
    )
    failures = tuple(
        Reason(f"gate bastion/{o.gate} could not decide: {o.error.message}")
        for o in outcomes
        if o.error is not None
    )
    notes = tuple(_expiry_note(s) for s in _expired_used(assessed))
    decision = replace(
        decision,
        allowed=decision.allowed and not failures,
        reasons=failures + decision.reasons,
        notes=decision.notes + notes,
    )
    source = baseline.source if baseline else None
    return GateDecision(decision, assessed, tuple(outcomes), source)


def _assess(
    finding: Finding, sups: Suppressions, baseline: Baseline | None, day: dt.date
) -> AssessedFinding:
    match = sups.match(finding, day)
    new = baseline.is_new(finding.fingerprint) if baseline else True
    return AssessedFinding(finding, new, match.active, match.expired)


def _expired_used(assessed: Sequence[AssessedFinding]) -> list[Suppression]:
    seen: dict[str, Suppression] = {}
    for item in assessed:
        if item.expired_suppression is not None:
            seen.setdefault(item.expired_suppression.source, item.expired_suppression)
    return list(seen.values())


def _expiry_note(entry: Suppression) -> str:
    return (
        f"suppression for {entry.target()} by {entry.owner} expired on "
        f"{entry.expires.isoformat()} ({entry.source}): it no longer suppresses"
    )
