"""A job's own ``bwrap:`` lines are its own: set-up failures are told by bwrap's marker.

bwrap reports ``exit-code`` on its ``--json-status-fd`` only once it has set the sandbox up
and executed the inner command; without that line the job never ran.
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import replace
from pathlib import Path

import pytest

from bastion.errors import SandboxError
from bastion.sandbox import BubblewrapSandbox, SandboxSpec
from bastion.sandbox.bubblewrap import _result, _Status
from bastion.sandbox.cgroup import JobCgroup
from bastion.sandbox.invocation import Invocation
from bastion.sandbox.supervise import Outcome

from .conftest import RunSh


class _MissingBindSandbox(BubblewrapSandbox):
    """Adds a bind whose source does not exist after Bastion's own checks, so that bwrap
    itself fails while setting the sandbox up (its ``Can't find source path``)."""

    def _invocation(
        self, spec: SandboxSpec, job_uid: int | None, stack: contextlib.ExitStack
    ) -> Invocation:
        inv = super()._invocation(spec, job_uid, stack)
        return replace(inv, binds=[*inv.binds, Path("/nonexistent-bastion-bind-source")])


def test_job_printing_bwrap_and_exiting_1_is_a_failed_job(run_sh: RunSh) -> None:
    result, output = run_sh("echo 'bwrap: fake error' >&2; exit 1")
    assert result.exit_code == 1
    assert not result.succeeded
    assert output.startswith("bwrap: fake error")


def test_job_printing_a_fake_status_line_cannot_pass_as_started(run_sh: RunSh) -> None:
    # The marker travels on bwrap's own descriptor, never on the job's output.
    result, _ = run_sh("echo '{ \"exit-code\": 0 }'; exit 1")
    assert result.exit_code == 1


def test_job_holds_no_descriptor_beyond_its_standard_streams(run_sh: RunSh) -> None:
    # So it cannot write (or close) bwrap's status descriptor.
    result, output = run_sh("ls /proc/self/fd")
    assert result.exit_code == 0, output
    assert set(output.split()) <= {"0", "1", "2", "3"}  # 3: the directory ls itself opened


def test_missing_bind_source_is_a_sandbox_error(state_dir: Path, workspace: Path) -> None:
    sandbox = _MissingBindSandbox(state_dir=state_dir)
    spec = SandboxSpec(argv=["/bin/true"], workspace=workspace)
    with pytest.raises(SandboxError, match="could not be set up: bwrap: Can't find source path"):
        sandbox.run(spec, lambda _: None)


def test_set_up_failure_that_beats_the_cgroup_admission_is_still_a_set_up_error(
    state_dir: Path, workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """bwrap may die of a bad bind before Bastion moves its pids into the job's cgroup: that
    race must still be reported as bwrap's own set-up error, not as a cgroup failure."""
    admit = JobCgroup.admit

    def late_admit(self: JobCgroup, pids: tuple[int, ...]) -> None:
        time.sleep(0.5)  # bwrap fails on the bind and exits meanwhile
        admit(self, pids)

    monkeypatch.setattr(JobCgroup, "admit", late_admit)
    sandbox = _MissingBindSandbox(state_dir=state_dir)
    spec = SandboxSpec(argv=["/bin/true"], workspace=workspace)
    with pytest.raises(SandboxError, match="could not be set up: bwrap: Can't find source path"):
        sandbox.run(spec, lambda _: None)


def test_missing_working_directory_is_a_sandbox_error(run_sh: RunSh) -> None:
    with pytest.raises(SandboxError, match="could not be set up: bwrap: Can't chdir"):
        run_sh("pwd", working_directory="missing-directory")


def _outcome(exit_code: int, *, timed_out: bool = False) -> Outcome:
    return Outcome(exit_code, None, timed_out, cancelled=False, duration_seconds=0.1)


def test_without_the_marker_any_exit_is_a_set_up_error_even_silent_or_zero() -> None:
    for code in (0, 1, 2):
        with pytest.raises(SandboxError, match="could not be set up"):
            _result(_outcome(code), b"", started=False)


def test_without_the_marker_a_missing_command_is_127() -> None:
    result = _result(_outcome(1), b"bwrap: execvp nope: No such file\n", started=False)
    assert result.exit_code == 127


def test_a_timeout_before_the_marker_is_a_timeout() -> None:
    result = _result(_outcome(137, timed_out=True), b"", started=False)
    assert result.timed_out
    assert result.exit_code == 137


def test_inner_wrapper_complaint_after_the_marker_is_a_set_up_error() -> None:
    with pytest.raises(SandboxError, match="setpriv: setresuid failed"):
        _result(_outcome(1), b"setpriv: setresuid failed\n", started=True)


def test_status_lines_split_across_chunks() -> None:
    status = _Status()
    status.feed(b'{ "child-pid": 999999999, "mnt-namespace": 1 }\n{ "exit-')
    assert not status.started
    assert status.pidfd is None  # no such process: nothing to hold
    status.feed(b'code": 1 }\n')
    assert status.started
    status.close()
