"""Host paths no job may see, written once for the sandbox and the pipeline loader.

The sandbox enforces these rules when it binds a directory (:mod:`bastion.sandbox.paths`);
the pipeline loader applies the same lists to ``tools:`` so that a pipeline file naming
``/root`` is refused with its file, line and column before anything runs. Like
:mod:`bastion.errors`, this root module may be imported by every package, leaf packages
included.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["ALWAYS_DENIED", "NEVER_INSIDE", "SECRET_DIR_NAMES"]

ALWAYS_DENIED: tuple[Path, ...] = (Path("/root"), Path("/home"), Path("/var"))
"""Host directories no sandbox sees as a whole."""

NEVER_INSIDE: tuple[Path, ...] = (Path("/proc"), Path("/sys"), Path("/dev"), Path("/run"))
"""Kernel and runtime trees no bind may reach into at all (host processes, devices, sockets
such as a container engine's, which would hand the job root)."""

SECRET_DIR_NAMES = frozenset({".ssh", ".gnupg", ".aws", ".azure", ".kube", ".docker", ".netrc"})
"""Path components that mark a key store; a bind through one is refused."""
