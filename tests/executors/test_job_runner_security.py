"""A hostile job against the job runner: what it prints, and what it leaves in its workspace."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from bastion.engine.run_masking import RunMasking
from bastion.executors import (
    JobEvent,
    JobEventKind,
    JobOutcome,
    JobSpec,
    StepSpec,
    WorkspaceSource,
)
from bastion.executors.job_runner import run_job
from bastion.executors.secret_guard import JobMasking
from bastion.sandbox import BubblewrapSandbox, Workspace

pytestmark = pytest.mark.integration

SECRET = "Zk8vQ2xLmP4wZ8rN-test-only-value-0123456789"


_MASKING = RunMasking.build({"TOKEN": SECRET})


def _masking(_spec: JobSpec) -> JobMasking:
    return _MASKING


_NEST = """
import os
fd = os.open(".", os.O_RDONLY)
for _ in range({depth}):
    os.mkdir("d", dir_fd=fd)
    inner = os.open("d", os.O_RDONLY, dir_fd=fd)
    os.close(fd)
    fd = inner
os.chmod(".", 0, dir_fd=fd)
"""


def _run(tmp_path: Path, script: str, *more: str, **extra: object) -> tuple[JobOutcome, bytes]:
    source = tmp_path / "project"
    source.mkdir(exist_ok=True)
    scratch = tmp_path / "scratch"
    scratch.mkdir(exist_ok=True)
    spec = JobSpec(
        run_id=1,
        job="hostile",
        steps=tuple(
            StepSpec(f"s{n}", ("/bin/sh", "-c", text), timeout_seconds=60)
            for n, text in enumerate((script, *more))
        ),
        source=WorkspaceSource(str(source)),
        **extra,  # type: ignore[arg-type]
    )
    events: list[JobEvent] = []
    outcome = run_job(
        spec,
        sandbox=BubblewrapSandbox(),
        workspace_parent=scratch,
        on_event=events.append,
        cancelled=threading.Event(),
        secret_env={"TOKEN": SECRET},
        output_filter=_masking,
    )
    output = b"".join(e.data for e in events if e.kind is JobEventKind.OUTPUT)
    return outcome, output


def test_faked_sandbox_setup_failure_does_not_leak_the_secret(tmp_path: Path) -> None:
    # A job that prints "setpriv: ..." (the inner wrapper's prefix, still told by its first
    # line) and exits 1 is taken for a sandbox set-up failure, whose message quotes that
    # line: it goes to the run record and the audit log, so it is masked.
    outcome, output = _run(tmp_path, 'printf "setpriv: %s\\n" "$TOKEN"; exit 1')
    assert outcome.status == "error"
    assert SECRET not in (outcome.reason or "")
    assert "setpriv: ***" in (outcome.reason or "")
    # "bwrap: ..." is the job's own output since bwrap's marker says the job ran.
    (tmp_path / "bwrap").mkdir()
    outcome, output = _run(tmp_path / "bwrap", 'printf "bwrap: %s\\n" "$TOKEN"; exit 1')
    assert outcome.status == "failed"
    assert SECRET.encode() not in output


def test_artifacts_and_reports_under_a_symlinked_parent_are_refused(
    tmp_path: Path,
) -> None:
    # Issue 22: refused with a message naming the path (it was skipped silently before).
    out = tmp_path / "out"
    outcome, _ = _run(
        tmp_path,
        "ln -s /etc dist && ln -s /etc reports",
        artifacts=("dist/*", "dist/**/*"),
        artifact_dir=str(out),
        collect=("reports/passwd", "dist/hostname"),
    )
    assert outcome.status == "error"
    assert "reports/passwd is, or goes through, a symbolic link" in (outcome.reason or "")
    assert outcome.artifacts == ()
    assert outcome.collected == {}
    assert not out.exists() or not any(out.rglob("*"))
    outcome, _ = _run(tmp_path, "ln -s /etc dist", artifacts=("dist/*",), artifact_dir=str(out))
    assert outcome.status == "error"
    assert "artifact dist/" in (outcome.reason or "")
    assert "symbolic link" in (outcome.reason or "")
    assert not out.exists() or not any(out.rglob("*"))


@pytest.mark.parametrize(
    ("depth", "status"),
    [(1500, "passed"), (2500, "error")],  # past PATH_MAX the next step cannot be prepared
)
def test_workspace_nested_deeper_than_the_recursion_limit_is_removed(
    tmp_path: Path, depth: int, status: str
) -> None:
    script = "python3 -c '" + _NEST.format(depth=depth) + "'"
    outcome, _ = _run(tmp_path, script, "echo second step")
    assert outcome.status == status, outcome.reason
    assert list((tmp_path / "scratch").iterdir()) == []


def test_source_tree_nested_deeper_than_the_recursion_limit_is_copied(tmp_path: Path) -> None:
    # An untrusted branch checked out locally can nest directories past Python's recursion
    # limit; copying it used to kill the job's thread (the run then waited forever).
    folder = os.open(tmp_path, os.O_RDONLY)
    os.mkdir("project", dir_fd=folder)
    for name in ("project", *["d"] * 1200):
        if name == "d":
            os.mkdir(name, dir_fd=folder)
        inner = os.open(name, os.O_RDONLY, dir_fd=folder)
        os.close(folder)
        folder = inner
    os.close(folder)
    try:
        outcome, output = _run(tmp_path, "find . -type d | wc -l")
    finally:
        # pytest's own clean-up of old temporary directories recurses: leave nothing deep.
        Workspace(tmp_path / "project").remove()
    assert outcome.status == "passed", outcome.reason
    assert output == b"1201\n"
    assert list((tmp_path / "scratch").iterdir()) == []


class _CrashingSandbox:
    shows_read_only_source = False

    def run(self, spec: object, on_output: object, cancel: object = None) -> object:
        raise RuntimeError(f"unexpected failure near {SECRET}")


def test_unexpected_crash_still_finishes_the_job_masked(tmp_path: Path) -> None:
    (tmp_path / "project").mkdir()
    (tmp_path / "scratch").mkdir()
    events: list[JobEvent] = []
    spec = JobSpec(
        run_id=1,
        job="j",
        steps=(StepSpec("s", ("true",)),),
        source=WorkspaceSource(str(tmp_path / "project")),
    )
    outcome = run_job(
        spec,
        sandbox=_CrashingSandbox(),  # type: ignore[arg-type]
        workspace_parent=tmp_path / "scratch",
        on_event=events.append,
        cancelled=threading.Event(),
        output_filter=_masking,
    )
    assert outcome.status == "error"
    assert outcome.reason == "internal error: RuntimeError: unexpected failure near ***"
    assert [e.kind for e in events][-1] is JobEventKind.FINISHED
    assert list((tmp_path / "scratch").iterdir()) == []
