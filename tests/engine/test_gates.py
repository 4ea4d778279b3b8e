"""Gates run in a sandbox and fail closed; the decision combines policy, suppressions, baseline."""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from bastion.engine.gate_priority import YIELDING_NICE
from bastion.engine.gates import (
    GateOutcome,
    GateSpec,
    evaluate_gates,
    gate_binds,
    prepare_gate,
    prepare_gates,
    run_gate_sandboxed,
    run_gates,
    shows_read_only_source,
)
from bastion.errors import GateError, SandboxError, ToolMissingError
from bastion.policy import (
    Baseline,
    PolicyEngine,
    RunContext,
    Suppression,
    Suppressions,
)
from bastion.sandbox import (
    BubblewrapSandbox,
    Limits,
    SandboxResult,
    SandboxSpec,
    UnsafeHostRunner,
    bastion_runtime_binds,
)
from bastion.scanners.finding import Finding, Location, Severity
from bastion.scanners.interface import Gate, GateReport, ScanRequest
from bastion.trust import Trust
from tests.engine.fakes import ViewSandbox

SARIF = {
    "version": "2.1.0",
    "runs": [
        {
            "tool": {"driver": {"name": "t"}},
            "results": [
                {
                    "ruleId": "R1",
                    "level": "error",
                    "message": {"text": "bad thing"},
                    "locations": [
                        {
                            "physicalLocation": {
                                "artifactLocation": {"uri": "app.py"},
                                "region": {"startLine": 1},
                            }
                        }
                    ],
                }
            ],
        }
    ],
}
CTX = RunContext(repo="demo", commit=None, ref="main", trust=Trust.TRUSTED, event="push")
TODAY = dt.date(2026, 11, 22)


class CannedSandbox:
    """A fake Sandbox: records the spec, optionally writes files, returns a set result."""

    def __init__(
        self,
        result: SandboxResult,
        output: bytes = b"",
        write: Callable[[SandboxSpec], None] | None = None,
    ) -> None:
        self.result = result
        self.output = output
        self.write = write
        self.specs: list[SandboxSpec] = []

    def run(
        self,
        spec: SandboxSpec,
        on_output: Callable[[bytes], None],
        cancel: Callable[[], bool] | None = None,
    ) -> SandboxResult:
        self.specs.append(spec)
        if self.write is not None:
            self.write(spec)
        on_output(self.output)
        return self.result


def _report_path(spec: SandboxSpec) -> Path:
    argv = list(spec.argv)
    return spec.workspace / argv[argv.index("--out") + 1]


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    path = tmp_path / "ws"
    path.mkdir()
    (path / "app.py").write_text("eval(input())\n")
    (path / "scan.sarif").write_text(json.dumps(SARIF))
    return path


COPY = {"command": 'cp scan.sarif "$BASTION_SARIF"'}


def test_runs_the_gate_and_cleans_up(workspace: Path) -> None:
    chunks: list[bytes] = []
    report = run_gate_sandboxed(
        UnsafeHostRunner(), "sarif", workspace, COPY, on_output=chunks.append
    )
    (finding,) = report.findings
    assert finding.rule_id == "R1"
    assert sorted(p.name for p in workspace.iterdir()) == ["app.py", "scan.sarif"]


def test_scanned_code_cannot_shadow_modules(workspace: Path) -> None:
    """Regression guard for `python -m` putting the scanned repository on sys.path."""
    (workspace / "json.py").write_text("raise SystemExit('HIJACKED by json.py')\n")
    (workspace / "bastion").mkdir()
    (workspace / "bastion" / "__init__.py").write_text("raise SystemExit('HIJACKED')\n")
    chunks: list[bytes] = []
    report = run_gate_sandboxed(
        UnsafeHostRunner(), "sarif", workspace, COPY, on_output=chunks.append
    )
    assert len(report.findings) == 1
    assert b"HIJACKED" not in b"".join(chunks)


def test_spec_isolates_python_and_binds_runtime(workspace: Path) -> None:
    sandbox = CannedSandbox(SandboxResult(1, 0.1))
    with pytest.raises(GateError):
        run_gate_sandboxed(sandbox, "sarif", workspace, COPY, extra_binds=[Path("/opt")])
    (spec,) = sandbox.specs
    assert list(spec.argv[:4]) == [sys.executable, "-I", "-m", "bastion.scanners"]
    assert "--root" in spec.argv
    assert spec.argv[spec.argv.index("--root") + 1] == "."
    assert set(bastion_runtime_binds()) <= set(spec.read_only_binds)
    assert Path("/opt") in spec.read_only_binds
    assert spec.workspace == workspace


def test_timeout_fails_closed_with_output(workspace: Path) -> None:
    options = {"command": "echo scanning; sleep 30"}
    with pytest.raises(GateError, match=r"timed out; last output:\n\s+scanning"):
        run_gate_sandboxed(
            UnsafeHostRunner(), "sarif", workspace, options, limits=Limits(timeout_seconds=3)
        )


def test_crash_without_report_fails_closed_with_last_lines(workspace: Path) -> None:
    trace = b"Traceback (most recent call last):\n  File x\nZeroDivisionError: division by zero\n"
    sandbox = CannedSandbox(SandboxResult(1, 0.2), output=trace)
    with pytest.raises(GateError, match="crashed") as info:
        run_gate_sandboxed(sandbox, "sarif", workspace, COPY)
    assert "ZeroDivisionError: division by zero" in info.value.message


def test_gate_error_is_shown(workspace: Path) -> None:
    with pytest.raises(GateError, match="command exited with status 7"):
        run_gate_sandboxed(UnsafeHostRunner(), "sarif", workspace, {"command": "exit 7"})


def _writes(content: bytes) -> Callable[[SandboxSpec], None]:
    def write(spec: SandboxSpec) -> None:
        _report_path(spec).write_bytes(content)

    return write


def test_unreadable_report_fails_closed(workspace: Path) -> None:
    sandbox = CannedSandbox(SandboxResult(0, 0.1), write=_writes(b"{not json"))
    with pytest.raises(GateError, match="unreadable report"):
        run_gate_sandboxed(sandbox, "sarif", workspace, COPY)
    assert not any(p.name.startswith(".bastion-gate-report") for p in workspace.iterdir())


def test_valid_report_with_bad_exit_fails_closed(workspace: Path) -> None:
    doc = {"format": "bastion-gate-report/1", "gate": "sarif", "findings": []}
    sandbox = CannedSandbox(SandboxResult(2, 0.1), write=_writes(json.dumps(doc).encode()))
    with pytest.raises(GateError, match="exited with status 2"):
        run_gate_sandboxed(sandbox, "sarif", workspace, COPY)


def test_symlinked_report_is_not_followed(workspace: Path, tmp_path: Path) -> None:
    outside = tmp_path / "planted.json"
    outside.write_text(json.dumps({"format": "bastion-gate-report/1", "gate": "sarif"}))

    def plant(spec: SandboxSpec) -> None:
        _report_path(spec).symlink_to(outside)

    with pytest.raises(GateError, match="symbolic link"):
        run_gate_sandboxed(CannedSandbox(SandboxResult(0, 0.1), write=plant), "sarif", workspace)


def test_fifo_report_is_refused(workspace: Path) -> None:
    def plant(spec: SandboxSpec) -> None:
        os.mkfifo(_report_path(spec))

    sandbox = CannedSandbox(SandboxResult(0, 0.1), write=plant)
    with pytest.raises(GateError, match="not a regular file"):
        run_gate_sandboxed(sandbox, "sarif", workspace)


def test_cancelled_gate_fails_closed(workspace: Path) -> None:
    sandbox = CannedSandbox(SandboxResult(-9, 0.1, cancelled=True))
    with pytest.raises(GateError, match="cancelled"):
        run_gate_sandboxed(sandbox, "sarif", workspace)


def test_oversized_report_is_refused(workspace: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("bastion.engine.gates._MAX_REPORT_BYTES", 10)
    sandbox = CannedSandbox(SandboxResult(0, 0.1), write=_writes(b"[" + b" " * 20 + b"]"))
    with pytest.raises(GateError, match="larger than"):
        run_gate_sandboxed(sandbox, "sarif", workspace)


def test_run_gates_collects_failures(workspace: Path) -> None:
    seen: list[tuple[str, bool]] = []
    outcomes = run_gates(
        UnsafeHostRunner(),
        [GateSpec("sarif", COPY), GateSpec("sarif", {"command": "exit 3"})],
        workspace,
        on_done=lambda outcome, seconds: seen.append((outcome.gate, seconds >= 0)),
    )
    assert outcomes[0].report is not None
    assert outcomes[1].error is not None
    assert seen == [("sarif", True), ("sarif", True)]


def test_gate_binds_uses_host_hooks(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []

    class ToolGate:
        name = "tool"

        def prepare(self) -> None:
            calls.append("prepare")

        def required_binds(self) -> list[Path]:
            return [Path("/opt/tools")]

        def scan(self, request: Any) -> GateReport:
            raise AssertionError("never scanned on the host")

    monkeypatch.setattr("bastion.engine.gates.load_gate", lambda name: ToolGate())
    assert gate_binds("tool") == [Path("/opt/tools")]
    assert calls == []  # binding installs nothing: preparing is a step of its own
    prepare_gate("tool")
    assert calls == ["prepare"]


class _SlowGate:
    """A gate whose preparation lasts until a progress line has been said (or 5 s)."""

    name = "slow"

    def __init__(self, said: threading.Event, fail: bool = False) -> None:
        self.said = said
        self.fail = fail
        self.prepared = 0

    def tool_versions(self) -> dict[str, str]:
        return {}  # no tool environment: nothing for the install progress to say

    def prepare(self) -> None:
        self.prepared += 1
        self.said.wait(5)
        if self.fail:
            raise ToolMissingError("the slow tool could not be installed")

    def scan(self, request: Any) -> GateReport:
        raise AssertionError("never scanned on the host")


def test_prepare_gates_says_what_a_slow_preparation_does(monkeypatch: pytest.MonkeyPatch) -> None:
    said = threading.Event()
    gate = _SlowGate(said)
    monkeypatch.setattr("bastion.engine.gates.load_gate", lambda name: gate)
    lines: list[str] = []

    def say(text: str) -> None:
        lines.append(text)
        said.set()

    prepare_gates(["slow", "slow"], say, quiet_seconds=0.0)
    assert gate.prepared == 1  # once per gate, however many jobs use it
    assert len(lines) == 1
    assert "preparing bastion/slow" in lines[0]
    assert "bastion tools install" in lines[0]


def test_prepare_gates_is_quiet_when_quick_and_stops_on_a_failure(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    said = threading.Event()
    said.set()  # preparation returns at once
    gate = _SlowGate(said, fail=True)
    monkeypatch.setattr("bastion.engine.gates.load_gate", lambda name: gate)
    lines: list[str] = []
    with pytest.raises(ToolMissingError, match="could not be installed"):
        prepare_gates(["slow"], lines.append, quiet_seconds=60.0)
    assert lines == []


def test_run_gates_prepares_every_gate_before_any_runs(
    workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """bastion scan: installs and warm-ups are a phase of their own, and a gate whose tools
    cannot be installed is an outcome (the others still run), never run half-prepared."""
    order: list[str] = []
    monkeypatch.setattr("bastion.engine.gates.load_gate", lambda name: _OrderedGate(name, order))
    sandbox = CannedSandbox(SandboxResult(1, 0.1))
    real_run = sandbox.run

    def run(spec: SandboxSpec, out: Callable[[bytes], None], cancel: Any = None) -> Any:
        order.append("run")
        return real_run(spec, out, cancel)

    monkeypatch.setattr(sandbox, "run", run)
    outcomes = run_gates(sandbox, [GateSpec("ok"), GateSpec("broken")], workspace)
    assert order == ["prepare ok", "prepare broken", "run"]
    assert isinstance(outcomes[1].error, ToolMissingError)
    assert outcomes[0].error is not None  # the canned sandbox wrote no report


class _OrderedGate(Gate):
    """Records its preparation; the gate called 'broken' cannot install its tools."""

    def __init__(self, name: str, order: list[str]) -> None:
        self.name = name
        self.order = order

    def prepare(self) -> None:
        self.order.append(f"prepare {self.name}")
        if self.name == "broken":
            raise ToolMissingError("bastion/broken: its tool could not be installed")

    def scan(self, request: ScanRequest) -> GateReport:
        raise AssertionError("never scanned on the host")


def _finding(rule: str, severity: Severity, gate: str = "sast", path: str = "a.py") -> Finding:
    return Finding.create(
        gate=gate,
        rule_id=rule,
        severity=severity,
        message=f"{rule} found",
        location=Location(path, 3),
        match_key=rule,
    )


def _outcome(*findings: Finding, gate: str = "sast") -> GateOutcome:
    return GateOutcome(gate, report=GateReport(gate, findings, {"files": 2}))


@pytest.fixture(scope="module")
def policy() -> PolicyEngine:
    return PolicyEngine.load(None)


def test_decision_blocks_and_names_findings(policy: PolicyEngine) -> None:
    high = _finding("r-high", Severity.HIGH)
    low = _finding("r-low", Severity.LOW)
    result = evaluate_gates([_outcome(high, low)], CTX, policy, today=TODAY)
    assert not result.allowed
    assert result.exit_code == 1
    assert result.decision.reasons[0].fingerprints == (high.fingerprint,)
    doc = result.to_dict()
    assert doc["gates"]["sast"]["facts"] == {"files": 2}
    assert {f["rule_id"]: f["new"] for f in doc["findings"]} == {"r-high": True, "r-low": True}


def test_baseline_and_suppression_let_it_pass(policy: PolicyEngine) -> None:
    old = _finding("r-old", Severity.HIGH)
    accepted = _finding("r-ok", Severity.CRITICAL)
    sups = Suppressions(
        (Suppression("alice", "reviewed", dt.date(2027, 1, 1), "s.yml:2", accepted.fingerprint),)
    )
    baseline = Baseline.of([old.fingerprint], "base.json")
    result = evaluate_gates([_outcome(old, accepted)], CTX, policy, sups, baseline, TODAY)
    assert result.allowed
    assert result.exit_code == 0
    assert result.baseline == "base.json"
    by_rule = {a.finding.rule_id: a for a in result.findings}
    assert not by_rule["r-old"].new
    assert by_rule["r-ok"].suppressed


def test_expired_suppression_blocks_and_says_so(policy: PolicyEngine) -> None:
    finding = _finding("r", Severity.HIGH, path="legacy/x.py")
    entry = Suppression("bob", "legacy", dt.date(2026, 1, 31), "s.yml:7", rule="r", path="legacy/*")
    result = evaluate_gates([_outcome(finding)], CTX, policy, Suppressions((entry,)), None, TODAY)
    assert not result.allowed
    assert result.decision.notes == (
        "suppression for r on legacy/* by bob expired on 2026-01-31 (s.yml:7): "
        "it no longer suppresses",
    )
    assert result.to_dict()["findings"][0]["suppression"]["status"] == "expired"


def test_failed_gate_always_blocks(policy: PolicyEngine) -> None:
    failed = GateOutcome("sca", error=GateError("bastion/sca: database missing"))
    result = evaluate_gates([_outcome(), failed], CTX, policy, today=TODAY)
    assert not result.allowed
    assert result.decision.reasons[0].message.startswith("gate bastion/sca could not decide")
    assert result.to_dict()["gates"]["sca"]["error"] == "bastion/sca: database missing"
    missing = GateOutcome("sast", error=ToolMissingError("semgrep missing"))
    assert evaluate_gates([missing], CTX, policy, today=TODAY).exit_code == 3


@pytest.mark.integration
def test_gate_runs_in_real_bubblewrap(workspace: Path) -> None:
    options = {
        "command": 'cp scan.sarif "$BASTION_SARIF"; '
        "cat /etc/shadow >/dev/null 2>&1 && echo SHADOW-READABLE; "
        'echo "UID=$(id -u)"',
    }
    chunks: list[bytes] = []
    report = run_gate_sandboxed(
        BubblewrapSandbox(), "sarif", workspace, options, on_output=chunks.append
    )
    output = b"".join(chunks).decode()
    assert [f.rule_id for f in report.findings] == ["R1"]
    assert "SHADOW-READABLE" not in output
    if os.geteuid() == 0:
        assert "UID=0" not in output


def test_gates_over_a_view_run_concurrently(tmp_path: Path) -> None:
    source = tmp_path / "tree"
    source.mkdir()
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    sandbox = ViewSandbox(1.0)
    done: list[str] = []
    outcomes = run_gates(
        sandbox,
        [GateSpec("secrets"), GateSpec("sarif")],
        scratch,
        source=source,
        hidden_source=[".git"],
        on_done=lambda outcome, _seconds: done.append(outcome.gate),
    )
    # Overlap, not wall time: on a loaded machine two concurrent 1 s sleeps can take 1.9 s.
    (first_start, first_end), (second_start, second_end) = sandbox.intervals
    assert max(first_start, second_start) < min(first_end, second_end), "gates ran one by one"
    assert [o.gate for o in outcomes] == ["secrets", "sarif"]  # the order asked for
    assert all(o.report is not None and o.error is None for o in outcomes)
    assert sorted(done) == ["sarif", "secrets"]
    workspaces = {spec.workspace for spec in sandbox.specs}
    assert len(workspaces) == 2  # one scratch workspace each: a workspace belongs to one uid
    assert all(ws.parent == scratch and not ws.exists() for ws in workspaces)
    for spec in sandbox.specs:
        assert spec.read_only_source == source
        assert list(spec.hidden_source_paths) == [".git"]
        assert spec.working_directory == "source"
    assert list(scratch.iterdir()) == []


def test_a_failing_gate_over_a_view_is_an_outcome(tmp_path: Path) -> None:
    sandbox = CannedSandbox(SandboxResult(2, 0.1), output=b"boom\n")
    sandbox.shows_read_only_source = True  # type: ignore[attr-defined]
    outcomes = run_gates(
        sandbox, [GateSpec("secrets"), GateSpec("sarif")], tmp_path, source=tmp_path
    )
    assert [o.gate for o in outcomes] == ["secrets", "sarif"]
    assert all(o.error is not None and "crashed" in o.error.message for o in outcomes)


def test_only_a_declared_capability_counts() -> None:
    assert shows_read_only_source(BubblewrapSandbox())
    assert not shows_read_only_source(UnsafeHostRunner())
    assert not shows_read_only_source(CannedSandbox(SandboxResult(0, 0.1)))


@pytest.mark.integration
def test_gate_sees_the_tree_read_only_without_git_or_state(tmp_path: Path) -> None:
    source = tmp_path / "tree"
    (source / ".git").mkdir(parents=True)
    (source / ".git" / "config").write_text("url = https://user:token@example.invalid\n")
    (source / "sub" / ".git").mkdir(parents=True)
    (source / "sub" / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    (source / ".bastion" / "state").mkdir(parents=True)
    (source / ".bastion" / "state" / "key").write_text("PRIVATE-KEY\n")
    (source / "scan.sarif").write_text(json.dumps(SARIF))
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    options = {
        "command": "touch planted 2>/dev/null && echo WROTE-INTO-TREE; "
        "cat .git/config sub/.git/HEAD .bastion/state/key 2>/dev/null; "
        'find .git sub/.git .bastion/state -mindepth 1 | sed "s/^/LISTED:/"; '
        'cp scan.sarif "$BASTION_SARIF"',
    }
    chunks: list[bytes] = []
    hidden = [".bastion/state", ".git", "sub/.git"]
    report = run_gate_sandboxed(
        BubblewrapSandbox(),
        "sarif",
        scratch,
        options,
        on_output=chunks.append,
        source=source,
        hidden_source=hidden,
    )
    output = b"".join(chunks).decode()
    assert [f.rule_id for f in report.findings] == ["R1"]
    for leaked in ("WROTE-INTO-TREE", "token", "refs/heads", "PRIVATE-KEY", "LISTED:"):
        assert leaked not in output
    assert not (source / "planted").exists()
    assert sorted(p.name for p in scratch.iterdir()) == ["source"]  # the mount point only


class OneFailsOneWaitsSandbox:
    """``secrets`` cannot be isolated (SandboxError); ``sarif`` runs until it is cancelled."""

    shows_read_only_source = True

    def __init__(self) -> None:
        self.cancelled = threading.Event()

    def run(
        self,
        spec: SandboxSpec,
        on_output: Callable[[bytes], None],
        cancel: Callable[[], bool] | None = None,
    ) -> SandboxResult:
        assert cancel is not None
        if "secrets" in spec.argv:
            time.sleep(0.2)
            raise SandboxError("cannot isolate")
        deadline = time.monotonic() + 10
        while not cancel():
            assert time.monotonic() < deadline, "never cancelled"
            time.sleep(0.02)
        self.cancelled.set()
        return SandboxResult(137, 0.3, cancelled=True)


def test_a_failure_of_bastion_itself_cancels_the_other_gates(tmp_path: Path) -> None:
    sandbox = OneFailsOneWaitsSandbox()
    started = time.monotonic()
    with pytest.raises(SandboxError, match="cannot isolate"):
        run_gates(sandbox, [GateSpec("secrets"), GateSpec("sarif")], tmp_path, source=tmp_path)
    assert sandbox.cancelled.is_set()
    assert time.monotonic() - started < 5
    assert list(tmp_path.iterdir()) == []  # both scratch workspaces removed


def test_concurrent_gates_yield_the_cpu_to_the_one_expected_longest(tmp_path: Path) -> None:
    sandbox = ViewSandbox()
    limits = Limits(timeout_seconds=30)
    run_gates(
        sandbox,
        [GateSpec("secrets"), GateSpec("sarif")],
        tmp_path,
        limits=limits,
        source=tmp_path,
        expected_cpu={"secrets": 0.5, "sarif": 4.0},
    )
    assert sandbox.niceness() == {"sarif": 0, "secrets": YIELDING_NICE}
    assert {spec.limits.timeout_seconds for spec in sandbox.specs} == {30}


def test_gates_one_after_another_never_yield(tmp_path: Path) -> None:
    sandbox = CannedSandbox(SandboxResult(0, 0.1))
    run_gates(
        sandbox,
        [GateSpec("secrets"), GateSpec("sarif")],
        tmp_path,
        expected_cpu={"secrets": 0.1, "sarif": 9},
    )
    assert {spec.limits.nice for spec in sandbox.specs} == {0}
