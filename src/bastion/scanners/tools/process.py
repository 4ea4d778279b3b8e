"""Run one scanner process with a deadline; a crash or a timeout fails the gate closed.

    >>> from bastion.scanners.tools.process import run_tool
    >>> run_tool(["/bin/true"], cwd=Path("/"), timeout=5, label="true").exit_code
    0

The scanner runs in its own session so a timeout kills the whole tree (Semgrep starts
``semgrep-core`` workers; Checkov forks). Its environment is minimal: ``PATH``, a private
``HOME`` for the caches tools insist on writing, and the variables the caller adds. No proxy
variables pass through, so a tool that tries the network fails instead of phoning home.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from bastion.errors import GateError

__all__ = ["ToolRun", "run_tool", "tail"]

# Variables a scanner legitimately needs from the caller's environment.
_PASSTHROUGH = ("PATH", "LANG", "LC_ALL", "TZ", "TMPDIR")


@dataclass(frozen=True, slots=True)
class ToolRun:
    """A finished scanner process."""

    label: str
    exit_code: int
    stdout: str
    stderr: str
    duration_seconds: float


def tail(text: str, lines: int = 6) -> str:
    """The last ``lines`` non-empty lines of ``text`` (what a crash report shows)."""
    kept = [line for line in text.strip().splitlines() if line.strip()]
    return "\n".join(kept[-lines:])


def _environment(home: Path, extra: Mapping[str, str]) -> dict[str, str]:
    env = {name: os.environ[name] for name in _PASSTHROUGH if name in os.environ}
    env.setdefault("PATH", "/usr/local/bin:/usr/bin:/bin")
    env["HOME"] = str(home)
    env["XDG_CACHE_HOME"] = str(home / ".cache")
    env["XDG_CONFIG_HOME"] = str(home / ".config")
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    # The scanned tree is untrusted: never let it land on a Python tool's sys.path.
    env["PYTHONSAFEPATH"] = "1"
    env.update(extra)
    return env


def _kill_tree(proc: subprocess.Popen[str]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        return  # the group is gone (its id may even belong to someone else by now)


def run_tool(
    argv: Sequence[str],
    *,
    cwd: Path,
    timeout: float,
    label: str,
    env: Mapping[str, str] | None = None,
    home: Path | None = None,
) -> ToolRun:
    """Run ``argv`` in ``cwd``; :class:`GateError` if it cannot start or exceeds ``timeout``.

    The exit code is returned as is: what a non-zero code means differs per tool.
    """
    started = time.monotonic()
    try:
        proc = subprocess.Popen(
            list(argv),
            cwd=cwd,
            env=_environment(home or cwd, env or {}),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            errors="replace",
            start_new_session=True,
        )
    except OSError as exc:
        raise GateError(
            f"{label} could not be started: {exc}",
            hint="reinstall the tool environment with `bastion tools install --force`",
        ) from exc
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        _kill_tree(proc)
        proc.communicate()
        raise GateError(
            f"{label} timed out after {timeout:g} s; the gate fails closed",
            hint="raise the gate's `timeout` option (seconds) or exclude generated code",
        ) from exc
    finally:
        # Workers the tool left behind die with it.
        _kill_tree(proc)
    return ToolRun(
        label=label,
        exit_code=proc.returncode,
        stdout=stdout,
        stderr=stderr,
        duration_seconds=time.monotonic() - started,
    )
