"""Whether bubblewrap can isolate jobs on this machine, checked once per process.

Bastion never runs a job unsandboxed on its own: when this check fails the CLI stops with
exit 3 and the error's hint is the exact command that fixes it.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import threading

from bastion.errors import SandboxUnavailableError

__all__ = ["INSTALL_COMMAND", "check_sandbox_available", "find_bwrap"]

INSTALL_COMMAND = "apt-get install -y bubblewrap"
_UTIL_LINUX_COMMAND = "apt-get install -y util-linux"
_PROBE_TIMEOUT = 10.0
_lock = threading.Lock()
_results: dict[str, SandboxUnavailableError | None] = {}


@functools.lru_cache(maxsize=8)
def find_bwrap(bwrap: str | None = None) -> str:
    """The bwrap executable to use: ``bwrap`` if given, else the one on PATH."""
    found = shutil.which(bwrap or "bwrap")
    if found is None:
        raise SandboxUnavailableError(
            f"bubblewrap ({bwrap or 'bwrap'}) is not installed; Bastion runs every job in it",
            hint=INSTALL_COMMAND,
        )
    return found


def _probe(bwrap: str) -> SandboxUnavailableError | None:
    for tool in ("prlimit", "setpriv"):
        if shutil.which(tool) is None:
            return SandboxUnavailableError(
                f"{tool} (util-linux) is missing; the sandbox sets limits and drops "
                "privileges with it",
                hint=_UTIL_LINUX_COMMAND,
            )
    argv = [bwrap, "--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts"]
    if os.geteuid() != 0:
        argv.append("--unshare-user")
    argv += ["--ro-bind", "/", "/", "--die-with-parent", "--", "true"]
    try:
        done = subprocess.run(
            argv, capture_output=True, timeout=_PROBE_TIMEOUT, check=False, env={}
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return SandboxUnavailableError(
            f"bubblewrap at {bwrap} could not be run: {exc}", hint=INSTALL_COMMAND
        )
    if done.returncode != 0:
        detail = done.stderr.decode(errors="replace").strip() or f"exit {done.returncode}"
        return SandboxUnavailableError(
            f"bubblewrap cannot create the namespaces a job needs here: {detail}",
            hint=(
                "allow unprivileged user namespaces (sysctl kernel.unprivileged_userns_clone=1"
                " or user.max_user_namespaces > 0), or run Bastion as root; inside a "
                "container, start it with --privileged or a seccomp profile allowing unshare"
            ),
        )
    return None


def check_sandbox_available(bwrap: str | None = None) -> None:
    """Raise :class:`SandboxUnavailableError` unless bwrap can sandbox a job here.

    Runs a real ``bwrap ... true`` the first time for each executable; the verdict is kept
    for the life of the process.
    """
    path = find_bwrap(bwrap)
    with _lock:
        if path not in _results:
            _results[path] = _probe(path)
        failure = _results[path]
    if failure is not None:
        # A fresh instance each time: re-raising one object would pile up tracebacks.
        raise SandboxUnavailableError(failure.message, hint=failure.hint)
