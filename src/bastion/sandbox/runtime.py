"""The host directories Bastion itself runs from, for jobs that run Bastion code inside.

A proxy-mode sandbox runs :mod:`bastion.sandbox.forwarder` with Bastion's own interpreter, and
the engine may run gates the same way; both need the interpreter, its standard library, the
virtual environment and the source of an editable install bound read-only, one by one, even
when they live under a denied directory such as ``/root/.pyenv``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

__all__ = ["bastion_runtime_binds", "forwarder_command"]

_SOURCE_ROOT = Path(__file__).resolve().parents[2]  # the directory holding ``bastion/``


def bastion_runtime_binds() -> list[Path]:
    """Directories to bind read-only so Bastion's Python runs inside a sandbox.

    ``sys.base_prefix`` (interpreter and standard library), ``sys.prefix`` (the virtual
    environment) and the directory that holds the ``bastion`` package, resolved and with
    any directory already inside another left out.
    """
    candidates = {Path(os.path.realpath(p)) for p in (sys.base_prefix, sys.prefix, _SOURCE_ROOT)}
    ordered = sorted(candidates, key=lambda path: len(path.parts))
    kept: list[Path] = []
    for path in ordered:
        if not any(path == outer or outer in path.parents for outer in kept):
            kept.append(path)
    return kept


def forwarder_command(socket_path: str, listen: str) -> list[str]:
    """The argv prefix that starts the forwarder inside a sandbox (ends with ``--``)."""
    script = Path(__file__).resolve().with_name("forwarder.py")
    # -I: ignore the job's PYTHON* variables; -S: no site, the forwarder needs only stdlib.
    return [
        sys.executable,
        "-I",
        "-S",
        str(script),
        "--socket",
        socket_path,
        "--listen",
        listen,
        "--pass-connections",  # the proxy relays the job's connection itself
        "--",
    ]
