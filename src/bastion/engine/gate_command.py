"""The one command that runs a gate inside a sandbox, for ``bastion scan`` and ``bastion run``.

Both paths start ``python -I -m bastion.scanners`` (:mod:`bastion.scanners.runner`) with the
same argv and environment, so a gate behaves the same in a scan and in a pipeline job.
``bastion scan`` gives the sandbox :attr:`GateCommand.argv` and :attr:`GateCommand.env` as
they are; a pipeline step carries :meth:`GateCommand.pinned`, the same command with its
environment set by ``/usr/bin/env``, because a job's step environment is merged with the
secrets released to the job afterwards, and no secret may change where a gate finds its tools.

The report's name carries a random token the scanned tree cannot know in advance: a tree
that ships a file of that name (a clean report, waiting for a gate that crashes before
writing its own) is never read in its place.
"""

from __future__ import annotations

import json
import secrets
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bastion.scanners.tools.environment import sandbox_environment

__all__ = ["GateCommand", "gate_command", "gate_environment", "new_report_token", "report_name"]

_ENV = "/usr/bin/env"


def new_report_token() -> str:
    """A fresh random token for :func:`report_name`."""
    return secrets.token_hex(8)


def report_name(gate: str, token: str) -> str:
    """The file name a sandboxed ``gate`` writes its report to."""
    return f".bastion-gate-report-{gate}-{token}.json"


def gate_environment() -> dict[str, str]:
    """What every sandboxed gate runs with: tool environments (BASTION_HOME and
    BASTION_TOOLS_DIR; HOME is the sandbox's /tmp), UTF-8, no bytecode, unbuffered output."""
    return {
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONUNBUFFERED": "1",
        "LANG": "C.UTF-8",
        **sandbox_environment(),
    }


@dataclass(frozen=True, slots=True)
class GateCommand:
    """How to start one sandboxed gate: its argv and the environment it needs."""

    argv: tuple[str, ...]
    env: Mapping[str, str]

    def pinned(self) -> tuple[str, ...]:
        """One argv that sets :attr:`env` itself (``/usr/bin/env NAME=VALUE ... argv``)."""
        return (_ENV, *(f"{name}={value}" for name, value in self.env.items()), *self.argv)


def gate_command(
    gate: str, options: Mapping[str, Any], report: str, *, commit: str | None = None
) -> GateCommand:
    """The command that runs ``gate`` over the working directory, writing ``report``.

    ``report`` is relative to the working directory; ``options`` are the gate's ``with:``.
    """
    argv = [sys.executable, "-I", "-m", "bastion.scanners", "--gate", gate, "--root", "."]
    argv += ["--out", report, "--options-json", json.dumps(dict(options))]
    if commit:
        argv += ["--commit", commit]
    return GateCommand(tuple(argv), gate_environment())
