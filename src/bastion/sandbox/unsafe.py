"""``--unsafe-no-sandbox``: run a step as a plain host process. Only when asked for by name.

There is no isolation: the job sees the host filesystem, network and every secret its user
can read. What still holds: a cleared environment, the rlimits ``prlimit`` can set (the
process limit does not bind root), the timeout and cancel, which kill the process group
(a child that calls ``setsid`` escapes it: only the bubblewrap sandbox kills those), and the
working directory check. Every run logs a WARNING on the ``bastion.sandbox`` logger.
Secret files (``files``) and a custom ``rootfs`` cannot be honoured and are refused.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
from collections.abc import Callable
from pathlib import Path

from bastion.errors import SandboxError
from bastion.sandbox.interface import OutputSink, SandboxResult, SandboxSpec
from bastion.sandbox.invocation import DEFAULT_PATH, limits_prefix
from bastion.sandbox.paths import resolve_working_directory
from bastion.sandbox.supervise import supervise

__all__ = ["UnsafeHostRunner"]

logger = logging.getLogger("bastion.sandbox")


def _limits_prefix(spec: SandboxSpec) -> list[str]:
    limits = spec.limits
    # As root RLIMIT_NPROC would count every root process of the machine: not set.
    nproc = limits.max_processes if os.geteuid() != 0 else None
    return limits_prefix(limits, nproc=nproc)


def _kill_group(pgid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


class UnsafeHostRunner:
    """Implements ``Sandbox`` with a bare subprocess; for ``--unsafe-no-sandbox`` only."""

    def run(
        self,
        spec: SandboxSpec,
        on_output: OutputSink,
        cancel: Callable[[], bool] | None = None,
    ) -> SandboxResult:
        """Run ``spec`` on the host, unisolated; see ``Sandbox.run``."""
        if not spec.argv:
            raise SandboxError("a step needs a command to run")
        if spec.files:
            raise SandboxError(
                "--unsafe-no-sandbox cannot hand files to a job privately",
                hint="drop --unsafe-no-sandbox; secrets are given only to sandboxed jobs",
            )
        if spec.rootfs is not None:
            raise SandboxError("--unsafe-no-sandbox cannot run a job in its own rootfs")
        inside = resolve_working_directory(spec.working_directory)
        cwd = Path(spec.workspace, *inside.parts[2:])
        logger.warning(
            "UNSAFE: running %r WITHOUT A SANDBOX (--unsafe-no-sandbox): it sees this "
            "host's files, network and secrets",
            list(spec.argv),
        )
        env = {"PATH": DEFAULT_PATH, "HOME": str(spec.workspace), **spec.env}
        try:
            process = subprocess.Popen(
                [*_limits_prefix(spec), *spec.argv],
                cwd=cwd,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        except OSError as exc:
            raise SandboxError(f"cannot start {spec.argv[0]}: {exc}") from exc
        assert process.stdout is not None  # noqa: S101 - stdout=PIPE guarantees it
        with process:
            outcome = supervise(
                process,
                {process.stdout.fileno(): on_output},
                timeout_seconds=spec.limits.timeout_seconds,
                cancel=cancel,
                kill_tree=lambda: _kill_group(process.pid),
                after_exit=lambda: _kill_group(process.pid),
            )
        return SandboxResult(
            exit_code=outcome.exit_code,
            duration_seconds=outcome.duration_seconds,
            timed_out=outcome.timed_out,
            cancelled=outcome.cancelled,
            signal=outcome.signal,
        )
